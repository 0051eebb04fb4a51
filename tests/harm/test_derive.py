"""Category weights derived from the published offence tables, recomputed by hand from the shared files.

The hand calculations read the shared CSVs with the ``csv`` module (not the package's pandas code),
sum ``offences * weight`` over the 43 territorial forces, and divide by the offences.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from gripkit.columns import CRIME_TYPES
from gripkit.harm import derive

PACKAGE_DATA = Path(derive.__file__).parent / "data"
NOT_TERRITORIAL = {
    "Action Fraud",
    "CIFAS",
    "UK Finance",
    "Financial Fraud Action UK",
    "British Transport Police",
}


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def harm_dir(shared_data: Callable[..., Path]) -> Path:
    return shared_data("harm")


def css_by_code(harm_dir: Path) -> dict[str, float]:
    weights = {
        r["offence_code"]: float(r["weight"]) for r in rows(harm_dir / "ons_css_weights_by_offence.csv")
    }
    weights["1/4.1/4.10/4.2"] = weights.pop("1, 4.1/2/10")  # homicide, written two ways (data README)
    return weights


def hand_mean(
    harm_dir: Path, category: str, weight_of: Callable[[dict[str, str]], float], force: str | None = None
) -> float:
    total = harm = 0.0
    for row in rows(harm_dir / "prc_pfa_2017_18_offence_counts.csv"):
        if row["policeuk_category"].lower() != category.lower() or int(row["offences"]) == 0:
            continue
        if (force is None and row["force"] in NOT_TERRITORIAL) or (
            force is not None and row["force"] != force
        ):
            continue
        total += int(row["offences"])
        harm += int(row["offences"]) * weight_of(row)
    return harm / total


@pytest.mark.parametrize(
    "name", ["ons_css_weights_by_offence.csv", "prc_pfa_2017_18_offence_counts.csv", "cchi_subgroup_days.csv"]
)
def test_shipped_source_tables_are_the_published_files(harm_dir: Path, name: str) -> None:
    shipped = hashlib.sha256((PACKAGE_DATA / name).read_bytes()).hexdigest()
    assert shipped == hashlib.sha256((harm_dir / name).read_bytes()).hexdigest()


def test_ons_css_robbery_is_the_published_offence_weight() -> None:
    # Both robbery codes (34A business, 34B personal) weigh 799.62887 in the ONS table, so any
    # volume-weighted mean of them is 799.63 (the acceptance figure).
    weights = derive.national_weights("ons_css").set_index("crime_type")["weight"]
    assert round(float(weights["Robbery"]), 2) == 799.63


@pytest.mark.parametrize("category", ["Violence and sexual offences", "Burglary", "Robbery", "Public order"])
def test_ons_css_national_weights_match_the_hand_calculation(harm_dir: Path, category: str) -> None:
    css = css_by_code(harm_dir)
    expected = hand_mean(harm_dir, category, lambda r: css[r["offence_code"]])
    derived = derive.national_weights("ons_css").set_index("crime_type")["weight"]
    assert float(derived[category]) == pytest.approx(expected, rel=1e-12)


def test_ons_css_figures_quoted_in_the_docs() -> None:
    # docs/domain.md: violence and sexual offences ~276-280, burglary ~380, possession of weapons ~154,
    # public order ~18.5 (national ONS CSS, 2017/18 mix); the old medians were 709.3 and 438.
    w = derive.national_weights("ons_css").set_index("crime_type")["weight"]
    assert 276 <= w["Violence and sexual offences"] <= 280 * 1.005
    assert w["Burglary"] == pytest.approx(380, rel=0.005)
    assert w["Possession of weapons"] == pytest.approx(154, rel=0.005)
    assert w["Public order"] == pytest.approx(18.5, rel=0.005)


def test_cchi_burglary_by_hand(harm_dir: Path) -> None:
    # Subgroups: Domestic burglary (2017/18) = Residential burglary (2024/25) 273.5 days;
    # Non-domestic = Non-residential 183.5 days.
    # Mean = (n_dom * 273.5 + n_nondom * 183.5) / (n_dom + n_nondom).
    days = {"Domestic burglary": 273.5, "Non-domestic burglary": 183.5}
    expected = hand_mean(harm_dir, "Burglary", lambda r: days[r["offence_subgroup"]])
    derived = derive.national_weights("cchi").set_index("crime_type")["weight"]
    assert float(derived["Burglary"]) == pytest.approx(expected, rel=1e-12)
    assert 183.5 < expected < 273.5


def test_cchi_violence_and_robbery_by_hand(harm_dir: Path) -> None:
    days = {r["offence_subgroup"]: float(r["cchi_days"]) for r in rows(harm_dir / "cchi_subgroup_days.csv")}
    expected = hand_mean(harm_dir, "Violence and sexual offences", lambda r: days[r["offence_subgroup"]])
    derived = derive.national_weights("cchi").set_index("crime_type")["weight"]
    assert float(derived["Violence and sexual offences"]) == pytest.approx(expected, rel=1e-12)
    assert float(derived["Robbery"]) == 365.0  # both robbery subgroups are 365 days


def test_every_counted_subgroup_has_cchi_days_after_the_stated_mapping() -> None:
    weights = derive.offence_weights("cchi")
    counts = derive.offence_counts()
    territorial = counts[~counts["force"].isin(derive.NOT_TERRITORIAL) & (counts["offences"] > 0)]
    counted = weights[weights["offence_code"].isin(territorial["offence_code"])]
    assert counted["weight"].notna().all()
    # the fraud subgroups are the only ones without days, and only the fraud bodies record them
    assert set(weights.loc[weights["weight"].isna(), "offence_subgroup"]) == {
        "Fraud: action fraud",
        "Fraud: CIFAS",
        "Fraud: Financial Fraud Action UK",
        "Fraud: UK Finance",
    }


@pytest.mark.parametrize("scheme", ["cchi", "ons_css"])
def test_categories_without_offences_weigh_zero_with_a_reason(scheme: str) -> None:
    national = derive.national_weights(scheme).set_index("crime_type")
    assert sorted(national.index) == sorted(CRIME_TYPES)
    zero = national[national["weight"] == 0]
    assert zero.index.tolist() == ["Anti-social behaviour"]
    assert zero.loc["Anti-social behaviour", "note"].startswith("not a crime")
    assert (national.drop(index="Anti-social behaviour")["offences"] > 0).all()


def test_other_crime_excludes_fraud_recorded_by_non_territorial_bodies(harm_dir: Path) -> None:
    territorial = sum(
        int(r["offences"])
        for r in rows(harm_dir / "prc_pfa_2017_18_offence_counts.csv")
        if r["policeuk_category"] == "Other crime" and r["force"] not in NOT_TERRITORIAL
    )
    national = derive.national_weights("ons_css").set_index("crime_type")
    assert int(national.loc["Other crime", "offences"]) == territorial == 92168


def test_per_force_weights_use_the_forces_own_counts(harm_dir: Path) -> None:
    css = css_by_code(harm_dir)
    expected = hand_mean(
        harm_dir, "Violence and sexual offences", lambda r: css[r["offence_code"]], "Bedfordshire"
    )
    forces = derive.force_weights("ons_css")
    beds = forces[forces["force"] == "Bedfordshire"].set_index("crime_type")["weight"]
    assert float(beds["Violence and sexual offences"]) == pytest.approx(expected, rel=1e-12)
    assert forces["force"].nunique() == 44  # 43 territorial forces + British Transport Police
    assert "City of London" in set(forces["force"]) and "London, City of" not in set(forces["force"])
    assert not set(forces["force"]) & derive.NOT_FORCES


@pytest.mark.parametrize("scheme", ["cchi", "ons_css"])
def test_shipped_tables_are_the_derivation(scheme: str) -> None:
    shipped = (Path(derive.__file__).parent / "tables" / f"{scheme}.csv").read_text(encoding="utf-8")
    assert shipped == derive.table_csv(scheme), "run python -m gripkit.harm.derive after changing the data"
