"""Harm tables (CSV + provenance) and applying them to crimes.

Examples
--------
>>> from gripkit.harm import load_harm_table
>>> load_harm_table("cchi").weights["Shoplifting"]
1.0
"""

from gripkit.harm.tables import (
    DEFAULT_TABLE,
    HarmTable,
    apply_harm,
    list_harm_tables,
    load_harm_table,
    serious_violence_types,
)

__all__ = [
    "DEFAULT_TABLE",
    "HarmTable",
    "apply_harm",
    "list_harm_tables",
    "load_harm_table",
    "serious_violence_types",
]
