"""National outputs: the table (CSV + Parquet) and a map of force areas by serious-violence harm.

Files are written to a temporary name in the output folder and renamed into place, so a failed
run never leaves a half-written file under the final name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

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
        table[["force", "sv_harm"]], left_on="police_force", right_on="force", how="left"
    )
    fig, ax = plt.subplots(figsize=(7, 8), dpi=110)
    missing = areas["sv_harm"].isna()
    if missing.any():
        areas[missing].plot(ax=ax, color="#dddddd", edgecolor="white", linewidth=0.4)
    if (~missing).any():
        areas[~missing].plot(
            ax=ax, column="sv_harm", cmap="OrRd", edgecolor="#555555", linewidth=0.4, legend=True,
            legend_kwds={"label": "serious-violence harm (last window)", "shrink": 0.6},
        )
    ax.set_title(title)
    ax.set_axis_off()
    fig.text(0.01, 0.01, f"{ATTRIBUTION}\n{BOUNDARY_ATTRIBUTION}", fontsize=5, va="bottom")

    def save(p: Path) -> None:
        fig.savefig(p, format="png", bbox_inches="tight")

    try:
        return _atomic(path, save)
    finally:
        plt.close(fig)
