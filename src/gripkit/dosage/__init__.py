"""GPS dosage: ingest pings (nothing lost), visits to patrol areas, dosage and compliance.

:func:`ingest_gps` stores pings; :func:`compliance` is the job that measures visits to a stored
plan's areas (GPS pings and officers' own records) and stores a :class:`Compliance` result.

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
from gripkit.dosage.job import PlanVisits, compliance, officer_records, plan_visits
from gripkit.dosage.read import read_ping_csv, read_ping_gpx, read_pings
from gripkit.dosage.tracking import Compliance, dosage, match_visits
from gripkit.dosage.visits import locate, officer_visits, patrol_visits, with_local_times

__all__ = [
    "Compliance",
    "GpsIngestReport",
    "PlanVisits",
    "clean_pings",
    "compliance",
    "dosage",
    "ingest_gps",
    "locate",
    "match_visits",
    "officer_records",
    "officer_visits",
    "patrol_visits",
    "plan_visits",
    "read_ping_csv",
    "read_ping_gpx",
    "read_pings",
    "with_local_times",
    "workspace_pings",
]
