"""A police.uk street header and real rows used as templates by the ingest tests.

A module of its own (not ``conftest``): test folders each have a ``conftest.py``, and
``from conftest import ...`` picks whichever was imported first.
"""

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
# Real rows from 2021-05-bedfordshire-street.csv (police.uk, OGL v3), used as templates.
ROW_ASB = (
    ",2021-05,Bedfordshire Police,Bedfordshire Police,-0.472054,52.301536,On or near Shelton Road,"
    "E01017540,Bedford 001A,Anti-social behaviour,,"
)
ROW_DAMAGE = (
    "2e4dcf0126e894bd6f00eab97349c6bc96c05a5f325719ea8177c630e9d2f3aa,2021-05,Bedfordshire Police,"
    "Bedfordshire Police,-0.467024,52.297290,On or near Church Lane,E01017540,Bedford 001A,"
    "Criminal damage and arson,Investigation complete; no suspect identified,"
)
