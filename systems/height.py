"""HeightSystem: every agent's height on the critic surface, by bilinear interpolation of the cached grid.

The vectorised kernel serves every agent in one pass. The per-agent loop is the same formula in
plain Python: the test oracle, and the baseline path when `visual.use_vectorized_heights` is off
(so the performance study measures both in one process). Points outside the grid take the value
at the nearest edge (coordinates are clamped).
"""
from __future__ import annotations

import math

import numpy as np

from components.agent_table import AgentTable, ColumnSpec
from components.critic_surface import CriticSurface
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment


def bilinear(grid: np.ndarray, lo: float, hi: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """grid (G, G) sampled on [lo, hi]^2, interpolated at the points (a[k], b[k]); clamped at the edges."""
    g = grid.shape[0]
    scale = (g - 1) / (hi - lo)
    u = np.clip((np.asarray(a, dtype=np.float64) - lo) * scale, 0.0, g - 1)
    v = np.clip((np.asarray(b, dtype=np.float64) - lo) * scale, 0.0, g - 1)
    i0 = np.minimum(u.astype(np.int64), g - 2)  # u >= 0, so truncation is floor
    j0 = np.minimum(v.astype(np.int64), g - 2)
    fu = u - i0
    fv = v - j0
    g00 = grid[i0, j0]
    g10 = grid[i0 + 1, j0]
    g01 = grid[i0, j0 + 1]
    g11 = grid[i0 + 1, j0 + 1]
    return (g00 * (1.0 - fu) + g10 * fu) * (1.0 - fv) + (g01 * (1.0 - fu) + g11 * fu) * fv


def bilinear_loop(grid: np.ndarray, lo: float, hi: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same interpolation, one point at a time in plain Python (oracle and baseline)."""
    g = grid.shape[0]
    scale = (g - 1) / (hi - lo)
    out = np.empty(len(a))
    for k in range(len(a)):
        u = min(max((float(a[k]) - lo) * scale, 0.0), g - 1.0)
        v = min(max((float(b[k]) - lo) * scale, 0.0), g - 1.0)
        i0 = min(int(math.floor(u)), g - 2)
        j0 = min(int(math.floor(v)), g - 2)
        fu = u - i0
        fv = v - j0
        low = float(grid[i0, j0]) * (1.0 - fu) + float(grid[i0 + 1, j0]) * fu
        high = float(grid[i0, j0 + 1]) * (1.0 - fu) + float(grid[i0 + 1, j0 + 1]) * fu
        out[k] = low * (1.0 - fv) + high * fv
    return out


class HeightSystem(System):
    reads = ("state", "CriticSurface")
    writes = ("height",)

    def setup(self, world) -> None:  # noqa: ANN001
        world.resource(AgentTable).add_column(
            ColumnSpec("height", (), np.float64, 0.0, owner=self.name, doc="height of the critic surface under the agent")
        )
        self.axes = world.resource(Environment).surface_axes
        self.vectorized = world.resource(AppConfig).visual.use_vectorized_heights

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        if table.n == 0:
            return
        surface = world.resource(CriticSurface)
        state = table.state
        kernel = bilinear if self.vectorized else bilinear_loop
        table.height[:] = kernel(surface.heights, surface.lo, surface.hi, state[:, self.axes[0]], state[:, self.axes[1]])
