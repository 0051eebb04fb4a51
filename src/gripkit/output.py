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
from gripkit.errors import InputError
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


#: counts below this are shown as "<5" in outputs marked for sharing (:func:`suppress_small`)
SMALL_NUMBER_THRESHOLD = 5


def suppress_small(
    frame: pd.DataFrame,
    counts: dict[str, tuple[str, ...]],
    *,
    threshold: int = SMALL_NUMBER_THRESHOLD,
    drop: tuple[str, ...] = (),
) -> pd.DataFrame:
    """A copy of ``frame`` for sharing: small counts shown as ``"<threshold"``, what reveals them blanked.

    Each key of ``counts`` is a count column: a value from 1 to ``threshold - 1`` becomes the text
    ``"<5"`` (0 and counts of ``threshold`` or more stay, as text: the column is text); the columns
    named in its tuple (values derived from that count, e.g. harm, a share) become empty in those
    rows. Columns in ``drop`` are removed (e.g. a cumulative share, whose differences would give back
    a suppressed share). Missing columns are skipped. ``frame`` is not modified.

    Examples
    --------
    >>> t = pd.DataFrame({"crimes": [12, 3, 0], "harm": [2770.7, 692.7, 0.0], "cumulative": [0.8, 1.0, 1.0]})
    >>> suppress_small(t, {"crimes": ("harm",)}, drop=("cumulative",)).values.tolist()
    [['12', 2770.7], ['<5', None], ['0', 0.0]]
    """
    threshold = int(threshold)
    if threshold < 1:
        raise InputError(f"'threshold' must be a whole number >= 1; received {threshold}. Pass e.g. 5.")
    out = frame.drop(columns=[c for c in drop if c in frame.columns])
    for name, derived in counts.items():
        if name not in out.columns:
            continue
        values = pd.to_numeric(out[name], errors="coerce")
        small = (values > 0) & (values < threshold)
        text = values.map(lambda v: "" if pd.isna(v) else f"{int(v)}")
        out[name] = text.where(~small, f"<{threshold}").astype(object)
        for column in derived:
            if column in out.columns:
                out[column] = out[column].astype(object).where(~small, None)
    return out
