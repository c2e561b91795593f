"""What the report measures in a run: final scores (one number per run) and learning curves.

Final scores come from the run's evaluations (eval.csv, the last one: the same fixed starts for
every policy) when it has them, else from its last `last` training episodes (episodes.csv).
Curves are per run and then summarised across the runs of a group: the median and the
interquartile band (25th to 75th percentile) at every point.
"""
from __future__ import annotations

import math

import numpy as np
from attrs import define

from report.load import Run
from report.stats import quartiles

#: final scores from training episodes: name -> (episodes.csv column or derived, title)
EPISODE_SCORES = {
    "success": "success rate, last {last} episodes",
    "return": "mean return, last {last} episodes",
    "length": "mean episode length, last {last} episodes",
    "certified_share": "certified share of filtered steps, last {last} episodes",
}
#: final scores from the last evaluation: eval.csv column -> title
EVAL_SCORES = {
    "success_rate": "evaluation success rate",
    "mean_return": "evaluation mean return",
    "return_gain": "return gain over the nominal",
    "certified_share": "evaluation certified share",
}
#: curves from episodes.csv (x: episode): name -> title
EPISODE_CURVES = {
    "success": "success rate (moving mean)",
    "return": "return (moving mean)",
    "certified_share": "certified share of filtered steps (moving mean)",
    "length": "episode length (moving mean)",
}
#: curves from eval.csv: (column, x column) -> title
EVAL_CURVES = {
    ("success_rate", "total_steps"): "evaluation success rate",
    ("mean_return", "total_steps"): "evaluation mean return",
    ("return_gain", "total_steps"): "return gain over the nominal",
    ("certified_share", "total_steps"): "evaluation certified share",
    ("certified_share", "wall_time"): "evaluation certified share",
}


def episode_series(run: Run, name: str) -> np.ndarray:
    """A per-episode series of a run: success (1/0) or a numeric column."""
    ep = run.episodes
    if name == "success":
        return (ep["outcome"] == "success").astype(float)
    return np.asarray(ep[name], float)


def _nanmean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def final_scores(run: Run, last: int) -> dict[str, float]:
    """name -> score: episode scores (prefix none) and, with evaluations, 'eval_' + column."""
    out = {name: _nanmean(episode_series(run, name)[-last:]) if len(run.episodes["episode"]) else math.nan
           for name in EPISODE_SCORES}
    for col in EVAL_SCORES:  # NaN for a run without evaluations (beside runs that have them)
        values = run.evals.get(col) if run.evals is not None else None
        out[f"eval_{col}"] = float(values[-1]) if values is not None and len(values) else math.nan
    return out


def moving_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to `window` values, NaNs skipped (NaN where the window has none)."""
    x = np.asarray(x, float)
    ok = np.isfinite(x)
    c = np.concatenate([[0.0], np.cumsum(np.where(ok, x, 0.0))])
    k = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(0, i - window)
    count = k[i] - k[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (c[i] - c[lo]) / np.maximum(count, 1), np.nan)


@define
class Band:
    """A summarised curve: x, and the median and quartiles across runs at each x."""

    x: np.ndarray
    median: np.ndarray
    q25: np.ndarray
    q75: np.ndarray
    runs: int


def band(curves: list[np.ndarray], x: np.ndarray) -> Band:
    """Median and interquartile band of curves that share `x` (NaNs ignored per point)."""
    stack = np.vstack(curves)
    with np.errstate(all="ignore"):
        q = np.array([quartiles(stack[:, j]) for j in range(stack.shape[1])]).reshape(-1, 3)
    return Band(x, q[:, 1], q[:, 0], q[:, 2], len(curves))


def episode_band(runs: list[Run], name: str, window: int) -> Band | None:
    """The curve over episodes 1..L, L the shortest run's episode count."""
    lengths = [len(r.episodes["episode"]) for r in runs]
    if not lengths or min(lengths) == 0:
        return None
    n = min(lengths)
    curves = [moving_mean(episode_series(r, name), window)[:n] for r in runs]
    return band(curves, np.arange(1, n + 1, dtype=float))


def eval_band(runs: list[Run], column: str, x_column: str, points: int = 60) -> Band | None:
    """The curve of an evaluation column against total steps or wall time, on a grid over the x range
    every run covers (each run interpolated linearly between its evaluations)."""
    series = []
    for r in runs:
        if r.evals is None or column not in r.evals or x_column not in r.evals:
            continue
        x, y = np.asarray(r.evals[x_column], float), np.asarray(r.evals[column], float)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() >= 2:
            order = np.argsort(x[ok])
            series.append((x[ok][order], y[ok][order]))
    if not series:
        return None
    lo, hi = max(s[0][0] for s in series), min(s[0][-1] for s in series)
    if not hi > lo:
        return None
    grid = np.linspace(lo, hi, points)
    return band([np.interp(grid, x, y) for x, y in series], grid)
