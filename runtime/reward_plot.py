"""The reward plot PNG: episode returns, their moving mean over 10, successes marked.

matplotlib's object API on the Agg canvas (no pyplot, no display); one Figure is kept and only
its data is replaced, so a refresh costs one draw. Written atomically.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from runtime.atomic import atomic_write_bytes


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
        self.fig = Figure(figsize=(8, 4.5), dpi=100)
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_subplot(1, 1, 1)
        ax = self.ax
        (self.raw,) = ax.plot([], [], color="0.6", lw=0.8, label="episode return")
        (self.mean,) = ax.plot([], [], color="tab:blue", lw=2.0, label="moving mean (10)")
        (self.hits,) = ax.plot([], [], "o", color="tab:green", ms=4, label="reached the goal")
        ax.set_xlabel("episode")
        ax.set_ylabel("return (scaled reward)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        self.fig.tight_layout()

    def update(self, returns: np.ndarray, successes: np.ndarray, first_episode: int = 1) -> Path:
        """Plot the returns; a NaN or inf among them (nothing should put one there) is left out of
        the plot rather than failing it."""
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
        if len(returns):
            lo, hi = float(returns.min()), float(returns.max())
            pad = 0.05 * (hi - lo) or 1.0
            self.ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
            self.ax.set_ylim(lo - pad, hi + pad)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        return atomic_write_bytes(self.path, buf.getvalue())
