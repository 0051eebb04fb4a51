"""Funding split: hand-checked arithmetic, real Bedfordshire authorities, a relabelled second force."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from gripkit import Workspace, datasets
from gripkit.errors import InputError
from gripkit.funding import allocate, authority_from_lsoa_name, largest_remainder_pennies, split_pot
from gripkit.funding.pot import sensitivity
from gripkit.ingestion import ingest

# the bundled cchi weights (derived from the published offence tables, docs/harm.md; recomputed by hand
# in tests/harm/test_derive.py): violence and sexual offences 230.89, robbery 365, possession of
# weapons 273.75
SV = {"Violence and sexual offences": 230.89, "Robbery": 365.0, "Possession of weapons": 273.75}


@pytest.fixture(scope="module")
def bedfordshire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The 12 bundled real Bedfordshire months (2023-05..2024-04) in a tmp workspace."""
    ws = Workspace(Path(tmp_path_factory.mktemp("alloc")) / "w.duckdb")
    ingest(datasets.bedfordshire_street_files(), ws)
    yield ws
    ws.close()


def test_split_by_hand() -> None:
    # 1:1:1 of £100 -> 33.33 each + 1p by largest remainder to the first (ties in order)
    assert split_pot(pd.Series({"A": 1.0, "B": 1.0, "C": 1.0}), 100)["allocation"].tolist() == [
        33.34,
        33.33,
        33.33,
    ]
    # scores 10, 1, 1, 0 of £1,000 with floor 100 and cap 500: A capped at 500, D floored at 100,
    # B and C share the other 400 equally (by hand)
    table = split_pot(pd.Series({"A": 10.0, "B": 1.0, "C": 1.0, "D": 0.0}), 1000, floor=100, cap=500)
    assert table["allocation"].tolist() == [500.0, 200.0, 200.0, 100.0]
    assert table["binding"].tolist() == ["cap", "", "", "floor"]
    pence = largest_remainder_pennies(np.array([0.005, 0.005, 0.0]), 1)
    assert pence.tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pot": 0}, "'pot' must be a positive amount"),
        ({"pot": -5}, "'pot' must be a positive amount"),
        ({"pot": 100, "floor": 40}, "floors exceed the pot"),
        ({"pot": 100, "cap": 20}, "caps cannot spend the pot"),
    ],
)
def test_bad_pots(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        split_pot(pd.Series({"A": 1.0, "B": 2.0, "C": 3.0}), **kwargs)


def test_zero_harm_is_an_error() -> None:
    with pytest.raises(InputError, match="zero harm"):
        split_pot(pd.Series({"A": 0.0, "B": 0.0}), 100)


def test_authorities_from_names_agree_with_lad11nm() -> None:
    lsoa = datasets.bedfordshire_lsoa()  # has lad11nm, e.g. "Luton UA"
    derived = lsoa["lsoa11nm"].map(authority_from_lsoa_name)
    assert (derived == lsoa["lad11nm"].str.replace(" UA", "", regex=False)).all()
    assert sorted(derived.unique()) == ["Bedford", "Central Bedfordshire", "Luton"]


def test_area_split_on_real_bedfordshire(bedfordshire: Workspace, tmp_path: Path) -> None:
    result = allocate(bedfordshire, pot=4_000_000, by="area", floor=500_000)
    table = result.table
    assert sorted(table["area_id"]) == ["Bedford", "Central Bedfordshire", "Luton"]
    assert round(float(table["allocation"].sum()) * 100) == 400_000_000  # to the penny
    # independent: harm per authority from the published LSOA names with pandas and cchi weights
    crimes = bedfordshire.crimes(crime_types=list(SV))
    crimes = crimes[crimes["lsoa_name"].map(authority_from_lsoa_name).isin(table["area_id"])]
    harm = crimes["crime_type"].map(SV).groupby(crimes["lsoa_name"].map(authority_from_lsoa_name)).sum()
    assert table.set_index("area_id")["harm"].to_dict() == pytest.approx(harm.to_dict())
    shares = harm / harm.sum()
    expected = (shares * 4_000_000).round(2)
    assert table.set_index("area_id")["allocation"].to_dict() == pytest.approx(expected.to_dict(), abs=0.011)
    moved = sensitivity(bedfordshire, result, {"ons": {"harm": "ons_css"}})
    assert moved["share_ons"].sum() == pytest.approx(1.0)
    with pytest.raises(InputError, match="need weights lack"):
        allocate(bedfordshire, pot=1000, by="area", need=pd.Series({"Luton": 1.2}))


def _relabelled_force(tmp_path: Path) -> Path:
    """A SECOND FORCE'S FILE, HONESTLY CONSTRUCTED: the real bundled Bedfordshire 2024-04 street rows
    relabelled as Hertfordshire Constabulary, coordinates translated by the offset between the two
    force areas' representative points (EPSG:27700) and converted back to WGS84. Crime types and
    counts are Bedfordshire's; only the force label and position change."""
    source = datasets.bedfordshire_street_files()[-1]
    raw = pd.read_csv(io.BytesIO(gzip.decompress(source.read_bytes())), dtype=str, keep_default_na=False)
    areas = datasets.force_areas().set_index("police_force").geometry
    a, b = areas["Bedfordshire"].representative_point(), areas["Hertfordshire"].representative_point()
    to_bng = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    to_wgs = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)
    has = raw["Longitude"] != ""
    x, y = to_bng.transform(raw.loc[has, "Longitude"].astype(float), raw.loc[has, "Latitude"].astype(float))
    lon, lat = to_wgs.transform(np.asarray(x) + (b.x - a.x), np.asarray(y) + (b.y - a.y))
    raw.loc[has, "Longitude"], raw.loc[has, "Latitude"] = (
        np.round(lon, 6).astype(str),
        np.round(lat, 6).astype(str),
    )
    raw["Reported by"] = raw["Falls within"] = "Hertfordshire Constabulary"
    folder = tmp_path / "2024-04"
    folder.mkdir()
    out = folder / "2024-04-hertfordshire-street.csv"
    raw.to_csv(out, index=False)
    assert shapely.Point(b.x, b.y).within(areas["Hertfordshire"])
    return out


def test_force_split_with_a_second_force(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "two.duckdb")
    ingest([datasets.bedfordshire_street_files()[-1], _relabelled_force(tmp_path)], ws)
    result = allocate(ws, pot=4_000_000, by="force", last=1, cap=2_500_000)
    table = result.table.set_index("force")
    assert sorted(table.index) == ["Bedfordshire", "Hertfordshire"]
    crimes = ws.crimes(crime_types=list(SV))
    harm = crimes["crime_type"].map(SV).groupby(crimes["force"]).sum()  # independent, pandas
    assert table["harm"].to_dict() == pytest.approx(harm.to_dict())
    assert round(float(table["allocation"].sum()) * 100) == 400_000_000
    expected = harm / harm.sum() * 4_000_000  # shares ~60/40: £2.41m < the £2.5m cap, not binding
    assert table["allocation"].to_dict() == pytest.approx(expected.to_dict(), abs=0.011)
    ws.close()


#: The README's figures ("Evaluate and fund"): £4,000,000 by area on the 12 bundled months, CCHI. They
#: are the shares of harm computed independently with pandas in test_area_split_on_real_bedfordshire,
#: rounded to the penny by largest remainder.
README_SPLIT = {"Luton": 1_550_571.34, "Central Bedfordshire": 1_257_400.36, "Bedford": 1_192_028.30}


def test_allocate_from_python_stores_its_result(tmp_path: Path, bedfordshire: Workspace) -> None:
    alternatives = {"ons_css": {"harm": "ons_css"}, "6m": {"last": 6}}
    result = allocate(bedfordshire, pot=4_000_000, by="area", sensitivity=alternatives)
    stored = bedfordshire.latest_result("allocation")
    assert stored is not None and stored.result_id == result.meta["result_id"]
    assert stored.kind == "allocation" and stored.table_names == ("allocation", "sensitivity")
    assert result.table.set_index("area_id")["allocation"].to_dict() == README_SPLIT
    assert stored.summary == result.summary()
    assert stored.summary.startswith(
        "£4,000,000 split by area: Luton £1,550,571.34, Central Bedfordshire £1,257,400.36, "
        "Bedford £1,192,028.30, in proportion to serious-violence harm (cchi, 2023-05 to 2024-04)."
    )
    meta = stored.meta
    assert meta["last"] == 12 and meta["window"] == {"first": "2023-05", "last": "2024-04"}
    assert meta["harm_table"] == "cchi" and len(meta["harm_sha256"]) == 64
    assert meta["sensitivity"] == alternatives and meta["pot"] == 4_000_000
    kept = bedfordshire.result_table(stored.result_id, "allocation").set_index("area_id")["allocation"]
    assert kept.to_dict() == README_SPLIT
    moved = bedfordshire.result_table(stored.result_id, "sensitivity").set_index("area_id")
    # the 6-month alternative is the same allocation on 2023-11..2024-04 (months by hand)
    six = allocate(bedfordshire, pot=4_000_000, by="area", last=6, store=False)
    assert six.meta["window"] == {"first": "2023-11", "last": "2024-04"}
    assert moved["share_6m"].to_dict() == pytest.approx(six.table.set_index("area_id")["share"].to_dict())
    assert moved["change_pp_6m"].to_dict() == pytest.approx(
        ((moved["share_6m"] - moved["share_base"]) * 100).to_dict()
    )
    assert f"{moved['change_pp_6m'].abs().max():.1f} percentage points" in stored.summary
    assert bedfordshire.latest_result("allocation").result_id == stored.result_id  # store=False: none


def test_cli_allocate_writes_the_table(bedfordshire: Workspace, tmp_path: Path) -> None:
    path = bedfordshire.path
    bedfordshire.con.execute("CHECKPOINT")
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(Path(path).read_bytes())
    run = subprocess.run(
        ["gripkit", "allocate", "--pot", "4000000", "--by", "area", "-o", "allocation.csv", "--last", "12",
         "--sensitivity-last", "6", "--sensitivity-out", "moved.csv", "-w", str(copy)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(tmp_path / "allocation.csv")
    assert {"area_id", "harm", "share", "allocation"} <= set(table.columns)
    assert round(table["allocation"].sum() * 100) == 400_000_000
    assert table.set_index("area_id")["allocation"].to_dict() == README_SPLIT
    assert {"share_ons_css", "share_6m"} <= set(pd.read_csv(tmp_path / "moved.csv").columns)
    assert "Luton £1,550,571.34" in " ".join(run.stdout.split())
    with Workspace(copy, read_only=True) as ws:  # the job stored it (with its sensitivity), not the command
        stored = ws.latest_result("allocation")
        assert stored is not None and stored.table_names == ("allocation", "sensitivity")
    short = subprocess.run(
        ["gripkit", "allocate", "--pot", "1000000", "--by", "area", "--last", "6", "--harm", "none", "--json",
         "-w", str(copy)], capture_output=True, text=True, timeout=300,
    )
    assert short.returncode == 0, short.stderr
    answer = json.loads(short.stdout)  # one JSON object on stdout
    assert answer["meta"]["window"] == {"first": "2023-11", "last": "2024-04"}
    assert answer["meta"]["harm_table"] is None and answer["total"] == 1_000_000
    # --harm none: shares of serious-violence crimes, counted here with pandas
    with Workspace(copy, read_only=True) as ws:
        crimes = ws.crimes(crime_types=list(SV), months=("2023-11", "2024-04"))
    by_area = crimes["lsoa_name"].map(authority_from_lsoa_name).value_counts()
    by_area = by_area[by_area.index.isin(["Bedford", "Central Bedfordshire", "Luton"])]
    got = {r["area_id"]: r["share"] for r in answer["allocation"]}
    assert got == pytest.approx((by_area / by_area.sum()).to_dict())
    bad = subprocess.run(
        ["gripkit", "allocate", "--pot", "0", "-w", str(copy)], capture_output=True, text=True
    )
    assert bad.returncode == 1 and "--pot must be a positive amount" in bad.stderr


# -- coverage: no force silently missing (workspace: conftest ``two_force_workspace``, REAL files:
# Bedfordshire 2023-04..2024-04 as published; West Yorkshire = three real Bedfordshire months
# relabelled 2016-03, 2017-06, 2018-01, so it holds none of the trailing 12 months 2023-05..2024-04)


def test_allocate_refuses_a_force_without_the_window_and_writes_nothing(two_force_workspace: Path) -> None:
    with Workspace(two_force_workspace) as ws:
        with pytest.raises(InputError) as info:
            allocate(ws, pot=4_000_000, by="force")
        message = str(info.value)
        assert "West Yorkshire holds 0 of the 12 months asked" in message
        assert "its data covers 2016-03, 2017-06, 2018-01" in message and "2023-05..2024-04" in message
        assert "'last'" in message and "'exclude_forces'" in message and "'allow_gaps'" in message
        assert ws.latest_result("allocation") is None  # nothing stored on a refusal


def test_allocate_lists_a_force_without_data_with_zero_and_its_reason(two_force_workspace: Path) -> None:
    with Workspace(two_force_workspace) as ws:
        flagged = allocate(ws, pot=4_000_000, by="force", allow_gaps=True)
        excluded = allocate(ws, pot=4_000_000, by="force", exclude_forces=["West Yorkshire"], store=False)
    for result in (flagged, excluded):
        table = result.table.set_index("force")
        # Bedfordshire is the only force holding the window, so it gets the whole pot (by hand)
        assert table.loc["Bedfordshire", "allocation"] == 4_000_000
        assert table.loc["Bedfordshire", "months_held"] == 12
        assert table.loc["West Yorkshire", "allocation"] == 0 and table.loc["West Yorkshire", "crimes"] == 0
        assert "West Yorkshire £0" in result.summary()
    wy = flagged.table.set_index("force").loc["West Yorkshire"]
    assert wy["reason"].startswith("no data in the window")
    assert "West Yorkshire gets nothing: no data in 2023-05..2024-04 (allowed with allow_gaps)" in (
        flagged.summary()
    )
    assert flagged.meta["coverage"]["flagged"] == ["West Yorkshire"] and flagged.meta["allow_gaps"] is True
    assert excluded.table.set_index("force").loc["West Yorkshire", "reason"] == "excluded on request"
    assert "Excluded on request: West Yorkshire." in excluded.summary()
    assert excluded.meta["coverage"]["excluded"] == ["West Yorkshire"]


def test_allocate_flags_a_partly_held_window(two_force_workspace: Path) -> None:
    with Workspace(two_force_workspace) as ws:
        # a month police.uk never published for Bedfordshire (its 2023-08 crimes removed)
        ws.con.execute("DELETE FROM crimes WHERE force = 'Bedfordshire' AND month = DATE '2023-08-01'")
        refusal = r"Bedfordshire holds 11 of the 12 months asked \(missing 2023-08"
        with pytest.raises(InputError, match=refusal):
            allocate(ws, pot=1_000, by="area", exclude_forces=["West Yorkshire"])
        result = allocate(ws, pot=1_000, by="area", exclude_forces=["West Yorkshire"], allow_gaps=True,
                          store=False)
    assert set(result.table["months_held"]) == {11} and set(result.table["months_missing"]) == {"2023-08"}
    assert result.table["allocation"].sum() == pytest.approx(1_000)
    assert "Allocated on part of the window (allowed with allow_gaps): Luton holds 11 months, missing " \
        "2023-08" in result.summary()
    assert result.meta["coverage"]["forces"]["Bedfordshire"]["missing"] == "2023-08"


def test_cli_allocate_refuses_with_flags_and_writes_no_file(
    two_force_workspace: Path, tmp_path: Path
) -> None:
    run = subprocess.run(
        ["gripkit", "allocate", "--pot", "4000000", "-o", "a.csv", "-w", str(two_force_workspace)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "West Yorkshire holds 0 of the 12 months" in run.stderr
    assert "--last" in run.stderr and "--exclude-force" in run.stderr and "--allow-gaps" in run.stderr
    assert not (tmp_path / "a.csv").exists()
    ok = subprocess.run(
        ["gripkit", "allocate", "--pot", "4000000", "--exclude-force", "West Yorkshire", "--json",
         "-w", str(two_force_workspace)], capture_output=True, text=True, timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    rows = {r["force"]: r for r in json.loads(ok.stdout)["allocation"]}
    assert rows["West Yorkshire"]["allocation"] == 0
    assert rows["West Yorkshire"]["reason"] == "excluded on request"
