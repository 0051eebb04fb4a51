"""adjust_pvalues: hand examples, statsmodels and scipy as references, properties, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import false_discovery_control
from statsmodels.stats.multitest import multipletests

from gripkit.errors import InputError
from gripkit.hotspots import adjust_pvalues

P4 = np.array([0.01, 0.04, 0.03, 0.20])


def test_hand_example_bh_holm_bonferroni() -> None:
    # sorted p: 0.01, 0.03, 0.04, 0.20 (n = 4)
    # BH: n p / rank = 0.04, 0.06, 0.0533, 0.20; running minimum from the top -> 0.04, 0.0533, 0.0533, 0.2
    assert adjust_pvalues(P4) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    # Holm: (n - rank + 1) p = 0.04, 0.09, 0.08, 0.20; running maximum -> 0.04, 0.09, 0.09, 0.20
    assert adjust_pvalues(P4, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.20])
    # Bonferroni: 4 p, capped at 1
    assert adjust_pvalues(P4, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.80])
    assert adjust_pvalues(P4, "none").tolist() == P4.tolist()


@pytest.mark.parametrize("method", ["fdr_bh", "holm", "bonferroni"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_statsmodels_on_random_pvalues(method: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a mix of signal (tiny p) and noise (uniform p), with ties and the ends 0 and 1
    p = np.concatenate([rng.uniform(0, 1, 800), rng.uniform(0, 1e-4, 150), [0.0, 1.0, 0.5, 0.5, 0.5]])
    rng.shuffle(p)
    expected = multipletests(p, alpha=0.05, method=method)[1]
    np.testing.assert_allclose(adjust_pvalues(p, method), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", [3, 4])
def test_bh_equals_scipy_false_discovery_control(seed: int) -> None:
    p = np.random.default_rng(seed).beta(0.3, 1.0, size=5_000)
    np.testing.assert_allclose(adjust_pvalues(p), false_discovery_control(p, method="bh"), rtol=1e-12)


def test_shape_kept_and_input_untouched() -> None:
    p = np.array([[0.01, 0.2], [0.03, 0.04]])
    before = p.copy()
    q = adjust_pvalues(p)
    assert q.shape == (2, 2)
    # same family as the flat P4 up to order: BH of (0.01, 0.2, 0.03, 0.04) by hand as above
    assert q.ravel() == pytest.approx([0.04, 0.2, 0.16 / 3, 0.16 / 3])
    assert (p == before).all()
    assert adjust_pvalues(p, "none") is not p
    assert adjust_pvalues([]).shape == (0,)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1)), st.sampled_from(["fdr_bh", "holm"]))
def test_properties(p: np.ndarray, method: str) -> None:
    q = adjust_pvalues(p, method)
    assert ((q >= p) & (q <= 1)).all()
    order = np.argsort(p, kind="mergesort")
    assert (np.diff(q[order]) >= 0).all()  # adjusting keeps the order of the p-values
    assert (adjust_pvalues(p, "bonferroni") >= adjust_pvalues(p, "holm")).all()


def test_unknown_method_names_the_choices() -> None:
    choices = r"'method' must be one of fdr_bh, holm, bonferroni, none; received 'bh'"
    with pytest.raises(InputError, match=choices):
        adjust_pvalues(P4, "bh")


@pytest.mark.parametrize(
    ("p", "match"),
    [
        ([0.1, float("nan")], r"1 value\(s\) outside it, e\.g\. nan"),
        ([0.1, 1.5, -0.2], r"2 value\(s\) outside it"),
        (["a", "b"], r"'p' must be an array of p-values"),
    ],
)
def test_bad_pvalues(p: list, match: str) -> None:
    with pytest.raises(InputError, match=match):
        adjust_pvalues(p)
