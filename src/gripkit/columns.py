"""Canonical column names, defined once and used everywhere.

The canonical crime frame (one row per recorded crime) has these columns:

=============  =========  ======================================================
column         type       meaning
=============  =========  ======================================================
crime_id       str|None   police.uk ``Crime ID`` or a force's own reference
month          date       first day of the month the crime was recorded in
occurred_at    timestamp  date-time of the offence when known (force data)
crime_type     str        one of the 14 police.uk categories (:data:`CRIME_TYPES`)
force          str        police force area, e.g. ``Bedfordshire``
lon, lat       float      WGS84 degrees as published
x, y           float      EPSG:27700 British National Grid metres
lsoa_code      str|None   LSOA code as published (2011 or 2021 geography)
lsoa_name      str|None   LSOA name as published
location       str|None   anonymised location text, e.g. ``On or near Church Lane``
outcome        str|None   last outcome category
source_id      int        row id in the workspace ``sources`` table
source_row     int        1-based line number of the row in its source file
=============  =========  ======================================================
"""

from __future__ import annotations

from typing import Final

CRIME_ID: Final = "crime_id"
MONTH: Final = "month"
OCCURRED_AT: Final = "occurred_at"
CRIME_TYPE: Final = "crime_type"
FORCE: Final = "force"
LON: Final = "lon"
LAT: Final = "lat"
X: Final = "x"
Y: Final = "y"
LSOA_CODE: Final = "lsoa_code"
LSOA_NAME: Final = "lsoa_name"
LOCATION: Final = "location"
OUTCOME: Final = "outcome"
SOURCE_ID: Final = "source_id"
SOURCE_ROW: Final = "source_row"
HARM: Final = "harm"

CRIME_COLUMNS: Final[tuple[str, ...]] = (
    CRIME_ID,
    MONTH,
    OCCURRED_AT,
    CRIME_TYPE,
    FORCE,
    LON,
    LAT,
    X,
    Y,
    LSOA_CODE,
    LSOA_NAME,
    LOCATION,
    OUTCOME,
    SOURCE_ID,
    SOURCE_ROW,
)

# Columns of a hotspot (unit) result frame.
UNIT_ID: Final = "unit_id"
#: A unit's name people can read ("On or near George Street, Luton 012A"): gripkit.hotspots.labels.
LABEL: Final = "label"
CRIMES: Final = "crimes"
HARM_RANK: Final = "harm_rank"
SHARE_OF_HARM: Final = "share_of_harm"
CUMULATIVE_SHARE: Final = "cumulative_share"
AREA_M2: Final = "area_m2"
GEOMETRY: Final = "geometry"

HOTSPOT_COLUMNS: Final[tuple[str, ...]] = (
    UNIT_ID,
    LABEL,
    CRIMES,
    HARM,
    HARM_RANK,
    SHARE_OF_HARM,
    CUMULATIVE_SHARE,
    AREA_M2,
    GEOMETRY,
)

# The 14 police.uk street-level crime categories (data.police.uk/about).
CRIME_TYPES: Final[tuple[str, ...]] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

BNG: Final = "EPSG:27700"
WGS84: Final = "EPSG:4326"

# The harm table used when none is named (every command and job).
DEFAULT_HARM_TABLE: Final = "cchi"

# Patrol plans, dosage and evaluation: one name per idea from the plan to the effect table.
# A patrol area is a hotspot unit chosen for patrol: its ``area_id`` is that unit's ``unit_id``.
AREA_ID: Final = "area_id"
DATE: Final = "date"
TREATED: Final = "treated"
BLOCK: Final = "block"
VISITS: Final = "visits"
VISIT: Final = "visit"
OFFICER_ID: Final = "officer_id"
OFFICERS: Final = "officers"
TS_UTC: Final = "ts_utc"
START_UTC: Final = "start_utc"
END_UTC: Final = "end_utc"
DWELL_MINUTES: Final = "dwell_minutes"
PINGS: Final = "pings"
PLAN_ID: Final = "plan_id"
COUNT: Final = "count"
DOSAGE: Final = "dosage"
HOT: Final = "hot"

# Home Office offence code of a crime (a force's own CSV; police.uk files have none). Nullable.
OFFENCE_CODE: Final = "offence_code"

# Where a record came from: "police" (police.uk, a force's own CSV), "health" (hospital ED
# assault records, Cardiff Model), or another partner's name. Every crimes row has one.
SOURCE: Final = "source"
