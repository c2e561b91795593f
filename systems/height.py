"""HeightSystem: every agent's height on the critic surface, by bilinear interpolation of the cached grid.

The vectorised kernel (BilinearSampler: tables built once per surface refresh, then four numpy calls
for all agents) serves every agent in one pass. The per-agent loop is the same formula in
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


try:  # numpy's compiled kernel behind np.interp: the public wrapper costs more than the work at small N
    from numpy._core.multiarray import interp_complex as _interp_complex
except ImportError:  # pragma: no cover - numpy 1.x keeps it in numpy.core, older ones only publicly
    try:
        from numpy.core.multiarray import interp_complex as _interp_complex
    except ImportError:
        _interp_complex = np.interp


class BilinearSampler:
    """Bilinear interpolation of one grid (G, G) sampled on [lo, hi]^2, clamped at the edges, in four numpy calls.

    Why this shape: at tens of agents a numpy kernel is bound by its number of calls (most of a
    microsecond each on these machines), not by arithmetic; the gather kernel this replaced made
    about 25 (np.clip's Python wrapper, 2-D fancy indexing). Here the tables are built once per
    grid (HeightSystem rebuilds them when the surface is refreshed) and a query is two 1-D
    lookups in numpy's compiled `interp`, an add and a multiply, whatever N is:

      1. b -> P (j0 + 1) + i fv: the column of b's cell (times the pitch P) and the fraction in the
         cell, one complex `interp` over the cell boundaries (each inner boundary doubled with its
         float successor, so the lookup is a step in j0 and a sawtooth in fv; clamped outside);
      2. x = a + P (j0 + 1) puts a on column j0's segment of one long axis where the grid's
         columns lie side by side at pitch P, each with a constant guard node MARGIN grid widths
         beyond both edges, so the table clamps a at the grid's edges;
      3. one complex `interp` there gives A' - iD: column j0 at a divided by P (j0 + 1), and the
         next column minus this one (negated);
      4. h = Re((A' - iD) (P (j0 + 1) + i fv)) = A + fv D, one complex multiply.

    Equal to the per-agent loop within rounding (5e-11 on a 21 x 21 grid of unit noise, 2e-8 on a
    513 x 513 one). `b` is clamped at any distance; `a` only within MARGIN grid widths of the
    grid: HeightSystem passes the position coordinate there, which the environment's boundary
    test keeps inside the grid. `bilinear()` clamps `a` first and has no such limit.
    """

    MARGIN = 100.0  # grid widths; a longer axis would cost precision

    def __init__(self, grid: np.ndarray, lo: float, hi: float) -> None:
        grid = np.asarray(grid, dtype=np.float64)
        g = grid.shape[0]
        if grid.shape != (g, g) or g < 2 or not hi > lo:
            raise ValueError(f"need a square grid with G >= 2 and hi > lo, got {grid.shape}, lo={lo}, hi={hi}")
        lo, hi = float(lo), float(hi)
        width = hi - lo
        margin = self.MARGIN * width
        segment = width + 2.0 * margin  # a column's span on the long axis, guards included
        pitch = 2.0 * segment  # segments alternate with gaps as wide (NaN there: never a neighbour's value)
        edges = np.linspace(lo, hi, g)
        inner = edges[1:-1]
        # stage 1: lo, then per inner edge the end of cell k-1 and the start of cell k one ulp later, hi
        xs = np.empty(2 * g - 2)
        xs[0], xs[-1] = lo, hi
        xs[1:-1:2] = inner
        xs[2:-1:2] = np.nextafter(inner, np.inf)
        offset = pitch * np.arange(1.0, g + 1.0)  # P (j + 1) for every column j
        self._cell_x = xs
        self._cell_f = np.repeat(offset[:-1], 2) + 1j * np.tile([0.0, 1.0], g - 1)
        # stage 3: per column j: a guard node, the G nodes along a, a guard node, a NaN node in the gap
        cols = grid.T  # cols[j, i] = grid[i, j]
        right = np.zeros_like(cols)
        right[:-1] = cols[1:] - cols[:-1]
        values = cols / offset[:, None] - 1j * right
        axis = np.empty((g, g + 3))
        table = np.empty((g, g + 3), dtype=np.complex128)
        axis[:, 0] = offset + (lo - margin)
        axis[:, 1:-2] = offset[:, None] + edges[None, :]
        axis[:, -2] = offset + (hi + margin)
        axis[:, -1] = offset + (hi + margin + 0.5 * segment)
        table[:, 0] = values[:, 0]
        table[:, 1:-2] = values
        table[:, -2] = values[:, -1]
        table[:, -1] = complex(np.nan, np.nan)
        self._col_x = axis.ravel()[:-1]  # the last column needs no gap after it
        self._col_f = table.ravel()[:-1]
        self.shape = grid.shape
        self.lo, self.hi = lo, hi

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        cell = _interp_complex(b, self._cell_x, self._cell_f)  # P (j0 + 1) + i fv
        cols = _interp_complex(a + cell.real, self._col_x, self._col_f)  # A' - i D
        cols *= cell
        return cols.real


def bilinear(grid: np.ndarray, lo: float, hi: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """grid (G, G) sampled on [lo, hi]^2, interpolated at the points (a[k], b[k]); clamped at the edges.

    Builds the sampler's tables each call (code that samples one grid every frame keeps a
    BilinearSampler instead, as HeightSystem does) and clamps `a` itself, so any point is exact.
    """
    a = np.clip(np.asarray(a, dtype=np.float64), lo, hi)
    return BilinearSampler(grid, lo, hi)(a, np.asarray(b, dtype=np.float64))


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
    phase = "view"
    reads = ("state", "CriticSurface")
    writes = ("height",)

    def setup(self, world) -> None:  # noqa: ANN001
        world.resource(AgentTable).add_column(
            ColumnSpec("height", (), np.float64, 0.0, owner=self.name, doc="height of the critic surface under the agent")
        )
        self.env = world.resource(Environment)
        self.vectorized = world.resource(AppConfig).visual.use_vectorized_heights
        self._sampler: BilinearSampler | None = None
        self._sampled = (None, -1)  # (surface, version) the sampler was built for

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        if table.n == 0:
            return
        surface = world.resource(CriticSurface)
        a, b = self.env.surface_coords(table.state)
        if not self.vectorized:
            table.height[:] = bilinear_loop(surface.heights, surface.lo, surface.hi, a, b)
            return
        if self._sampled != (surface, surface.version):  # the grid changes only when the surface is refreshed
            self._sampler = BilinearSampler(surface.heights, surface.lo, surface.hi)
            self._sampled = (surface, surface.version)
        table.height[:] = self._sampler(a, b)
