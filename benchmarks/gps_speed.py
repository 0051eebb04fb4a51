"""GPS dosage speed: 1,000,000 SIMULATED pings from CSV to visits, against a geopandas peer.

Run: ``python benchmarks/gps_speed.py [n_pings]``

Simulates ``n`` pings (default 1,000,000) from 100 radios pinging every 30 s over Bedfordshire:
each radio walks a random track between the 21 Op Rowan-style areas (bundled LSOAs) and the rest of
the county, so about a fifth of the pings fall inside an area. Times, best of 3 (imports and the
simulation excluded):

* read: ``read_ping_csv`` of the CSV (text columns);
* clean: ``clean_pings`` (timestamps, coordinates, force-area check, duplicates, speed);
* visits: ``officer_visits`` + ``patrol_visits`` on the 21 areas, and on all 381 LSOAs;
* peer: ``geopandas.sjoin`` (points built from x/y, STRtree, ``intersects``) for the
  point-in-polygon step alone, on the same 381 LSOAs.

Target (issue 6): 1M pings processed (read + clean + visits) in < 10 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gripkit import datasets
from gripkit.dosage import clean_pings, locate, officer_visits, patrol_visits, read_ping_csv


def simulate(n: int, lsoa: gpd.GeoDataFrame, seed: int = 0) -> pd.DataFrame:
    """Random-walk tracks of 100 radios (30 s pings, ~1.2 m/s) with dwell spells inside areas."""
    rng = np.random.default_rng(seed)
    radios = 100
    per = n // radios
    centres = lsoa.head(21).geometry.representative_point()
    cx, cy = centres.x.to_numpy(), centres.y.to_numpy()
    frames = []
    for r in range(radios):
        target = rng.integers(0, 21, size=per // 60 + 1).repeat(60)[:per]  # a new area every 30 min
        inside = rng.random(per // 60 + 1).repeat(60)[:per] < 0.2
        jitter = rng.normal(0, 40, size=(per, 2))
        away = rng.normal(0, 3000, size=(per // 60 + 1, 2)).repeat(60, axis=0)[:per]
        x = cx[target] + np.where(inside, 0, away[:, 0]) + jitter[:, 0]
        y = cy[target] + np.where(inside, 0, away[:, 1]) + jitter[:, 1]
        t = pd.Timestamp("2024-05-01 06:00") + pd.to_timedelta(np.arange(per) * 30, unit="s")
        frames.append(
            pd.DataFrame(
                {
                    "radio": f"R{r:03d}",
                    "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "easting": x.round(1),
                    "northing": y.round(1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def best_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    lsoa = datasets.bedfordshire_lsoa().rename(columns={"lsoa11cd": "area_id"})
    rowan = lsoa.head(21)
    force = datasets.force_area("Bedfordshire")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pings.csv"
        simulate(n, lsoa).to_csv(path, index=False)
        t_read, raw = best_of(3, lambda: read_ping_csv(path))
    t_clean, (clean, bad) = best_of(3, lambda: clean_pings(raw, area=force, now=pd.Timestamp("2025-01-01")))
    t_21, v21 = best_of(3, lambda: patrol_visits(officer_visits(clean, rowan)))
    t_381, v381 = best_of(3, lambda: patrol_visits(officer_visits(clean, lsoa)))
    x, y = clean["x"].to_numpy(), clean["y"].to_numpy()
    t_locate, pairs = best_of(3, lambda: locate(x, y, lsoa))

    def peer() -> gpd.GeoDataFrame:
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=lsoa.crs)
        return gpd.sjoin(points, lsoa[["area_id", "geometry"]], predicate="intersects")

    t_peer, joined = best_of(3, peer)
    assert len(joined) == len(pairs[0]), "locate and sjoin disagree"
    total = t_read + t_clean + t_21
    print(f"pings: {len(raw):,} read, {len(clean):,} clean, {len(bad):,} quarantined")
    print(f"read CSV            {t_read:6.2f} s")
    print(f"clean               {t_clean:6.2f} s")
    print(f"visits, 21 areas    {t_21:6.2f} s  ({len(v21):,} patrol visits)")
    print(f"visits, 381 LSOAs   {t_381:6.2f} s  ({len(v381):,} patrol visits)")
    print(f"total (21 areas)    {total:6.2f} s  target < 10 s: {'OK' if total < 10 else 'MISSED'}")
    print(
        f"point in polygon, 381 LSOAs: gripkit locate {t_locate:.2f} s vs geopandas sjoin {t_peer:.2f} s "
        f"(ratio {t_peer / t_locate:.1f}x)"
    )


if __name__ == "__main__":
    main()
