"""Tests for gripkit.harm: bundled tables, user CSV validation, applying weights."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from gripkit.columns import CRIME_TYPES
from gripkit.errors import InputError
from gripkit.harm import (
    HarmTable,
    apply_harm,
    list_harm_tables,
    load_harm_table,
    serious_violence_types,
)

TABLES = Path(__file__).resolve().parents[2] / "src" / "gripkit" / "harm" / "tables"
HEADER = "crime_type,weight,source,note\n"


def write(tmp_path: Path, text: str, name: str = "mine.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def full_table(weights: dict[str, str] | None = None) -> str:
    weights = weights or {}
    rows = [f"{t},{weights.get(t, '1')},test,\n" for t in CRIME_TYPES]
    return HEADER + "".join(rows)


def test_list_harm_tables() -> None:
    assert list_harm_tables() == [
        "cchi",
        "cchi_per_force",
        "cchi_ranges_legacy",
        "ons_css",
        "ons_css_medians_legacy",
        "ons_css_per_force",
    ]


@pytest.mark.parametrize("name", ["cchi", "ons_css", "cchi_ranges_legacy", "ons_css_medians_legacy"])
def test_bundled_tables_cover_all_14_types_with_sources(name: str) -> None:
    table = load_harm_table(name)
    assert isinstance(table, HarmTable)
    assert sorted(table.weights) == sorted(CRIME_TYPES)
    assert list(table.frame.columns) == ["crime_type", "weight", "source", "note"]
    assert (table.frame["source"].str.len() > 0).all()
    assert table.path is None
    # sha256 is of the CSV bytes as shipped.
    assert table.sha256 == hashlib.sha256((TABLES / f"{name}.csv").read_bytes()).hexdigest()


def test_cchi_default_is_derived_from_subgroup_days() -> None:
    # docs/harm.md: each category is the volume-weighted mean of its offences' CCHI subgroup days
    # (recomputed by hand from the shared files in test_derive.py); single-value categories keep the
    # subgroup's days: robbery 365, possession of weapons 273.75, shoplifting 1, public order 7.5.
    table = load_harm_table("cchi")
    assert table is not None and table.name == "cchi"
    assert table.weights["Robbery"] == 365.0
    assert table.weights["Possession of weapons"] == 273.75
    assert table.weights["Shoplifting"] == 1.0
    assert table.weights["Public order"] == 7.5
    assert 183.5 < table.weights["Burglary"] < 273.5  # between non-residential and residential days
    assert table.weights["Anti-social behaviour"] == 0.0
    note = table.frame.set_index("crime_type").loc["Anti-social behaviour", "note"]
    assert "not a crime" in note
    assert "volume-weighted mean" in table.derivation and "2017/18" in table.edition
    assert "Cambridge" in table.source
    assert load_harm_table().name == "cchi"  # type: ignore[union-attr]


def test_legacy_cchi_keeps_the_range_midpoints() -> None:
    # The table shipped before the derivation (docs/domain.md ranges -> midpoints), renamed.
    table = load_harm_table("cchi_ranges_legacy")
    assert table is not None and table.name == "cchi_ranges_legacy"
    assert table.weights["Robbery"] == 365.0
    assert table.weights["Possession of weapons"] == 273.75
    assert table.weights["Violence and sexual offences"] == (159 + 235) / 2
    assert table.weights["Burglary"] == (191 + 253) / 2
    assert table.weights["Criminal damage and arson"] == (5 + 18) / 2
    assert table.weights["Drugs"] == pytest.approx((3.3 + 4) / 2)
    assert table.weights["Shoplifting"] == 1.0
    assert table.weights["Anti-social behaviour"] == 0.0
    assert table.frame["note"].str.startswith("legacy, superseded by the derived cchi table").all()


def test_ons_css_is_derived_not_provisional() -> None:
    table = load_harm_table("ons_css")
    assert table is not None
    crimes = table.frame[table.frame["crime_type"] != "Anti-social behaviour"]
    assert crimes["note"].str.startswith("volume-weighted mean of").all()
    assert not table.frame["note"].str.contains("verify").any()
    legacy = load_harm_table("ons_css_medians_legacy")
    assert legacy is not None and legacy.weights["Violence and sexual offences"] == 709.3


@pytest.mark.parametrize("spec", [None, "none", "None", " NONE "])
def test_none_means_unweighted(spec: str | None) -> None:
    assert load_harm_table(spec) is None


def test_user_csv_loads_with_path_and_hash(tmp_path: Path) -> None:
    path = write(tmp_path, full_table({"Robbery": "100.5"}))
    table = load_harm_table(path)
    assert table is not None
    assert table.name == "mine"
    assert table.path == str(path.resolve())
    assert table.weights["Robbery"] == 100.5
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # also accepted as a string
    assert load_harm_table(str(path)).weights == table.weights  # type: ignore[union-attr]


def test_user_csv_note_column_optional(tmp_path: Path) -> None:
    path = write(tmp_path, "crime_type,weight,source\nRobbery,3,mine\n")
    table = load_harm_table(path)
    assert table is not None and table.frame["note"].tolist() == [""]


def test_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"'nope' is neither a bundled table.*cchi, cchi_per_force, .*none"):
        load_harm_table("nope")


def test_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "crime_type,harm\nRobbery,3\n")
    expected = r"lacks column\(s\) weight, source; received 2 column\(s\) 'crime_type', 'harm'"
    with pytest.raises(InputError, match=expected):
        load_harm_table(path)


def test_non_numeric_weight(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "Robbery,lots,x,\nBurglary,,x,\n")
    with pytest.raises(
        InputError, match=r"non-numeric weight\(s\) in column weight: Robbery='lots', Burglary=''"
    ):
        load_harm_table(path)


def test_negative_weight(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "Robbery,-1,x,\n")
    with pytest.raises(InputError, match=r"negative weight\(s\): Robbery=-1.*use 0"):
        load_harm_table(path)


def test_duplicate_crime_type(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "Robbery,1,x,\nRobbery,2,x,\n")
    with pytest.raises(InputError, match=r"more than once: Robbery\. Keep one row"):
        load_harm_table(path)


def test_unknown_crime_type(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "Robery,1,x,\n")
    with pytest.raises(
        InputError, match=r"1 unknown crime type\(s\) in column crime_type: 'Robery'. Use the"
    ):
        load_harm_table(path)


def test_apply_harm_aligned_to_index_and_not_mutating() -> None:
    crimes = pd.DataFrame(
        {"crime_type": ["Robbery", "Shoplifting", "Anti-social behaviour"]}, index=[10, 5, 7]
    )
    before = crimes.copy()
    harm = apply_harm(crimes, load_harm_table("cchi"))
    # Weights from the cchi table (subgroup days, docs/harm.md): robbery 365, shoplifting 1, ASB 0.
    assert harm.tolist() == [365.0, 1.0, 0.0]
    assert harm.index.tolist() == [10, 5, 7]
    assert harm.dtype == float and harm.name == "harm"
    pd.testing.assert_frame_equal(crimes, before)


def test_apply_harm_none_weighs_one() -> None:
    crimes = pd.DataFrame({"crime_type": ["Robbery", "Drugs"]}, index=["a", "b"])
    harm = apply_harm(crimes, None)
    assert harm.tolist() == [1.0, 1.0] and harm.index.tolist() == ["a", "b"]


def test_apply_harm_unknown_types_named(tmp_path: Path) -> None:
    table = load_harm_table(write(tmp_path, HEADER + "Robbery,2,x,\n"))
    crimes = pd.DataFrame({"crime_type": ["Robbery", "Drugs", "Drugs", None]})
    expected = r"no weight for crime type\(s\) 'Drugs' \(2 rows\), '<blank>' \(1 rows\)"
    with pytest.raises(InputError, match=expected):
        apply_harm(crimes, table)


def test_apply_harm_needs_crime_type() -> None:
    with pytest.raises(InputError, match="lacks column crime_type"):
        apply_harm(pd.DataFrame({"type": ["Robbery"]}), None)


def test_serious_violence_proxy() -> None:
    # docs/domain.md: police.uk proxy = Violence and sexual offences + Robbery + Possession of weapons.
    assert serious_violence_types() == frozenset(
        {"Violence and sexual offences", "Robbery", "Possession of weapons"}
    )


def test_serious_violence_user_file(tmp_path: Path) -> None:
    path = write(tmp_path, "crime_type,serious_violence,source\nRobbery,yes,me\nDrugs,False,me\n")
    assert serious_violence_types(path) == frozenset({"Robbery"})
    bad = write(tmp_path, "crime_type,serious_violence,source\nRobbery,maybe,me\n", "bad.csv")
    with pytest.raises(InputError, match="not True/False: Robbery='maybe'"):
        serious_violence_types(bad)


def test_apply_harm_categorical_crime_type() -> None:
    # cchi_ranges_legacy weights (docs/domain.md): robbery 365, drugs midpoint of 3.3-4 = 3.65.
    crimes = pd.DataFrame({"crime_type": pd.Categorical(["Robbery", "Drugs", "Robbery"])})
    table = load_harm_table("cchi_ranges_legacy")
    assert apply_harm(crimes, table).tolist() == pytest.approx([365.0, 3.65, 365.0])


def test_per_force_table_weighs_each_force_by_its_own_mix() -> None:
    from gripkit.harm import derive

    table = load_harm_table("ons_css", per_force=True)
    assert table is not None and table.name == "ons_css_per_force" and table.per_force
    assert load_harm_table("ons_css_per_force").sha256 == table.sha256  # type: ignore[union-attr]
    by_force = derive.force_weights("ons_css").set_index(["force", "crime_type"])["weight"]
    crimes = pd.DataFrame(
        {"crime_type": ["Burglary", "Burglary", "Robbery"], "force": ["Bedfordshire", "Kent", "Kent"]}
    )
    expected = [
        by_force["Bedfordshire", "Burglary"],
        by_force["Kent", "Burglary"],
        by_force["Kent", "Robbery"],
    ]
    assert apply_harm(crimes, table).tolist() == pytest.approx(expected, rel=1e-12)
    assert by_force["Bedfordshire", "Burglary"] != by_force["Kent", "Burglary"]


def test_per_force_table_needs_a_known_force() -> None:
    table = load_harm_table("cchi_per_force")
    with pytest.raises(InputError, match=r"no weights for force\(s\) 'Gotham'"):
        apply_harm(pd.DataFrame({"crime_type": ["Robbery"], "force": ["Gotham"]}), table)
    with pytest.raises(InputError, match="has no force column"):
        apply_harm(pd.DataFrame({"crime_type": ["Robbery"]}), table)
    with pytest.raises(InputError, match="'per_force' needs a derived table"):
        load_harm_table("cchi_ranges_legacy", per_force=True)


def test_offence_code_weighs_the_offence_not_the_category() -> None:
    # ONS CSS offence weights (shared data harm/ons_css_weights_by_offence.csv): 8N assault with injury
    # 189.1538871, 5D assault with intent to cause serious harm 2034.74186; homicide (codes 1, 4.1,
    # 4.2, 4.10) 7973.393423. Blank or unknown codes weigh the category (280.0).
    table = load_harm_table("ons_css")
    assert table is not None
    crimes = pd.DataFrame(
        {
            "crime_type": ["Violence and sexual offences"] * 5,
            "offence_code": [" 8n", "5D", "4.10", None, "ZZ9"],
        }
    )
    harm = apply_harm(crimes, table).tolist()
    assert harm[:3] == pytest.approx([189.1538871, 2034.74186, 7973.393423])
    assert harm[3:] == [table.weights["Violence and sexual offences"]] * 2
    cchi = load_harm_table("cchi")
    # CCHI: an offence weighs its subgroup's days (8N is in Violence with injury: 365 days)
    assert apply_harm(crimes.head(1), cchi).tolist() == [365.0]


def test_errors_quote_at_most_a_few_values_of_a_users_file(tmp_path: Path) -> None:
    # a CSV that is not a harm table: its column values must not all end up in the message
    lines = "".join(f"secret-{i},{i},x,\n" for i in range(50))
    path = write(tmp_path, HEADER + lines)
    with pytest.raises(InputError) as error:
        load_harm_table(path)
    message = str(error.value)
    assert "column crime_type" in message and "and 47 more" in message
    assert sum(f"secret-{i}'" in message for i in range(50)) == 3
    wide = write(tmp_path, ",".join(f"c{i}" for i in range(40)) + "\n", "wide.csv")
    with pytest.raises(InputError, match=r"received 40 column\(s\) 'c0', 'c1', 'c2' and 37 more"):
        load_harm_table(wide)


def test_serious_violence_without_proactive_offences() -> None:
    # docs/harm.md: possession of weapons (like drugs) is mostly found by police activity, which the
    # CCHI excludes by design; the reactive proxy keeps violence and sexual offences + robbery.
    assert serious_violence_types("serious_violence_reactive") == frozenset(
        {"Violence and sexual offences", "Robbery"}
    )
    assert serious_violence_types("serious_violence") == serious_violence_types()
