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
    assert list_harm_tables() == ["cchi", "ons_css"]


@pytest.mark.parametrize("name", ["cchi", "ons_css"])
def test_bundled_tables_cover_all_14_types_with_sources(name: str) -> None:
    table = load_harm_table(name)
    assert isinstance(table, HarmTable)
    assert sorted(table.weights) == sorted(CRIME_TYPES)
    assert list(table.frame.columns) == ["crime_type", "weight", "source", "note"]
    assert (table.frame["source"].str.len() > 0).all()
    assert table.path is None
    # sha256 is of the CSV bytes as shipped.
    assert table.sha256 == hashlib.sha256((TABLES / f"{name}.csv").read_bytes()).hexdigest()


def test_cchi_default_and_domain_figures() -> None:
    # Figures from docs/domain.md (Sherman, Neyroud & Neyroud 2016 aggregates); ranges -> midpoints.
    table = load_harm_table("cchi")
    assert table is not None and table.name == "cchi"
    assert table.weights["Robbery"] == 365.0
    assert table.weights["Possession of weapons"] == 273.75
    assert table.weights["Violence and sexual offences"] == (159 + 235) / 2
    assert table.weights["Burglary"] == (191 + 253) / 2
    assert table.weights["Criminal damage and arson"] == (5 + 18) / 2
    assert table.weights["Drugs"] == pytest.approx((3.3 + 4) / 2)
    assert table.weights["Shoplifting"] == 1.0
    assert table.weights["Anti-social behaviour"] == 0.0
    note = table.frame.set_index("crime_type").loc["Anti-social behaviour", "note"]
    assert "not a crime" in note
    assert load_harm_table().name == "cchi"  # type: ignore[union-attr]


def test_ons_css_is_marked_provisional() -> None:
    table = load_harm_table("ons_css")
    assert table is not None
    crimes = table.frame[table.frame["crime_type"] != "Anti-social behaviour"]
    assert crimes["note"].str.startswith("verify: provisional, derived from").all()


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
    with pytest.raises(InputError, match=r"'nope' is neither a bundled table.*cchi, ons_css, none"):
        load_harm_table("nope")


def test_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "crime_type,harm\nRobbery,3\n")
    expected = r"lacks column\(s\) weight, source; received columns crime_type, harm"
    with pytest.raises(InputError, match=expected):
        load_harm_table(path)


def test_non_numeric_weight(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "Robbery,lots,x,\nBurglary,,x,\n")
    with pytest.raises(InputError, match=r"non-numeric weight\(s\): Robbery='lots', Burglary=''"):
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
    with pytest.raises(InputError, match=r"unknown crime type\(s\): 'Robery'. Use the police.uk names"):
        load_harm_table(path)


def test_apply_harm_aligned_to_index_and_not_mutating() -> None:
    crimes = pd.DataFrame(
        {"crime_type": ["Robbery", "Shoplifting", "Anti-social behaviour"]}, index=[10, 5, 7]
    )
    before = crimes.copy()
    harm = apply_harm(crimes, load_harm_table("cchi"))
    # Weights from the cchi table (docs/domain.md): robbery 365, shoplifting 1, ASB 0.
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
    # cchi weights (docs/domain.md): robbery 365, drugs midpoint of 3.3-4 = 3.65.
    crimes = pd.DataFrame({"crime_type": pd.Categorical(["Robbery", "Drugs", "Robbery"])})
    assert apply_harm(crimes, load_harm_table("cchi")).tolist() == pytest.approx([365.0, 3.65, 365.0])
