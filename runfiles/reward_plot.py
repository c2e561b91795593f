"""The reward plot PNG: episode returns, their moving mean over 10, successes marked, and the
evaluations without noise (the policy's mean return on the fixed starts, the nominal policy's on
the same starts as a reference).

matplotlib's object API on the Agg canvas (no pyplot, no display); one Figure is kept and only
its data is replaced, so a refresh costs one draw. The legend sits under the axes, where it can
hide no point. Written atomically.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from safe_io.atomic import atomic_write_bytes


def moving_mean(values: np.ndarray, k: int = 10) -> np.ndarray:
    """Mean of the last k values at each point (fewer at the start)."""
    c = np.cumsum(np.insert(np.asarray(values, dtype=np.float64), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - k)
    return (c[idx] - c[lo]) / (idx - lo)


class RewardPlot:
    def __init__(self, path: str | Path, title: str) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.path = Path(path)
        self.fig = Figure(figsize=(8, 5.0), dpi=100)
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_subplot(1, 1, 1)
        ax = self.ax
        (self.raw,) = ax.plot([], [], color="0.6", lw=0.8, label="episode return (training agent, with noise)")
        (self.mean,) = ax.plot([], [], color="tab:blue", lw=2.0, label="moving mean (10)")
        (self.hits,) = ax.plot([], [], "o", color="tab:green", ms=4, label="reached the goal")
        (self.evals,) = ax.plot([], [], "s-", color="tab:orange", ms=5, lw=1.4,
                                label="evaluation: mean return, no noise, fixed starts")
        (self.nominal,) = ax.plot([], [], "--", color="k", lw=1.0, label="nominal policy on the same starts")
        ax.set_xlabel("episode")
        ax.set_ylabel("return (scaled reward)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        self.fig.legend(handles=[self.raw, self.mean, self.hits, self.evals, self.nominal], loc="lower center",
                        ncol=2, fontsize=8, frameon=False)
        self.fig.tight_layout(rect=(0, 0.12, 1, 1))  # the legend's two rows under the axes

    def update(self, returns: np.ndarray, successes: np.ndarray, first_episode: int = 1,
               evaluations: np.ndarray | None = None) -> Path:
        """Plot the returns and `evaluations` (rows of episode, mean return, the nominal's mean
        return); a NaN or inf among them (nothing should put one there) is left out of the plot
        rather than failing it."""
        returns = np.asarray(returns, dtype=np.float64)
        x = np.arange(first_episode, first_episode + len(returns))
        finite = np.isfinite(returns)
        ok = np.asarray(successes, dtype=bool)
        if len(ok) != len(returns):
            ok = np.zeros(len(returns), dtype=bool)
        if not finite.all():
            x, returns, ok = x[finite], returns[finite], ok[finite]
        self.raw.set_data(x, returns)
        self.mean.set_data(x, moving_mean(returns))
        self.hits.set_data(x[ok], returns[ok])
        ev = np.zeros((0, 3)) if evaluations is None else np.asarray(evaluations, dtype=np.float64).reshape(-1, 3)
        shown = ev[np.isfinite(ev[:, 1])]
        self.evals.set_data(shown[:, 0], shown[:, 1])
        nominal = ev[np.isfinite(ev[:, 2])]
        self.nominal.set_data(nominal[:, 0], nominal[:, 2])
        ys = np.concatenate([returns, shown[:, 1], nominal[:, 2]])
        xs = np.concatenate([x, shown[:, 0], nominal[:, 0]])
        if len(ys):
            lo, hi = float(ys.min()), float(ys.max())
            pad = 0.05 * (hi - lo) or 1.0
            self.ax.set_xlim(xs.min() - 0.5, xs.max() + 0.5)
            self.ax.set_ylim(lo - pad, hi + pad)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        return atomic_write_bytes(self.path, buf.getvalue())
