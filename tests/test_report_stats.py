"""The report's statistics: IQM, quartiles and the stratified bootstrap, by hand and against rliable."""
from __future__ import annotations

import numpy as np
import pytest

from report.metrics import band, moving_mean
from report.stats import iqm, quartiles, stratified_bootstrap_ci


def test_iqm_by_hand():
    assert iqm(np.arange(1, 9)) == 4.5  # drop 1, 2 and 7, 8: mean of 3, 4, 5, 6
    assert iqm(np.array([0.0, 1.0, 2.0, 100.0])) == 1.5  # the outlier is trimmed
    assert iqm(np.array([1.0, 2.0, 3.0])) == 2.0  # floor(3 / 4) = 0 trimmed: the mean
    assert iqm(np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0], [4.0, 8.0]])) == 4.5  # runs x tasks pooled
    assert iqm([np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0, 6.0, 7.0, 8.0])]) == 4.5  # ragged tasks


def test_quartiles_by_hand_and_nans_ignored():
    assert quartiles(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == (2.0, 3.0, 4.0)
    assert quartiles(np.array([1.0, np.nan, 3.0])) == (1.5, 2.0, 2.5)
    assert all(np.isnan(quartiles(np.array([np.nan]))))


def test_iqm_matches_rliable():
    from rliable import metrics

    rng = np.random.default_rng(0)
    for shape in ((10, 1), (7, 3), (4, 5), (25, 2)):
        s = rng.normal(size=shape)
        assert iqm(s) == pytest.approx(metrics.aggregate_iqm(s), abs=1e-12)


@pytest.mark.filterwarnings("ignore:random_state is deprecated:FutureWarning")  # inside rliable's arch
@pytest.mark.parametrize("shape", [(10, 1), (6, 3)])
def test_stratified_bootstrap_interval_matches_rliable(shape):
    from rliable import library, metrics

    s = np.random.default_rng(shape[1]).gamma(2.0, size=shape)
    point, lo, hi = stratified_bootstrap_ci(s, "iqm", reps=10_000, rng=1)
    points, cis = library.get_interval_estimates({"x": s}, lambda x: np.array([metrics.aggregate_iqm(x)]),
                                                 reps=10_000, random_state=np.random.RandomState(2))
    assert point == pytest.approx(points["x"][0], abs=1e-12)
    spread = s.max() - s.min()  # two independent Monte Carlo estimates of the same percentiles
    assert lo == pytest.approx(cis["x"][0, 0], abs=0.04 * spread)
    assert hi == pytest.approx(cis["x"][1, 0], abs=0.04 * spread)
    assert lo < point < hi


def test_the_bootstrap_never_mixes_tasks():
    # task A's runs are all 0, task B's all 10: every replicate has 3 zeros and 3 tens, so its IQM is 5
    s = np.array([[0.0, 10.0], [0.0, 10.0], [0.0, 10.0]])
    assert stratified_bootstrap_ci(s, "iqm", reps=2000, rng=0) == (5.0, 5.0, 5.0)
    # unstratified (one pooled task) the replicates vary
    _, lo, hi = stratified_bootstrap_ci([s.reshape(-1)], "iqm", reps=2000, rng=0)
    assert lo < 5.0 < hi


def test_a_wider_confidence_gives_a_wider_interval_and_a_seed_repeats():
    s = np.random.default_rng(5).normal(size=(12, 1))
    _, lo90, hi90 = stratified_bootstrap_ci(s, "median", confidence=0.9, reps=5000, rng=3)
    _, lo99, hi99 = stratified_bootstrap_ci(s, "median", confidence=0.99, reps=5000, rng=3)
    assert lo99 <= lo90 < hi90 <= hi99
    assert stratified_bootstrap_ci(s, reps=3000, rng=7) == stratified_bootstrap_ci(s, reps=3000, rng=7)


def test_moving_mean_and_band_by_hand():
    np.testing.assert_allclose(moving_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(moving_mean(np.array([np.nan, 2.0, np.nan, 4.0]), 2), [np.nan, 2.0, 2.0, 4.0])
    b = band([np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([2.0, 6.0]), np.array([3.0, 3.0])],
             np.array([1.0, 2.0]))
    np.testing.assert_allclose(b.median, [1.5, 2.5])
    np.testing.assert_allclose(b.q25, [0.75, 1.75])
    np.testing.assert_allclose(b.q75, [2.25, 3.75])
    assert b.runs == 4
