"""Writing tables by extension: one helper for every stage's output files.

``.csv`` and ``.parquet`` for any frame; for a GeoDataFrame also ``.gpkg`` and ``.geojson``, and its
``.parquet`` is GeoParquet (QGIS and pandas open all of them). A CSV of a GeoDataFrame drops the
geometry column. The folder is created.

Example
-------
>>> import tempfile, pathlib, pandas as pd
>>> out = write_table(pd.DataFrame({"a": [1]}), pathlib.Path(tempfile.mkdtemp()) / "t.csv")
>>> out.read_text().split()
['a', '1']
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gripkit.columns import GEOMETRY, WGS84
from gripkit.validate import one_of

TABLE_EXTENSIONS = (".csv", ".parquet")
LAYER_EXTENSIONS = (".parquet", ".gpkg", ".geojson", ".csv")


def is_spatial(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is a GeoDataFrame (without importing geopandas for plain frames)."""
    return hasattr(frame, "geometry") and type(frame).__name__ == "GeoDataFrame"


def write_table(frame: pd.DataFrame, path: str | Path, *, layer: str = "gripkit") -> Path:
    """Write ``frame`` to ``path`` by its extension (see the module docstring); return the path.

    Parameters
    ----------
    frame
        A DataFrame, or a GeoDataFrame for the spatial formats.
    path
        ``.csv``, ``.parquet``; for a GeoDataFrame also ``.gpkg`` or ``.geojson`` (written in WGS84).
    layer
        Layer name inside a GeoPackage.
    """
    out = Path(path).expanduser()
    suffix = out.suffix.lower()
    spatial = is_spatial(frame)
    one_of("output extension", suffix, LAYER_EXTENSIONS if spatial else TABLE_EXTENSIONS)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
    elif suffix == ".gpkg":
        frame.to_file(out, layer=layer, driver="GPKG")  # type: ignore[operator]
    elif suffix == ".geojson":
        frame.to_crs(WGS84).to_file(out, driver="GeoJSON")  # type: ignore[operator]
    else:
        plain = pd.DataFrame(frame.drop(columns=GEOMETRY)) if spatial else frame
        plain.to_csv(out, index=False)
    return out
