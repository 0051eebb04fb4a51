"""National outputs: the table (CSV + Parquet) and a map of force areas by serious-violence harm.

Files are written to a temporary name in the output folder and renamed into place, so a failed
run never leaves a half-written file under the final name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath

from gripkit import columns as C
from gripkit.datasets import ATTRIBUTION, BOUNDARY_ATTRIBUTION, force_areas
from gripkit.errors import InputError


def check_output_dir(out: str | Path) -> Path:
    """Create ``out`` if needed and prove it is writable, else raise :class:`InputError`.

    Examples
    --------
    >>> import tempfile
    >>> check_output_dir(tempfile.mkdtemp()).is_dir()
    True
    """
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gripkit-probe-"):
            pass
    except OSError as exc:
        raise InputError(
            f"output directory {folder} is not writable ({exc.strerror or exc}); received --out {out}. "
            "Pass --out to a folder you can write to, with free space."
        ) from exc
    return folder


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    tmp = path.with_name(f".{path.name}.partial")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"cannot write {path}: {exc}. Check free space and permissions of {path.parent}."
        ) from exc
    return path


def write_table(table: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Write ``national.csv`` and ``national.parquet`` into ``folder``; return their paths.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_table(pd.DataFrame({"force": ["Kent"], "sv_harm": [1.0]}), Path(tempfile.mkdtemp()))
    >>> sorted(paths), pd.read_csv(paths["csv"])["force"].tolist()
    (['csv', 'parquet'], ['Kent'])
    """
    return {
        "csv": _atomic(folder / "national.csv", lambda p: table.to_csv(p, index=False)),
        "parquet": _atomic(folder / "national.parquet", lambda p: table.to_parquet(p, index=False)),
    }


def write_map(table: pd.DataFrame, path: Path, *, title: str = "Serious-violence harm by force") -> Path:
    """A PNG of the 43 force areas (bundled polygons) coloured by ``sv_harm``; grey = no data.

    Examples
    --------
    >>> import tempfile
    >>> table = pd.DataFrame({"force": ["Kent"], "sv_harm": [1.0]})
    >>> png = write_map(table, Path(tempfile.mkdtemp()) / "m.png")
    >>> png.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    areas = force_areas().merge(
        table[[C.FORCE, "sv_harm"]], left_on="police_force", right_on=C.FORCE, how="left"
    )
    # matplotlib's object API (a Figure on the Agg canvas): no pyplot state, and ~0.5 s less to
    # import and draw than pyplot with GeoDataFrame.plot
    fig = Figure(figsize=(7, 8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    paths = [_polygon_path(g) for g in areas.geometry]
    harm = areas["sv_harm"].to_numpy(dtype=float)
    missing = np.isnan(harm)
    if missing.any():
        ax.add_collection(PathCollection([p for p, m in zip(paths, missing, strict=True) if m],
                                         facecolor="#dddddd", edgecolor="white", linewidth=0.4))
    if (~missing).any():
        shown = PathCollection([p for p, m in zip(paths, missing, strict=True) if not m], cmap="OrRd",
                               norm=Normalize(np.min(harm[~missing]), np.max(harm[~missing])),
                               edgecolor="#555555", linewidth=0.4)
        shown.set_array(harm[~missing])
        ax.add_collection(shown)
        fig.colorbar(shown, ax=ax, shrink=0.6, label="serious-violence harm (last window)")
    xmin, ymin, xmax, ymax = areas.total_bounds
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.set_axis_off()
    fig.text(0.01, 0.01, f"{ATTRIBUTION}\n{BOUNDARY_ATTRIBUTION}", fontsize=5, va="bottom")
    return _atomic(path, lambda p: fig.savefig(p, format="png", bbox_inches="tight"))


def _polygon_path(geometry: shapely.Geometry) -> MplPath:
    """One matplotlib path of a (multi)polygon: every ring, exteriors counter-clockwise and holes
    clockwise, so matplotlib's non-zero fill leaves the holes empty."""
    parts = shapely.get_parts(geometry)
    rings = shapely.get_rings([shapely.geometry.polygon.orient(p, 1.0) for p in parts])
    return MplPath.make_compound_path(*(MplPath(shapely.get_coordinates(r), closed=True) for r in rings))
