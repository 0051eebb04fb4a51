"""Gi* speed: gripkit.hotspots.gistar vs esda.G_Local(star=True), side by side in one run.

Run: ``python benchmarks/gistar_speed.py [path/to/police-uk-bedfordshire-2021-05-to-2024-04.zip]``
(``--sizes 150`` to run one grid only).

Data: the 36 months of real Bedfordshire street crime (police.uk), counted with
``gripkit.hotspots.count`` on square grids over the bundled Bedfordshire force-area polygon.
For each cell size the script times, on the same counts:

* gripkit: ``gistar(hotspots, units)`` — matching rows to cells, the 2-D correlation, z, two-sided
  p, Benjamini–Hochberg q-values and the output frame (best of 5 after a warm-up);
* esda 2.9 ``G_Local(y, w, star=True, transform="B", permutations=0)`` with queen weights built
  independently from the cell centres, the weights' build time reported separately:
  a classic ``libpysal.weights.DistanceBand`` (W object) and the newer ``libpysal.graph.Graph``
  (``build_distance_band``), both with threshold cell × √2 × 1.0001.

On the 50 m grid (~500k cells) the W object path does not finish in reasonable time (its build and
``G_Local`` scale like the 150 m figures × 9, minutes, with dictionaries of ~4M links), so it is
timed on a 12 km × 12 km window around the busiest cell (~58k cells) — with gripkit timed on that
same window — and the Graph path runs on the whole grid.

Printed: seconds, the speed ratios esda / gripkit (target >= 100x) and max |z_gripkit − z_esda|.

``--calibrated`` (serious violence, 250 m grid): gripkit's exact permutation p-values (the default
``p_values="permutation"``, null check off) beside esda ``G_Local(permutations=999)`` (its
``p_sim``, conditional randomisation, smallest possible p = 1/1000) on the same counts and queen +
self weights; prints the speed ratio (target >= 10x), the smallest p each resolves, the BH threshold
of the grid, the hot cells of each under BH at 5%, and ``--null-runs`` shuffles of the counts over
the cells with the share of runs in which each p-value method flags any cell.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import esda
import numpy as np
import pandas as pd
import pyproj
import shapely
from libpysal.graph import Graph
from libpysal.weights import DistanceBand

from gripkit import datasets
from gripkit.hotspots.count import count
from gripkit.hotspots.gistar import gistar
from gripkit.units import GridUnits

DEFAULT_ZIP = (
    Path(__file__).resolve().parents[2]
    / "shared/data/bedfordshire/police-uk-bedfordshire-2021-05-to-2024-04.zip"
)
WINDOW_M = 12_000


def load_crimes(zip_path: Path) -> pd.DataFrame:
    """All street files of the zip with coordinates, x/y projected to EPSG:27700."""
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith("-street.csv"))
        raw = pd.concat(
            [pd.read_csv(archive.open(n), usecols=["Longitude", "Latitude"]) for n in names],
            ignore_index=True,
        ).dropna()
    to_bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(raw["Longitude"].to_numpy(), raw["Latitude"].to_numpy())
    print(f"{len(raw):,} crimes with coordinates from {len(names)} monthly files")
    return pd.DataFrame({"x": x, "y": y})


def timed(func: Callable[[], Any], repeats: int = 1) -> tuple[float, float, Any]:
    """Best and median wall time of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def run_gripkit(crimes: pd.DataFrame, units: GridUnits) -> tuple[float, np.ndarray, np.ndarray]:
    """Best gistar time over 5 runs, z in frame order, and the counts in frame order."""
    hotspots = count(crimes, units)
    gistar(hotspots, units)  # warm-up
    best, median, result = timed(lambda: gistar(hotspots, units), repeats=5)
    ids = units.frame["unit_id"].astype(object)
    z = result.set_index(result["unit_id"].astype(object)).loc[ids, "gi_z"].to_numpy()
    y = hotspots.set_index(hotspots["unit_id"].astype(object)).loc[ids, "crimes"].to_numpy(dtype=float)
    print(
        f"  gripkit gistar (incl. BH q-values)    {best:9.4f} s  (median {median:.4f} s; "
        f"{int(result['hot'].sum()):,} hot cells)"
    )
    return best, z, y


def run_esda(label: str, build: Callable[[], Any], y: np.ndarray, z: np.ndarray, ours: float) -> None:
    """Time a weights build and G_Local on it; print times, ratios and z agreement."""
    build_s, _, w = timed(build)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local_s, _, g = timed(lambda: esda.G_Local(y, w, star=True, transform="B", permutations=0))
    diff = float(np.nanmax(np.abs(g.Zs - z)))
    print(f"  esda G_Local, {label:<22} {local_s:9.4f} s  -> {local_s / ours:8.1f}x gripkit")
    print(
        f"    + weights build                      {build_s:9.4f} s  -> {(build_s + local_s) / ours:8.1f}x "
        f"gripkit (build + G_Local);  max |z diff| {diff:.1e}"
    )


def distance_band(points: np.ndarray, threshold: float) -> DistanceBand:
    return DistanceBand(points, threshold, binary=True, silence_warnings=True)


def distance_graph(points: np.ndarray, threshold: float) -> Graph:
    return Graph.build_distance_band(points, threshold, binary=True)


def centres(units: GridUnits) -> np.ndarray:
    c = units.frame.geometry.centroid
    return np.c_[c.x.to_numpy(), c.y.to_numpy()]


def bench(crimes: pd.DataFrame, area: Any, cell: float, *, w_object: bool) -> None:
    units = GridUnits.from_crimes(crimes, cell_size=cell, area=area)
    print(
        f"\n{cell:g} m grid over the Bedfordshire force area: {len(units):,} cells "
        f"({units.n_cols} x {units.n_rows} extent)"
    )
    ours, z, y = run_gripkit(crimes, units)
    threshold = cell * 2**0.5 * 1.0001
    points = centres(units)
    if w_object:
        run_esda("W (DistanceBand)", lambda: distance_band(points, threshold), y, z, ours)
    run_esda("Graph (distance band)", lambda: distance_graph(points, threshold), y, z, ours)
    if not w_object:
        window(crimes, area, units, y, cell)


def window(crimes: pd.DataFrame, area: Any, units: GridUnits, y: np.ndarray, cell: float) -> None:
    """The W object path on a window around the busiest cell, gripkit on the same window."""
    busiest = units.frame.geometry.iloc[int(np.argmax(y))].centroid
    box = shapely.box(
        busiest.x - WINDOW_M / 2, busiest.y - WINDOW_M / 2, busiest.x + WINDOW_M / 2, busiest.y + WINDOW_M / 2
    )
    sub = GridUnits(cell, box.bounds, area=box.intersection(area))
    km = WINDOW_M / 1000
    print(f"  window {km:g} km x {km:g} km around the busiest cell: {len(sub):,} cells")
    ours, z, y_sub = run_gripkit(crimes, sub)
    points = centres(sub)
    threshold = cell * 2**0.5 * 1.0001
    run_esda("W (DistanceBand)", lambda: distance_band(points, threshold), y_sub, z, ours)


SERIOUS_VIOLENCE = ("Violence and sexual offences", "Robbery", "Possession of weapons")


def load_serious_violence(zip_path: Path) -> pd.DataFrame:
    """Serious-violence street crimes of the zip with x/y in EPSG:27700."""
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith("-street.csv"))
        raw = pd.concat(
            [pd.read_csv(archive.open(n), usecols=["Longitude", "Latitude", "Crime type"]) for n in names],
            ignore_index=True,
        ).dropna()
    raw = raw[raw["Crime type"].isin(SERIOUS_VIOLENCE)]
    to_bng = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(raw["Longitude"].to_numpy(), raw["Latitude"].to_numpy())
    return pd.DataFrame({"x": x, "y": y})


def calibrated(zip_path: Path, cell: float, null_runs: int) -> None:
    """Exact permutation p-values vs esda's 999 conditional permutations, and shuffled nulls."""
    from gripkit.hotspots.multiple import adjust_pvalues

    crimes = load_serious_violence(zip_path)
    units = GridUnits.from_crimes(crimes, cell_size=cell, area=datasets.force_area("Bedfordshire"))
    hotspots = count(crimes, units)
    n = len(units)
    print(f"\ncalibrated p-values: {len(crimes):,} serious-violence crimes, {n:,} {cell:g} m cells")
    gistar(hotspots, units, null_runs=0)  # warm-up
    ours, _, result = timed(lambda: gistar(hotspots, units, null_runs=0), repeats=3)
    ids = units.frame["unit_id"].astype(object)
    y = hotspots.set_index(hotspots["unit_id"].astype(object)).loc[ids, "crimes"].to_numpy(dtype=float)
    w = distance_band(centres(units), cell * 2**0.5 * 1.0001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, _, g = timed(
            lambda: esda.G_Local(y, w, star=True, transform="B", permutations=999, seed=1)
        )
    esda_q = adjust_pvalues(np.asarray(g.p_sim, dtype=float), "fdr_bh")
    esda_hot = int(((esda_q < 0.05) & (g.Zs > 0)).sum())
    print(f"  gripkit exact permutation p  {ours:9.4f} s; smallest p {result['gi_p'].min():.1e}; "
          f"{int(result['hot'].sum()):,} hot (BH 5%)")
    print(f"  esda G_Local(999 perms)      {theirs:9.4f} s; smallest p {np.min(g.p_sim):.1e}; "
          f"{esda_hot:,} hot (BH 5% on p_sim)")
    print(f"  speed ratio esda / gripkit   {theirs / ours:9.1f}x (target >= 10x)")
    print(f"  BH threshold for one discovery among {n:,} cells: 0.05 / {n:,} = {0.05 / n:.1e}; "
          f"esda's resolution 1/1000 = 1.0e-03")
    rng = np.random.default_rng(2024)
    flagged: dict[str, list[int]] = {"permutation": [], "normal": []}
    for _ in range(null_runs):
        shuffled = hotspots.assign(crimes=rng.permutation(hotspots["crimes"].to_numpy()))
        for method in flagged:
            hot = gistar(shuffled, units, p_values=method, null_runs=0)["hot"]
            flagged[method].append(int(hot.sum()))
    for method, counts in flagged.items():
        if counts:
            share = np.mean([c > 0 for c in counts])
            print(f"  counts shuffled over the cells, {null_runs} runs, p_values={method!r}: mean "
                  f"{np.mean(counts):.1f} hot, any hot in {share:.0%} of runs")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("zip", nargs="?", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--sizes", type=float, nargs="+", default=[150.0, 50.0])
    parser.add_argument("--calibrated", action="store_true", help="only the calibrated p-values part")
    parser.add_argument("--null-runs", type=int, default=100)
    args = parser.parse_args()
    if args.calibrated:
        calibrated(args.zip, 250.0, args.null_runs)
        return
    crimes = load_crimes(args.zip)
    area = datasets.force_area("Bedfordshire")
    for cell in args.sizes:
        bench(crimes, area, cell, w_object=cell >= 100)


if __name__ == "__main__":
    main()
