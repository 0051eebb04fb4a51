"""hotspots.kde / dual_kde: hand-calculated kernels, real Bedfordshire data against exact sums
(scipy.stats.gaussian_kde; a cKDTree direct sum written here), mass, weights, bad inputs."""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree
from scipy.stats import gaussian_kde

from gripkit.errors import InputError
from gripkit.hotspots import dual_kde
from gripkit.hotspots.kde import _dual_kde, _kde, kde
from gripkit.units import GridUnits

A200 = 3 / (math.pi * 200**2)  # quartic peak 3/(pi h^2) for h = 200 m
# 5 x 5 grid of 100 m cells; its centre cell g2_2 has its centre at (250, 250)
GRID5 = GridUnits(100, (0, 0, 499, 499))
CENTRE = pd.DataFrame({"x": [250.0], "y": [250.0]})


@pytest.fixture(scope="module")
def area_grid(bedfordshire_area) -> GridUnits:
    """100 m cells over the Bedfordshire force area's bounding box (378 x 578)."""
    return GridUnits(100, bedfordshire_area.total_bounds)


def _by_id(frame: pd.DataFrame, column: str) -> dict[str, float]:
    return dict(zip(frame["unit_id"].astype(str), frame[column].to_numpy(dtype=float), strict=True))


class IsotropicKDE(gaussian_kde):
    """scipy's exact Gaussian KDE with covariance h^2 I.

    gaussian_kde normally uses the data covariance times a factor^2; overriding
    ``_compute_covariance`` (which sets ``covariance``, ``cho_cov`` and ``log_det``) makes every
    kernel an isotropic Gaussian of standard deviation h, the kernel gripkit's "gaussian" uses.
    """

    def __init__(self, dataset: np.ndarray, h: float) -> None:
        self._h = h
        super().__init__(dataset)

    def _compute_covariance(self) -> None:
        h = self._h
        self.factor = 1.0
        self._data_covariance = self.covariance = np.eye(2) * h * h
        self._data_cho_cov = self.cho_cov = np.eye(2) * h
        self.log_det = 2 * 2 * np.log(h * np.sqrt(2 * np.pi))


def test_isotropic_reference_is_the_gaussian_kernel() -> None:
    # three points (scipy needs more points than dimensions) at (0, 0), (100, 0), (0, 100); at the
    # origin with h = 50 m: (1 + 2 exp(-2)) / (2 pi 50^2) / 3 (gaussian_kde averages over points)
    ref = IsotropicKDE(np.array([[0.0, 100.0, 0.0], [0.0, 0.0, 100.0]]), 50.0)
    expected = (1 + 2 * math.exp(-2)) / (2 * math.pi * 2500) / 3
    assert ref(np.array([[0.0], [0.0]]))[0] == pytest.approx(expected)


def test_hand_quartic_and_gaussian_single_point() -> None:
    # the point sits on the centre of g2_2, a lattice node, so binning is exact: the densities are
    # the kernel at the offsets 0, 100 m (sides) and 141.4 m (diagonals), 200 m (h: zero)
    out, attrs = _kde(CENTRE, GRID5, bandwidth=200, oversample=1)
    assert not out.attrs  # the record goes to the job's meta, never into DataFrame.attrs
    d = _by_id(out, "density")
    assert d["g2_2"] == pytest.approx(A200)
    assert d["g3_2"] == pytest.approx(A200 * (1 - 100**2 / 200**2) ** 2)  # 0.5625 A
    assert d["g3_3"] == pytest.approx(A200 * (1 - 20_000 / 200**2) ** 2)  # 0.25 A
    assert d["g4_2"] == pytest.approx(0.0, abs=1e-20)  # d = h: outside the support
    assert out["density_share"].sum() == pytest.approx(1.0)
    gauss = _by_id(kde(CENTRE, GRID5, bandwidth=100, kernel="gaussian", oversample=1), "density")
    peak = 1 / (2 * math.pi * 100**2)
    assert gauss["g2_2"] == pytest.approx(peak)
    assert gauss["g4_3"] == pytest.approx(peak * math.exp(-(200**2 + 100**2) / (2 * 100**2)))
    assert attrs["kernel"] == "quartic" and attrs["bandwidth_m"] == 200.0
    assert attrs["bandwidth_auto"] is False and attrs["cell_size_m"] == 100.0
    assert attrs["n_points"] == 1 and attrs["n_outside_grid"] == 0 and attrs["weights"] is None
    assert list(out.columns) == ["unit_id", "area_m2", "geometry", "density", "density_share"]


def test_gaussian_matches_scipy_on_real_points(bedfordshire_crimes, area_grid) -> None:
    crimes = bedfordshire_crimes(12)
    rng = np.random.default_rng(7)
    sample = crimes.iloc[rng.choice(len(crimes), 20_000, replace=False)]
    units = area_grid
    h = 500.0
    # oversample 5: binning_error_bound = (100/5)^2 / (4 * 500^2) = 4e-4
    out, info = _kde(sample, units, bandwidth=h, kernel="gaussian", oversample=5)
    assert info["binning_error_bound"] == pytest.approx(4e-4)
    density = out["density"].to_numpy()
    cells = np.flatnonzero(density > 0.01 * density.max())
    cells = rng.choice(cells, 1000, replace=False)
    centres = out.geometry.iloc[cells].centroid
    exact = IsotropicKDE(sample[["x", "y"]].to_numpy().T, h)(np.vstack([centres.x, centres.y]))
    exact *= len(sample)  # gaussian_kde divides by the total weight; gripkit's density does not
    rel = np.abs(density[cells] - exact) / exact
    assert rel.max() < 1e-3


def _quartic_direct(px: np.ndarray, py: np.ndarray, cx: np.ndarray, cy: np.ndarray, h: float, r: float):
    """Exact quartic sum at each (cx, cy) and the number of points within r, via cKDTree."""
    tree = cKDTree(np.column_stack([px, py]))
    near = tree.query_ball_point(np.column_stack([cx, cy]), h)
    reach = tree.query_ball_point(np.column_stack([cx, cy]), r, return_length=True)
    exact = np.empty(len(cx))
    for i, idx in enumerate(near):
        d2 = (px[idx] - cx[i]) ** 2 + (py[idx] - cy[i]) ** 2
        exact[i] = np.sum(3 / (math.pi * h * h) * (1 - d2 / (h * h)) ** 2)
    return exact, reach


@pytest.mark.parametrize("oversample", [1, None])
def test_quartic_matches_direct_sum(bedfordshire_crimes, area_grid, oversample) -> None:
    crimes = bedfordshire_crimes(3)
    rng = np.random.default_rng(11)
    sample = crimes.iloc[rng.choice(len(crimes), 3000, replace=False)]
    units = area_grid
    h = 300.0
    out, info = _kde(sample, units, bandwidth=h, oversample=oversample)
    step = 100.0 / info["oversample"]
    assert info["binning_error_bound"] == pytest.approx(2 * (step / h) ** 2)
    density = out["density"].to_numpy()
    cells = rng.choice(len(out), 1000, replace=False)
    centres = out.geometry.iloc[cells].centroid
    px, py = sample["x"].to_numpy(), sample["y"].to_numpy()
    exact, reach = _quartic_direct(px, py, centres.x.to_numpy(), centres.y.to_numpy(), h, h + step * 2**0.5)
    # the stated bound (module docstring): |error| <= C (d/h)^2 K(0) x (points within h + d sqrt 2)
    bound = info["binning_error_bound"] * 3 / (math.pi * h * h) * reach
    assert np.all(np.abs(density[cells] - exact) <= bound + 1e-15)
    if oversample is None:  # automatic k = 5: bound 2 (20/300)^2 = 0.0089 <= 1%
        assert info["oversample"] == 5
        big = exact > 0.05 * exact.max()
        assert np.median(np.abs(density[cells][big] - exact[big]) / exact[big]) < 2e-3


def test_mass_conservation(bedfordshire_crimes, bedfordshire_area) -> None:
    crimes = bedfordshire_crimes(3)
    xmin, ymin, xmax, ymax = bedfordshire_area.total_bounds
    crimes = crimes[crimes.x.between(xmin, xmax) & crimes.y.between(ymin, ymax)]
    h = 300.0
    # Gaussian: grid over the points padded by 6 h (the truncation radius). Linear binning keeps every
    # point's weight; the lattice sum of a Gaussian of sd 3 cells differs from 1 by 2 exp(-2 pi^2 9)
    # per axis (Poisson summation), the 6-sd truncation loses < 4 x 1e-9: rtol 1e-6 covers both.
    pad = 6 * h
    units = GridUnits(100, (xmin - pad, ymin - pad, xmax + pad, ymax + pad))
    out = kde(crimes, units, bandwidth=h, kernel="gaussian", oversample=1)
    mass = float((out["density"] * out["area_m2"]).sum())
    assert mass == pytest.approx(len(crimes), rel=1e-6)
    # Quartic: every binned node's kernel sums over the lattice to the same S = sum K(i, j) 100^2,
    # so the mass is exactly len(crimes) x S (S computed here from the formula, not by gripkit)
    grid = np.arange(-3, 4) * 100.0
    d2 = grid[:, None] ** 2 + grid[None, :] ** 2
    s = float(np.sum(3 / (math.pi * h * h) * np.clip(1 - d2 / (h * h), 0, None) ** 2) * 100**2)
    out = kde(crimes, GridUnits(100, (xmin - h, ymin - h, xmax + h, ymax + h)), bandwidth=h, oversample=1)
    assert float((out["density"] * out["area_m2"]).sum()) == pytest.approx(len(crimes) * s, rel=1e-9)
    assert s == pytest.approx(1.0, abs=0.02)  # a Riemann sum of a kernel integrating to 1


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(500_000, 501_000, allow_nan=False),
            st.floats(200_000, 201_000, allow_nan=False),
            st.floats(0.5, 400, allow_nan=False),
        ),
        min_size=2,
        max_size=8,
    ),
    st.integers(0, 7),
)
def test_doubling_a_weight_doubles_its_contribution(points, which) -> None:
    which %= len(points)
    frame = pd.DataFrame(points, columns=["x", "y", "harm"])
    units = GridUnits(50, (499_800, 199_800, 501_200, 201_200))
    before = kde(frame, units, bandwidth=150, weights="harm")["density"].to_numpy()
    doubled = frame.copy()
    doubled.loc[which, "harm"] *= 2
    after = kde(doubled, units, bandwidth=150, weights="harm")["density"].to_numpy()
    alone = kde(frame.iloc[[which]], units, bandwidth=150, weights="harm")["density"].to_numpy()
    # linear in the weights: the increase is the point's own surface at its (original) weight
    np.testing.assert_allclose(after - before, alone, rtol=0, atol=1e-9 * after.max())


def test_dual_kde_hand_case() -> None:
    # numerator: 2 crimes at the centre of g2_2; denominator: 40 people there -> ratio 2/40 wherever
    # the people's density is above the floor; h = 200: zero at the cells 200 m away
    crimes = pd.concat([CENTRE, CENTRE], ignore_index=True)
    people = CENTRE.assign(population=40.0)
    args = {"bandwidth": 200, "denominator_weights": "population", "oversample": 1}
    out, meta = _dual_kde(crimes, people, GRID5, **args)
    pd.testing.assert_frame_equal(out, dual_kde(crimes, people, GRID5, **args))
    ratio = _by_id(out, "ratio")
    for cell in ("g2_2", "g3_2", "g3_3"):  # densities A, 0.5625 A, 0.25 A: all above 1% of A
        assert ratio[cell] == pytest.approx(0.05)
    assert math.isnan(ratio["g4_2"])  # denominator density 0 < floor 0.01 x 40 A
    assert meta["dual_kde"]["min_denominator"] == pytest.approx(0.01 * 40 * A200)
    # a floor of 0.5 x 40 A keeps g2_2 (A) and g3_2 (0.5625 A) and drops g3_3 (0.25 A)
    floor = 0.5 * 40 * A200
    strict = _by_id(
        dual_kde(
            crimes, people, GRID5, bandwidth=200, denominator_weights="population", min_denominator=floor
        ),
        "ratio",
    )
    assert strict["g3_2"] == pytest.approx(0.05) and math.isnan(strict["g3_3"])
    # this year / last year: 1 crime at (250, 250) now; last year 1 there and 1 at (350, 250).
    # At g2_2: A / (A + 0.5625 A) = 0.64; at g3_2 (centre 350, 250): 0.5625 A / (A + 0.5625 A) = 0.36
    last = pd.DataFrame({"x": [250.0, 350.0], "y": [250.0, 250.0]})
    change = _by_id(dual_kde(CENTRE, last, GRID5, bandwidth=200, oversample=1), "ratio")
    assert change["g2_2"] == pytest.approx(0.64) and change["g3_2"] == pytest.approx(0.36)


def test_auto_bandwidth_announced_and_stored(caplog) -> None:
    # ArcGIS rule on 4 points 1000 m from their mean centre: SD = Dm = 1000 m,
    # h = 0.9 x min(1000, 1000 / sqrt(ln 2)) x 4^-0.2 = 682.072 m (by hand)
    cross = pd.DataFrame({"x": [-1000.0, 1000.0, 0.0, 0.0], "y": [0.0, 0.0, -1000.0, 1000.0]})
    cross = cross + 300_000
    with caplog.at_level(logging.INFO, logger="gripkit"):
        _, info = _kde(cross, cell_size=100)
    assert info["bandwidth_auto"] is True
    assert info["bandwidth_m"] == pytest.approx(0.9 * 1000 * 4**-0.2)
    assert "KDE bandwidth 682 m chosen" in caplog.text
    # Gaussian: Scott's rule equals scipy's 'scott' kernel sd when both axes have the same variance
    square = pd.DataFrame({"x": [0.0, 2000.0, 0.0, 2000.0], "y": [0.0, 0.0, 2000.0, 2000.0]}) + 300_000
    h = _kde(square, cell_size=100, kernel="gaussian")[1]["bandwidth_m"]
    assert h == pytest.approx(math.sqrt(gaussian_kde(square.to_numpy().T).covariance[0, 0]))


def test_real_outputs_and_outside_count(bedfordshire_crimes, bedfordshire_area) -> None:
    crimes = bedfordshire_crimes(1)
    crimes["harm"] = np.where(crimes["crime_type"] == "Robbery", 365.0, 1.0)
    units = GridUnits(250, bedfordshire_area.total_bounds, area=bedfordshire_area)
    out, info = _kde(crimes, units, bandwidth=400, weights="harm")
    # points in no kept cell, counted independently by GridUnits.assign
    assert info["n_outside_grid"] == int(units.assign(crimes).isna().sum())
    assert info["total_weight"] == pytest.approx(crimes["harm"].sum())
    assert info["weights"] == "harm" and info["cell_size_m"] == 250.0
    assert out["density_share"].sum() == pytest.approx(1.0)
    assert (out["density"] >= -1e-15).all() and len(out) == len(units)
    assert crimes.columns.tolist()[-1] == "harm"  # input not modified beyond what the test added


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bandwidth": -5}, r"'bandwidth' must be > 0 metres; received -5"),
        ({"kernel": "epanechnikov"}, r"'kernel' must be one of quartic, gaussian; received 'epanechnikov'"),
        ({"weights": "harm"}, r"'weights' must name a column of crimes; received 'harm'"),
        ({"oversample": 2}, r"'oversample' must be an odd whole number >= 1; received 2"),
        ({"oversample": 4001}, r"'oversample' 4001 would bin on [\d,]+ lattice nodes"),
        ({"cell_size": 50}, r"'cell_size' 50 disagrees with the units' cell size 100"),
    ],
)
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        kde(CENTRE, GRID5, **{"bandwidth": 200, **kwargs})


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match=r"'cell_size' must be > 0 metres; received 0"):
        kde(CENTRE, cell_size=0, bandwidth=200)
    with pytest.raises(InputError, match=r"'crimes' has no rows"):
        kde(CENTRE.iloc[:0], GRID5, bandwidth=200)
    with pytest.raises(InputError, match=r"no finite x/y coordinates"):
        kde(pd.DataFrame({"x": [np.nan], "y": [np.nan]}), GRID5, bandwidth=200)
    lonlat = gpd.GeoDataFrame(
        {"x": [-0.4], "y": [52.1]}, geometry=gpd.points_from_xy([-0.4], [52.1]), crs="EPSG:4326"
    )
    with pytest.raises(InputError, match=r"geographic, degrees.*Reproject first"):
        kde(lonlat, GRID5, bandwidth=200)
    with pytest.raises(InputError, match=r"look like longitude/latitude degrees"):
        kde(pd.DataFrame({"x": [-0.4, -0.5], "y": [52.1, 52.2]}), GRID5, bandwidth=200)
    with pytest.raises(InputError, match=r"'units' must be GridUnits"):
        kde(CENTRE, "grid", bandwidth=200)  # type: ignore[arg-type]
    harm = CENTRE.assign(harm=[-1.0])
    with pytest.raises(InputError, match=r"must hold finite values >= 0; received 1"):
        kde(harm, GRID5, bandwidth=200, weights="harm")
    with pytest.raises(InputError, match=r"sums to 0"):
        kde(CENTRE.assign(harm=[0.0]), GRID5, bandwidth=200, weights="harm")
    with pytest.raises(InputError, match=r"cannot choose a bandwidth"):
        kde(pd.concat([CENTRE] * 3), GRID5)
    with pytest.raises(InputError, match=r"'min_denominator' must be > 0"):
        dual_kde(CENTRE, CENTRE, GRID5, bandwidth=200, min_denominator=-1)
