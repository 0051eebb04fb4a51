"""SIMULATED GPS traces with known visits, built at real places (no real officer data is used in these tests).

Two square 200 m patrol areas at real coordinates in Luton (EPSG:27700, inside the Bedfordshire force
area, so the force-area check of the ingest keeps them); the pings are simulated. An officer
stands at a point for a time span, pinging every ``step`` seconds; "outside" points are 300 m from
the area centre (36 km/h between 30 s pings, well under the 100 km/h speed limit).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

A_BOX = (509000.0, 221000.0, 509200.0, 221200.0)
B_BOX = (510000.0, 221000.0, 510200.0, 221200.0)
A_IN, B_IN = (509100.0, 221100.0), (510100.0, 221100.0)
A_OUT, B_OUT = (509100.0, 221400.0), (510100.0, 221400.0)


def areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["A", "B"], "harm": [10.0, 5.0]},
        geometry=[shapely.box(*A_BOX), shapely.box(*B_BOX)],
        crs="EPSG:27700",
    )


def track(officer: str, segments: list[tuple[str, str, tuple[float, float]]], step: int = 30) -> pd.DataFrame:
    """Pings every ``step`` s from start to end (inclusive, UTC) at each segment's point."""
    rows = []
    for start, end, (x, y) in segments:
        for t in pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=f"{step}s"):
            rows.append({"officer_id": officer, "ts_utc": t, "x": x, "y": y})
    return pd.DataFrame(rows)


def raw(frame: pd.DataFrame, *, fmt: str = "utc") -> pd.DataFrame:
    """The pings as the text frame a reader returns (``utc``: ``...Z``; ``london``: naive local)."""
    ts = pd.to_datetime(frame["ts_utc"])
    if fmt == "london":
        text = ts.dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return pd.DataFrame(
        {
            "source_row": range(2, len(frame) + 2),
            "officer_id": frame["officer_id"].astype(str).to_numpy(),
            "timestamp": text.to_numpy(),
            "lon": "",
            "lat": "",
            "x": frame["x"].astype(str).to_numpy(),
            "y": frame["y"].astype(str).to_numpy(),
        }
    )


def one_patrol(officer: str = "R1", day: str = "2024-06-01") -> pd.DataFrame:
    """Known visit: inside A from 14:00:00 to 14:15:00 UTC (31 pings, 15 minutes)."""
    return track(
        officer,
        [
            (f"{day} 13:50:00", f"{day} 13:59:30", A_OUT),
            (f"{day} 14:00:00", f"{day} 14:15:00", A_IN),
            (f"{day} 14:15:30", f"{day} 14:25:00", A_OUT),
        ],
    )
