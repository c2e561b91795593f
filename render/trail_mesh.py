"""Trails on screen: all agents' trails in one Geom (one draw call), or one Geom per agent (baseline).

BatchedTrailMesh mirrors the table's ring buffers: row r's slots are vertices [r*L, (r+1)*L),
and its index array holds one GeomLines pair per slot: (k, k+1 mod L) when slots k and k+1 are
consecutive live points of that trail, else the degenerate pair (k, k), which draws nothing. So
each frame writes only each row's newest vertex, its colour and two index pairs; rows that
restarted, spawned or were moved into by a swap-remove are rewritten whole. No pair ever joins
two rows, or the newest point to the oldest, or an old episode to a new one. The policy cohort's
trails are dashed (render.cohort_style): the pairs starting at their gap slots are degenerate too.

PerAgentTrails is the old program's way, kept as the `use_batched_trails = false` baseline: one
Geom per agent rebuilt in chronological order every frame (N draw calls, a Python loop).
"""
from __future__ import annotations

import numpy as np
from panda3d.core import Geom, GeomLines, GeomLinestrips, NodePath, OmniBoundingVolume

from components.agent_table import AgentTable
from render.cohort_style import COHORT, dash_gap
from render.palette import mode_colors8
from render.vertex_arrays import colors, geom_node, indices, new_vertex_data, positions
from systems.trails import TrailChanges, chronological_slots

LINE_THICKNESS = 2.0


def _style(nodepath: NodePath) -> None:
    nodepath.setRenderModeThickness(LINE_THICKNESS)
    nodepath.setLightOff()
    nodepath.node().setBounds(OmniBoundingVolume())  # vertices move every frame: never cull
    nodepath.node().setFinal(True)


def _training_mask(table: AgentTable, rows: np.ndarray) -> np.ndarray:
    return (rows == table.training_row)[:, None]


def _cohort_rows(table: AgentTable, rows: np.ndarray) -> np.ndarray:
    """Which of `rows` belong to the policy cohort (dashed trails)."""
    if not table.has_column("group"):
        return np.zeros(len(rows), dtype=bool)
    return table.group[rows] == COHORT


class BatchedTrailMesh:
    """Every trail in one GeomLines primitive of one Geom."""

    def __init__(self, parent: NodePath, trail_len: int) -> None:
        self.L = int(trail_len)
        self.capacity = 0  # rows with vertex storage
        self.rows_drawn = 0
        self.vdata = new_vertex_data("trails", 0)
        self.prim = GeomLines(Geom.UH_dynamic)
        self.prim.setIndexType(Geom.NT_uint32)
        self.nodepath, self.geom = geom_node(parent, "trails", self.vdata, self.prim)
        _style(self.nodepath)
        self.full_rewrites = 0  # rows rewritten whole, for tests and the benchmark

    def _grow(self, n: int) -> None:
        cap = max(16, self.capacity)
        while cap < n:
            cap *= 2
        self.vdata.setNumRows(cap * self.L)
        self.capacity = cap

    def sync(self, table: AgentTable, changes: TrailChanges) -> None:
        n, L = table.n, self.L
        dirty, appends, reprojected = changes.take(n)
        full = appends > 1 or self.rows_drawn == 0
        if n > self.capacity:
            self._grow(n)
            full = True
        idx = indices(self.prim, n * L * 2).reshape(-1, 2) if n else np.zeros((0, 2), np.uint32)
        self.rows_drawn = n
        if n == 0:
            return
        pos = positions(self.vdata)
        col = colors(self.vdata)
        if full:
            self._rewrite_rows(table, np.arange(n), pos, col, idx)
            return
        if appends == 1:
            self._write_newest(table, n, pos, col, idx)
        if reprojected:
            pos[: n * L] = table.trail_pos.reshape(-1, 3)
        if dirty.size:
            self._rewrite_rows(table, dirty, pos, col, idx)

    def _write_newest(self, table: AgentTable, n: int, pos: np.ndarray, col: np.ndarray, idx: np.ndarray) -> None:
        L = self.L
        rows = np.arange(n)
        newest = (table.trail_head - 1) % L
        v = rows * L + newest
        pos[v] = table.trail_pos[rows, newest]
        col[v] = mode_colors8(table.trail_mode[rows, newest], rows == table.training_row)
        idx[v, 0] = v
        idx[v, 1] = v  # the newest point starts no segment
        prev_slot = (newest - 1) % L
        prev = rows * L + prev_slot
        idx[prev, 0] = prev
        drawn = (table.trail_len >= 2) & ~(_cohort_rows(table, rows) & dash_gap(prev_slot))
        idx[prev, 1] = np.where(drawn, v, prev)

    def _rewrite_rows(self, table: AgentTable, rows: np.ndarray, pos: np.ndarray, col: np.ndarray,
                      idx: np.ndarray) -> None:
        L = self.L
        pos.reshape(-1, L, 3)[rows] = table.trail_pos[rows]
        col.reshape(-1, L, 4)[rows] = mode_colors8(table.trail_mode[rows], _training_mask(table, rows))
        k = np.arange(L)
        oldest = (table.trail_head[rows] - table.trail_len[rows]) % L
        live_pairs = ((k[None, :] - oldest[:, None]) % L) < (table.trail_len[rows, None] - 1)
        live_pairs &= ~(_cohort_rows(table, rows)[:, None] & dash_gap(k)[None, :])  # the cohort's dashes
        first = rows[:, None] * L + k[None, :]
        second = rows[:, None] * L + (k[None, :] + 1) % L
        pairs = idx.reshape(-1, L, 2)
        pairs[rows, :, 0] = first
        pairs[rows, :, 1] = np.where(live_pairs, second, first)
        self.full_rewrites += rows.size

    def set_visible(self, on: bool) -> None:
        self.nodepath.show() if on else self.nodepath.hide()

    def destroy(self) -> None:
        self.nodepath.removeNode()


def _dashes(order: np.ndarray, count: int) -> list[list[int]]:
    """A dashed trail's strips: runs of consecutive points (indices into `order`, the chronological
    slots) joined by drawn segments, a segment being drawn unless its first slot is a gap."""
    strips, strip = [], []
    for j in range(count - 1):
        if dash_gap(order[j]):
            if len(strip) >= 2:
                strips.append(strip)
            strip = []
            continue
        strip = strip or [j]
        strip.append(j + 1)
    if len(strip) >= 2:
        strips.append(strip)
    return strips


class PerAgentTrails:
    """Baseline: one Geom per agent, rebuilt every frame in a Python loop (N draw calls)."""

    def __init__(self, parent: NodePath, trail_len: int) -> None:
        self.L = int(trail_len)
        self.parent = parent.attachNewNode("trails-per-agent")
        self.parts: list[tuple[NodePath, object, GeomLinestrips]] = []

    def _ensure(self, n: int) -> None:
        while len(self.parts) < n:
            vdata = new_vertex_data(f"trail-{len(self.parts)}", 0)
            prim = GeomLinestrips(Geom.UH_dynamic)
            nodepath, _ = geom_node(self.parent, f"trail-{len(self.parts)}", vdata, prim)
            _style(nodepath)
            self.parts.append((nodepath, vdata, prim))
        while len(self.parts) > n:
            nodepath, _, _ = self.parts.pop()
            nodepath.removeNode()

    def sync(self, table: AgentTable, changes: TrailChanges) -> None:
        changes.take(table.n)
        n = table.n
        self._ensure(n)
        if n == 0:
            return
        slots, _valid = chronological_slots(table.trail_head, table.trail_len, self.L)
        cohort = _cohort_rows(table, np.arange(n))
        for r in range(n):
            nodepath, vdata, prim = self.parts[r]
            count = int(table.trail_len[r])
            order = slots[r, :count]
            vdata.setNumRows(count)
            prim.clearVertices()
            if count >= 2:
                positions(vdata)[:] = table.trail_pos[r, order]
                colors(vdata)[:] = mode_colors8(table.trail_mode[r, order], np.full(count, r == table.training_row))
                if not cohort[r]:
                    prim.addConsecutiveVertices(0, count)
                    prim.closePrimitive()
                    continue
                for dash in _dashes(order, count):  # the cohort's trail: one strip per dash
                    for j in dash:
                        prim.addVertex(j)
                    prim.closePrimitive()

    def set_visible(self, on: bool) -> None:
        self.parent.show() if on else self.parent.hide()

    def destroy(self) -> None:
        self.parent.removeNode()
