"""TrailBatchSystem: every agent's last `trail_max_length` positions and modes, as ring buffers in the table.

Columns (moved with their agent by swap-remove, like every column):
  trail_pos[n, L, 3]  float32 world positions (x, height + MARKER_LIFT, v)
  trail_mode[n, L]    int8 components.Mode of the step that led to the point
  trail_head[n]       slot the next point goes into
  trail_len[n]        live points (<= L)

Each frame writes one slot per agent. An agent whose episode ended restarts its trail with the
respawned position (so no segment joins the old and new positions). A trail restarts the same way
where the agent crosses the seam of a periodic surface axis (the pendulum's theta = +-pi, at the
surface's X edges; `Environment.surface_wraps`), so no segment is drawn across the surface. `TrailChanges` tells the
renderer which rows it must rewrite whole (restarted, spawned, or moved into by swap-remove);
all other rows only gained their newest point. When the critic surface is refreshed, every
stored point is put back on the new surface (one vectorised interpolation).
"""
from __future__ import annotations

import numpy as np

from components.agent_table import AgentTable, ColumnSpec
from components.critic_surface import CriticSurface
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment
from systems.height import bilinear

#: agents and their trail points float this far above the surface
MARKER_LIFT = 0.05


class TrailChanges:
    """Resource: what the trail renderer must redo beyond writing each row's newest point.

    `dirty[r]` marks rows to rewrite whole; `appends` counts frames appended since the renderer
    last consumed (more than one means it missed points and must rewrite everything);
    `reprojected` says every point's height changed.
    """

    def __init__(self) -> None:
        self.dirty = np.zeros(16, dtype=bool)
        self.appends = 0
        self.reprojected = False

    def mark(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        need = int(rows.max()) + 1
        if need > self.dirty.size:
            grown = np.zeros(max(need, 2 * self.dirty.size), dtype=bool)
            grown[: self.dirty.size] = self.dirty
            self.dirty = grown
        self.dirty[rows] = True

    def take(self, n: int) -> tuple[np.ndarray, int, bool]:
        """(dirty rows below n, frames appended, reprojected) since the last call; then clear."""
        rows = np.flatnonzero(self.dirty[:n])
        out = (rows, self.appends, self.reprojected)
        self.dirty[:] = False
        self.appends = 0
        self.reprojected = False
        return out


def chronological_slots(head: np.ndarray, length: np.ndarray, trail_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(slots (n, L), valid (n, L)): row r's slots oldest first; valid marks the live ones."""
    oldest = (head - length) % trail_len
    slots = (oldest[:, None] + np.arange(trail_len)[None, :]) % trail_len
    valid = np.arange(trail_len)[None, :] < length[:, None]
    return slots, valid


class TrailBatchSystem(System):
    phase = "view"
    reads = ("state", "height", "mode", "CriticSurface")
    writes = ("trail_pos", "trail_mode", "trail_head", "trail_len", "TrailChanges")

    def setup(self, world) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        self.length = cfg.visual.trail_max_length
        env = world.resource(Environment)
        self.surface_coords = env.surface_coords
        self.wraps = env.surface_wraps
        self.seam_jump = env.surface_extent  # a step longer than half the period crossed the seam
        table = world.resource(AgentTable)
        L = self.length
        table.add_columns(
            [
                ColumnSpec("trail_pos", (L, 3), np.float32, 0.0, owner=self.name, doc="trail ring buffer: world positions"),
                ColumnSpec("trail_mode", (L,), np.int8, 0, owner=self.name, doc="trail ring buffer: Mode per point"),
                ColumnSpec("trail_head", (), np.int64, 0, owner=self.name, doc="next slot of the trail ring buffer"),
                ColumnSpec("trail_len", (), np.int64, 0, owner=self.name, doc="live points in the trail"),
            ]
        )
        self.changes = world.insert_resource(TrailChanges())
        self.changes.mark(np.arange(table.n))  # agents spawned before this system joined
        self._surface_version = -1
        self._rows = np.arange(0)
        world.events.subscribe("episodes_ended", self._on_episodes_ended)
        world.events.subscribe("agents_spawned", self._on_spawned)
        world.events.subscribe("row_moved", self._on_row_moved)
        self._world = world

    def _on_episodes_ended(self, rows: np.ndarray, *_: object) -> None:
        self.restart(self._world.resource(AgentTable), rows)

    def restart(self, table: AgentTable, rows: np.ndarray) -> None:
        """Empty these rows' trails: the next point starts a new line (a respawn, a seam crossing)."""
        table.trail_len[rows] = 0
        table.trail_head[rows] = 0
        self.changes.mark(rows)

    def seam_crossings(self, table: AgentTable, coords: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Rows whose new surface point lies more than half a period from their newest trail point
        along a periodic axis: they crossed the seam since that point."""
        rows = self._rows[: table.n]
        newest = (table.trail_head - 1) % self.length
        crossed = np.zeros(table.n, dtype=bool)
        for k, (col, wraps) in enumerate(zip((0, 2), self.wraps)):
            if wraps:
                crossed |= np.abs(coords[k] - table.trail_pos[rows, newest, col]) > self.seam_jump
        crossed &= table.trail_len > 0
        return np.flatnonzero(crossed)

    def _on_spawned(self, rows: np.ndarray, _entities: np.ndarray) -> None:
        self.changes.mark(rows)

    def _on_row_moved(self, _src: int, dst: int) -> None:
        self.changes.mark(np.array([dst]))

    def teardown(self, world) -> None:  # noqa: ANN001
        world.events.unsubscribe("episodes_ended", self._on_episodes_ended)
        world.events.unsubscribe("agents_spawned", self._on_spawned)
        world.events.unsubscribe("row_moved", self._on_row_moved)

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        n = table.n
        surface = world.try_resource(CriticSurface)
        if surface is not None and surface.version != self._surface_version:
            if self._surface_version >= 0:
                self.reproject(table, surface)
            self._surface_version = surface.version
        if n == 0:
            return
        if self._rows.size < n:
            self._rows = np.arange(max(n, 2 * self._rows.size))
        rows = self._rows[:n]
        coords = self.surface_coords(table.state)
        if self.wraps[0] or self.wraps[1]:
            crossed = self.seam_crossings(table, coords)
            if crossed.size:
                self.restart(table, crossed)
        head = table.trail_head
        pos = table.trail_pos
        pos[rows, head, 0] = coords[0]
        pos[rows, head, 1] = (table.height + MARKER_LIFT) if table.has_column("height") else MARKER_LIFT
        pos[rows, head, 2] = coords[1]
        table.trail_mode[rows, head] = table.mode
        head += 1
        head %= self.length
        length = table.trail_len
        length += 1
        np.minimum(length, self.length, out=length)
        self.changes.appends += 1

    def reproject(self, table: AgentTable, surface: CriticSurface) -> None:
        """Put every stored trail point back on the (refreshed) surface."""
        if table.n == 0:
            return
        pts = table.trail_pos.reshape(-1, 3)
        pts[:, 1] = bilinear(surface.heights, surface.lo, surface.hi, pts[:, 0], pts[:, 2]) + MARKER_LIFT
        self.changes.reprojected = True
