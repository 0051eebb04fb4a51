"""WDQ by hand (Bowers & Johnson 2003 formula, docs/domain.md), buffers, counting crimes, figures."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gripkit.errors import InputError
from gripkit.evaluate import estimate_effect
from gripkit.evaluate.displacement import wdq, wdq_from_crimes
from gripkit.evaluate.figures import forest_plot, html_section, save_figure


def test_wdq_by_hand() -> None:
    # (D_a/C_a - D_b/C_b) / (R_a/C_a - R_b/C_b) = (30/100 - 20/100) / (50/100 - 100/100) = 0.1 / -0.5
    result = wdq(r_before=100, r_after=50, d_before=20, d_after=30, c_before=100, c_after=100)
    assert result.value == pytest.approx(-0.2) and result.verdict == "displacement"
    worse = wdq(r_before=100, r_after=90, d_before=20, d_after=60, c_before=100, c_after=100)
    assert worse.value == pytest.approx(-4.0) and worse.verdict == "displacement exceeding the benefit"
    none = wdq(r_before=50, r_after=60, d_before=20, d_after=30, c_before=100, c_after=100)
    assert none.verdict == "no success to displace"
    with pytest.raises(InputError, match="control area needs crimes"):
        wdq(r_before=1, r_after=1, d_before=1, d_after=1, c_before=0, c_after=1)


def test_wdq_from_points_by_hand() -> None:
    target = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:27700")
    control = gpd.GeoDataFrame(geometry=[shapely.box(1000, 0, 1100, 100)], crs="EPSG:27700")
    # before: 4 in target, 2 in the 100 m buffer, 4 in control; after: 2, 1, 4 (by hand)
    pts = (
        [(50, 50)] * 4 + [(150, 50)] * 2 + [(1050, 50)] * 4 + [(50, 50)] * 2 + [(150, 50)] + [(1050, 50)] * 4
    )
    months = ["2024-01-01"] * 10 + ["2024-03-01"] * 7
    crimes = pd.DataFrame({"x": [p[0] for p in pts], "y": [p[1] for p in pts], "month": months})
    result, zones = wdq_from_crimes(
        crimes,
        target=target,
        control=control,
        before=("2024-01-01", "2024-01-31"),
        after=("2024-03-01", "2024-03-31"),
    )
    assert result.counts["r_before"] == 4 and result.counts["d_after"] == 1
    assert result.value == pytest.approx((1 / 4 - 2 / 4) / (2 / 4 - 4 / 4))  # = 0.5, diffusion
    assert result.verdict == "diffusion of benefits" and list(zones["zone"]) == [
        "target",
        "buffer",
        "control",
    ]
    with pytest.raises(InputError, match="projected CRS"):
        wdq_from_crimes(
            crimes, target=target.to_crs(4326), control=control, before=("a", "b"), after=("c", "d")
        )


def test_wdq_counts_boundary_points_once_and_whole_end_days() -> None:
    """Points exactly on shared edges and timestamps on the last day, counted by hand.

    Target: the square 0..100 m; control: the square 200..300 m east of it, touching the 100 m
    buffer's outer edge at x = 200. A point on the target's edge is a target crime only, one on
    the buffer/control edge a control crime only, one exactly 100 m out a buffer crime; an end date
    "2024-01-31" includes 2024-01-31 23:59, and 2024-02-01 00:00 is outside.
    """
    target = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:27700")
    control = gpd.GeoDataFrame(geometry=[shapely.box(200, 0, 300, 100)], crs="EPSG:27700")
    rows = [
        # before (January): target 3 + 1 on its edge = 4; buffer 2 at 23:59 on the end day; control 1
        # on the buffer/control edge + 3 = 4; one on 1 February 00:00 is in no period
        *[(50, 50, "2024-01-10 12:00")] * 3,
        (100, 50, "2024-01-31 18:30"),
        *[(150, 50, "2024-01-31 23:59")] * 2,
        (200, 50, "2024-01-15 08:00"),
        *[(250, 50, "2024-01-05 10:00")] * 3,
        (50, 50, "2024-02-01 00:00"),
        # after (March): target 1 + the corner (0, 0) = 2; buffer 2 + one exactly 100 m out = 3;
        # control 4
        (50, 50, "2024-03-31 09:00"),
        (0, 0, "2024-03-02 10:00"),
        *[(-50, 50, "2024-03-03 10:00")] * 2,
        (-100, 50, "2024-03-31 23:00"),
        *[(250, 50, "2024-03-10 10:00")] * 4,
    ]
    crimes = pd.DataFrame(rows, columns=["x", "y", "occurred_at"])
    result, zones = wdq_from_crimes(
        crimes,
        target=target,
        control=control,
        before=("2024-01-01", "2024-01-31"),
        after=("2024-03-01", "2024-03-31"),
        time_column="occurred_at",
    )
    assert result.counts == {
        "r_before": 4,
        "r_after": 2,
        "d_before": 2,
        "d_after": 3,
        "c_before": 4,
        "c_after": 4,
    }
    # (3/4 - 2/4) / (2/4 - 4/4) = 0.25 / -0.5 = -0.5 by hand: displacement smaller than the benefit
    assert result.value == pytest.approx(-0.5) and result.verdict == "displacement"
    assert zones["before"].sum() == 10 and zones["after"].sum() == 9  # every in-period point once
    # harm-weighted: the boundary point's weight is also counted once (target 3 x 1 + 1 x 10 = 13)
    weighted, _ = wdq_from_crimes(
        crimes.assign(harm=[10.0 if (x, y) == (100, 50) else 1.0 for x, y, _ in rows]),
        target=target,
        control=control,
        before=("2024-01-01", "2024-01-31"),
        after=("2024-03-01", "2024-03-31"),
        time_column="occurred_at",
        weights="harm",
    )
    assert weighted.counts["r_before"] == 13 and weighted.counts["d_before"] == 2
    # an end with a time of day is an instant: 2024-01-31 12:00 drops the 18:30 and 23:59 crimes
    early, _ = wdq_from_crimes(
        crimes,
        target=target,
        control=control,
        before=("2024-01-01", "2024-01-31 12:00"),
        after=("2024-03-01", "2024-03-31"),
        time_column="occurred_at",
    )
    assert early.counts["r_before"] == 3 and early.counts["d_before"] == 0
    with pytest.raises(InputError, match="ends before it starts"):
        wdq_from_crimes(
            crimes,
            target=target,
            control=control,
            before=("2024-02-01", "2024-01-01"),
            after=("2024-03-01", "2024-03-31"),
            time_column="occurred_at",
        )


def test_figures_and_html(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "area_id": list("aabbcc"),
            "date": ["2024-01-01", "2024-01-02"] * 3,
            "treated": [1, 0, 0, 1, 1, 0],
            "count": [1, 3, 4, 2, 2, 5],
        }
    )
    effect = estimate_effect(frame, time_effects=False)
    png = save_figure(forest_plot([effect]), tmp_path / "forest.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    fragment = html_section(effects=[effect])
    assert (
        fragment.startswith('<section class="gripkit-evaluation">') and "data:image/png;base64," in fragment
    )
