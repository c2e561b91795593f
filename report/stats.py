"""Aggregates over runs: median and interquartile range, the interquartile mean (IQM), and
stratified-bootstrap confidence intervals, the method rliable popularised for RL results.

- IQM: the mean of the middle half of all scores (runs x tasks pooled): from the sorted scores, drop
  floor(N / 4) at each end and average the rest (scipy.stats.trim_mean with 0.25, as rliable does).
  It is less thrown by one outlying seed than the mean, and uses more of the data than the median.
- Stratified bootstrap: each replicate draws, for every task separately, as many runs as that task
  has, with replacement; the statistic of each replicate gives the bootstrap distribution, whose
  2.5 % and 97.5 % percentiles are the 95 % interval (the percentile method). Tasks here are
  environments, so a run of one environment is never replaced by a run of another. Tasks may have
  different numbers of runs.

All of it is vectorised over replicates; tests/test_report_stats.py checks it against rliable.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]  # (replicates, scores) -> (replicates,)


def _pooled(scores: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    if isinstance(scores, np.ndarray):
        return scores.reshape(-1).astype(float)
    return np.concatenate([np.asarray(s, float).reshape(-1) for s in scores])


def iqm_rows(values: np.ndarray) -> np.ndarray:
    """IQM of each row of a (k, n) array."""
    n = values.shape[1]
    cut = int(0.25 * n)
    return np.sort(values, axis=1)[:, cut:n - cut].mean(axis=1)


def median_rows(values: np.ndarray) -> np.ndarray:
    return np.median(values, axis=1)


def mean_rows(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=1)


STATISTICS: dict[str, Statistic] = {"iqm": iqm_rows, "median": median_rows, "mean": mean_rows}


def iqm(scores: np.ndarray | Sequence[np.ndarray]) -> float:
    """Interquartile mean of all scores (a (runs, tasks) array, or one array of runs per task)."""
    x = _pooled(scores)
    return float(iqm_rows(x[None, :])[0]) if x.size else float("nan")


def quartiles(values: np.ndarray) -> tuple[float, float, float]:
    """(25th percentile, median, 75th percentile), NaNs ignored; NaNs when nothing is left."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if not x.size:
        return (float("nan"),) * 3
    q = np.percentile(x, [25, 50, 75])
    return float(q[0]), float(q[1]), float(q[2])


def stratified_bootstrap_ci(scores: np.ndarray | Sequence[np.ndarray], statistic: str | Statistic = "iqm", *,
                            reps: int = 10_000, confidence: float = 0.95,
                            rng: np.random.Generator | int | None = 0) -> tuple[float, float, float]:
    """(point estimate, lower, upper) of `statistic` over runs, resampling runs within each task.

    `scores` is a (runs, tasks) array or a list with one 1-D array of runs per task."""
    stat = STATISTICS[statistic] if isinstance(statistic, str) else statistic
    tasks = [scores[:, j] for j in range(scores.shape[1])] if isinstance(scores, np.ndarray) and scores.ndim == 2 \
        else [np.asarray(s, float).reshape(-1) for s in (scores if not isinstance(scores, np.ndarray) else [scores])]
    tasks = [np.asarray(t, float) for t in tasks if len(t)]
    if not tasks:
        return (float("nan"),) * 3
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    point = float(stat(np.concatenate(tasks)[None, :])[0])
    draws = [t[gen.integers(0, len(t), size=(reps, len(t)))] for t in tasks]
    replicates = stat(np.concatenate(draws, axis=1))
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(replicates, [100 * alpha, 100 * (1 - alpha)])
    return point, float(lo), float(hi)
