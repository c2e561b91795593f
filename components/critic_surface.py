"""CriticSurface: the critic sampled on a G x G grid of states, the cached data the view and heights use.

HeatmapSystem refreshes it every `heatmap_update_freq` training steps (one batched forward for the
whole grid); HeightSystem and TrailBatchSystem interpolate it every frame; the render layer draws
it. `version` goes up on every refresh, so readers redo their work only then.
"""
from __future__ import annotations

import math
import weakref

import numpy as np


class CriticSurface:
    """Grid axes, Q on the grid, the normalised heights and colours drawn, and refresh bookkeeping.

    Index [i, j] is the state whose first surface coordinate is `axis[i]` (x -> world X) and whose
    second is `axis[j]` (v, or y for differential drive -> world Z).
    """

    def __init__(self, size: int, lo: float, hi: float, height_epsilon: float) -> None:
        if size < 2 or not hi > lo:
            raise ValueError(f"need size >= 2 and hi > lo, got size={size}, lo={lo}, hi={hi}")
        self.size = int(size)
        self.lo = float(lo)
        self.hi = float(hi)
        self.axis = np.linspace(self.lo, self.hi, self.size)
        self.q = np.zeros((self.size, self.size))
        self.heights = np.full((self.size, self.size), float(height_epsilon))
        self.normalised = np.zeros((self.size, self.size))  # heights before scaling, in [0, 1]
        self.colors = np.zeros((self.size, self.size, 4), dtype=np.float32)
        self.q2_min_ema = math.nan  # exponential moving averages of the grid's q^2 extremes
        self.q2_max_ema = math.nan
        self.version = 0  # refreshes so far; 0 = never computed (flat surface)
        self.refreshed_steps = 0  # TrainingStats.total_steps at the last refresh
        self.refreshed_net_version = -1  # Networks.version at the last refresh
        self.refreshed_net = None  # weakref to the Networks object used (a replaced object forces a refresh)
        self.force = False  # set to refresh on the next frame (e.g. after loading weights)

    def refreshed_with(self, nets: object) -> bool:
        """True if the last refresh used this very Networks object."""
        return self.refreshed_net is not None and self.refreshed_net() is nets

    def remember_networks(self, nets: object) -> None:
        self.refreshed_net = weakref.ref(nets)

    @property
    def cell(self) -> float:
        return (self.hi - self.lo) / (self.size - 1)

    def grid_points(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) coordinates of every node, each (G, G), indexed [i, j]."""
        return np.meshgrid(self.axis, self.axis, indexing="ij")

    @property
    def q_range(self) -> tuple[float, float]:
        """Smallest and largest finite Q on the grid (NaN, NaN when there is none)."""
        finite = self.q[np.isfinite(self.q)]
        return (float(finite.min()), float(finite.max())) if finite.size else (math.nan, math.nan)
