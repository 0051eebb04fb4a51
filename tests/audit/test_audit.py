"""The audit on real Bedfordshire data (three months of police.uk street and stop-and-search files),
checked against hand counts made from the raw CSV files and the ONS census file, not from gripkit."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gripkit import Workspace, datasets
from gripkit.audit import audit_hotspots
from gripkit.audit.stops import NO_SEARCH_ROWS, suppress
from gripkit.errors import InputError
from gripkit.ingestion import ingest

#: CCHI days per crime of the serious-violence types (src/gripkit/harm/tables/cchi.csv, Sherman et al. 2016)
CCHI = {"Possession of weapons": 273.75, "Robbery": 365.0, "Violence and sexual offences": 230.89}
NFA = ("A no further action disposal", "Nothing found - no further action")


def _raw(folder: Path, suffix: str) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p) for p in sorted((folder / "raw").rglob(f"*-{suffix}.csv"))])


def _in_polygons(frame: pd.DataFrame) -> pd.Series:
    """The LSOA 2011 code of each row's WGS84 point (NaN outside Bedfordshire or without one)."""
    polygons = datasets.bedfordshire_lsoa()
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["Longitude"], frame["Latitude"]), crs="EPSG:4326"
    ).to_crs(polygons.crs)
    joined = gpd.sjoin(points, polygons[["lsoa11cd", "geometry"]], how="left", predicate="within")
    return joined.loc[~joined.index.duplicated(), "lsoa11cd"].reindex(frame.index)


def _street_lsoa(folder: Path) -> pd.DataFrame:
    """Raw street rows with coordinates, placed by their published LSOA code when it is a 2011 code of
    Bedfordshire, else by the polygon holding the point (police.uk switched to 2021 codes part-way)."""
    rows = _raw(folder, "street").reset_index(drop=True)
    rows = rows[rows["Longitude"].notna()].copy()
    codes = set(datasets.bedfordshire_lsoa()["lsoa11cd"])
    known = rows["LSOA code"].isin(codes)
    rows["where"] = rows["LSOA code"].where(known)
    rows.loc[~known, "where"] = _in_polygons(rows[~known])
    return rows


def test_rates_and_shares_equal_hand_counts(result, folder: Path, shared_data) -> None:
    chosen = result.chosen
    assert len(chosen) == 21
    # residents: the ONS census file itself (counts with thousands separators), summed by hand
    census = pd.read_csv(
        shared_data("population", "census_2011_lsoa_population_households.csv"), thousands=","
    )
    mine = census[census["LSOA Code"].isin(chosen)]
    people, homes = int(mine["Persons"].sum()), int(mine["Households"].sum())
    force = int(
        census.loc[census["LSOA Code"].isin(datasets.bedfordshire_lsoa()["lsoa11cd"]), "Persons"].sum()
    )
    assert result.residents["hotspots"]["residents"] == people
    assert result.residents["hotspots"]["households"] == homes
    assert result.residents["force"]["residents"] == force == 615_061
    assert result.to_dict()["resident_share"] == pytest.approx(people / force)
    # searches: raw stop-and-search rows of the three months, WGS84 points in the chosen LSOA polygons
    searches = _raw(folder, "stop-and-search").reset_index(drop=True)
    where = _in_polygons(searches[searches["Latitude"].notna()])
    inside = where.isin(chosen)
    assert result.stop_search["searches"] == len(searches)
    assert result.stop_search["unlocated"] == len(searches) - int(where.notna().sum())
    assert result.stop_search["hotspots"]["searches"] == int(inside.sum())
    assert result.to_dict()["stop_search_per_1000"]["hotspots"] == pytest.approx(1000 * inside.sum() / people)
    outcome = searches.loc[where.index, "Outcome"]
    positive = inside & outcome.notna() & ~outcome.isin(NFA)
    assert result.stop_search["hotspots"]["positive_outcomes"] == int(positive.sum())
    assert result.stop_search["hotspots"]["positive_outcome_rate"] == pytest.approx(
        positive.sum() / inside.sum()
    )
    # crimes per 1,000 and the proactive share: raw street rows in the chosen LSOAs, CCHI days by hand
    street = _street_lsoa(folder)
    here = street[street["where"].isin(chosen)]
    assert result.residents["hotspots"]["crimes"] == len(here)
    assert result.to_dict()["crimes_per_1000"]["hotspots"] == pytest.approx(1000 * len(here) / people)
    counts = here["Crime type"].value_counts()
    harm = {t: w * counts.get(t, 0) for t, w in CCHI.items()}
    basis = result.rests_on["hotspots"]["basis"]
    assert basis["proactive_harm"] == pytest.approx(harm["Possession of weapons"])
    assert basis["proactive_share"] == pytest.approx(harm["Possession of weapons"] / sum(harm.values()))
    assert basis["source_share"] == {"police.uk": pytest.approx(1.0)}
    assert result.meta["harm_table"] == "cchi"


def test_selection_without_proactive_types_by_hand(result, folder: Path) -> None:
    """Re-rank the LSOAs by Robbery and Violence harm alone (CCHI days), top 21, ties by code."""
    street = _street_lsoa(folder)
    reactive = street[street["Crime type"].isin(["Robbery", "Violence and sexual offences"])]
    harm = reactive.assign(days=reactive["Crime type"].map(CCHI)).groupby("where")["days"].sum().reset_index()
    top = harm.sort_values(["days", "where"], ascending=[False, True]).head(21)["where"].tolist()
    again = result.rests_on["without_proactive"]
    assert again["kept"] == sorted(set(result.chosen) & set(top))
    assert again["dropped"] == sorted(set(result.chosen) - set(top))
    assert again["added"] == sorted(set(top) - set(result.chosen))
    total = harm["days"].sum()
    share = harm.set_index("where")["days"].reindex(result.chosen).fillna(0).sum() / total
    assert again["harm_share_selected"] == pytest.approx(share)
    assert len(again["kept"]) + len(again["dropped"]) == 21


def test_result_is_stored_and_reads_back(result, workspace: Workspace) -> None:
    stored = workspace.latest_result("audit")
    assert stored is not None and stored.summary == result.summary()
    assert stored.payload["stop_search_per_1000"] == result.to_dict()["stop_search_per_1000"]
    assert set(stored.table_names) == {"rounds", "rounds_no_uplift"}
    rounds = workspace.result_table(stored.result_id, "rounds")
    assert rounds["round"].tolist() == [0, 1, 2, 3]


def test_real_ethnicity_table_is_suppressed_and_cannot_be_backed_out(result) -> None:
    table = pd.DataFrame(result.stop_search["by_ethnicity"]).T  # rows hotspots, outside, all_located
    hidden = table.isin(["<10", "suppressed"])
    for value in table.to_numpy()[~hidden.to_numpy()]:
        assert int(value) == 0 or int(value) >= 10
    assert hidden.to_numpy().any()  # three months of Bedfordshire have small cells (Not stated, Mixed)
    for line in [*hidden.to_numpy(), *hidden.to_numpy().T]:
        assert line.sum() != 1  # one hidden cell in a line with its total shown would be recoverable


def test_suppression_hides_complements() -> None:
    # hand example: 3 < 10 is hidden; its row and column partners are hidden so no subtraction recovers it
    table = pd.DataFrame({"a": [3, 20, 23], "b": [30, 40, 70]}, index=["x", "y", "all"])
    shown = suppress(table, 10)
    assert shown.loc["x", "a"] == "<10"
    assert (shown == "suppressed").to_numpy().sum() == 3
    for line in (shown.loc["x"], shown["a"]):
        assert sum(value in ("<10", "suppressed") for value in line) >= 2
    assert np.all(shown.loc["all"] == ["23", "70"])
    # nothing small: nothing hidden
    assert (
        (suppress(pd.DataFrame({"a": [12, 0, 12]}), 10) == pd.DataFrame({"a": ["12", "0", "12"]})).all().all()
    )


def test_without_search_files_rates_are_unknown_not_zero(folder: Path, tmp_path: Path) -> None:
    ws = Workspace(str(tmp_path / "street.duckdb"))
    ingest(sorted(str(p) for p in (folder / "raw").rglob("*-street.csv")), ws)
    run = audit_hotspots(ws, rounds=1, null_draws=20, seed=2, store=False)
    assert run.stop_search["note"] == NO_SEARCH_ROWS
    assert run.to_dict()["stop_search_per_1000"] == {"hotspots": None, "outside": None}
    assert NO_SEARCH_ROWS in run.summary()


def test_bad_input(workspace: Workspace) -> None:
    with pytest.raises(InputError, match="'unit' must be 'lsoa'"):
        audit_hotspots(workspace, unit="grid", store=False)
    with pytest.raises(InputError, match="'uplift' must be a detection uplift"):
        audit_hotspots(workspace, uplift=-1, store=False)
    with pytest.raises(InputError, match="'effect' must be a share"):
        audit_hotspots(workspace, effect=1.0, store=False)
    with pytest.raises(InputError, match="unknown crime type"):
        audit_hotspots(workspace, proactive=["Jaywalking"], store=False)
    with pytest.raises(InputError, match="'population' file not found"):
        audit_hotspots(workspace, population="/nowhere/census.csv", store=False)
    assert Path(workspace.path).exists()
