"""GPS dosage: ingest pings (nothing lost), visits to patrol areas, dosage and compliance.

Examples
--------
>>> import geopandas as gpd, pandas as pd, shapely
>>> from gripkit.dosage import officer_visits, patrol_visits
>>> areas = gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=27700)
>>> pings = pd.DataFrame({"officer_id": "R1", "x": 50.0, "y": 50.0,
...     "ts_utc": pd.date_range("2024-06-01 13:00", periods=16, freq="min")})
>>> patrol_visits(officer_visits(pings, areas))["dwell_minutes"].tolist()
[15.0]
"""

from __future__ import annotations

from gripkit.dosage.clean import clean_pings
from gripkit.dosage.ingest import GpsIngestReport, ingest_gps, workspace_pings
from gripkit.dosage.read import read_ping_csv, read_ping_gpx, read_pings
from gripkit.dosage.tracking import Compliance, compliance, dosage
from gripkit.dosage.visits import locate, officer_visits, patrol_visits

__all__ = [
    "Compliance",
    "GpsIngestReport",
    "clean_pings",
    "compliance",
    "dosage",
    "ingest_gps",
    "locate",
    "officer_visits",
    "patrol_visits",
    "read_ping_csv",
    "read_ping_gpx",
    "read_pings",
    "workspace_pings",
]
