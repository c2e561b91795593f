"""Trail level of detail: above a budget of drawn points, every trail is drawn through every s-th point.

With N agents and trails of L points, full detail draws N x L points; the software rasteriser's
cost grows with it (at N = 1000 the trails were most of the frame). When N x L exceeds
`visual.trail_lod_points` (and `visual.trail_lod` is on; `--no-trail-lod` turns it off), each
trail keeps its newest point and the points appended on frames that are multiples of the
stride s, the smallest s with N x (1 + ceil(L / s)) <= the budget. Because the kept points are
chosen by the frame they were recorded on, not by their age, a kept point stays kept as the
trail grows, so the picture does not shimmer. What a trail means is kept: every kept point
keeps its own mode colour, only consecutive kept points of one row's current episode are joined
(a trail restarts at a respawn, so no segment joins two episodes), the policy cohort's trails are
dashed (every other segment), and the full trails stay in the table (the inspected agent's is drawn in full, render.highlight).

One Geom (one draw call); its arrays are rewritten every frame from the table's ring buffers
in a few numpy calls (N x (1 + ceil(L / s)) points, bounded by the budget).
"""
from __future__ import annotations

import math

import numpy as np
from panda3d.core import Geom, GeomLines, NodePath, OmniBoundingVolume

from components.agent_table import AgentTable
from render.cohort_style import is_cohort
from render.palette import mode_colors8
from render.vertex_arrays import colors, geom_node, indices, new_vertex_data, positions


def lod_stride(n: int, trail_len: int, budget: int) -> int:
    """1 when n x trail_len points fit the budget, else the smallest stride that makes them fit
    (at most trail_len: then each trail is its newest point and one more)."""
    if n * trail_len <= budget or n == 0:
        return 1
    for s in range(2, trail_len + 1):
        if n * (1 + math.ceil(trail_len / s)) <= budget:
            return s
    return trail_len


def kept_ages(frame: int, stride: int, trail_len: int) -> np.ndarray:
    """Ages (0 = newest) of the points a trail keeps at `frame`: the newest, and those recorded on
    frames that are multiples of the stride (age a was recorded on frame - a)."""
    first = frame % stride
    ages = np.arange(first, trail_len, stride, dtype=np.int64)
    if ages.size == 0 or ages[0] != 0:
        ages = np.concatenate([np.zeros(1, np.int64), ages])
    return ages


def lod_trails(table: AgentTable, frame: int, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (n, K, 3), modes (n, K), live (n, K)): each row's kept points, newest first."""
    pos = table.trail_pos
    n, L = pos.shape[0], pos.shape[1]
    ages = kept_ages(frame, stride, L)
    live = ages[None, :] < table.trail_len[:, None]
    flat = (np.arange(n, dtype=np.int64)[:, None] * L + (table.trail_head[:, None] - 1 - ages[None, :]) % L).ravel()
    k = ages.size
    # np.take on the flattened ring buffers: several times faster than 2-D fancy indexing here
    points = np.take(pos.reshape(-1, 3), flat, axis=0).reshape(n, k, 3)
    modes = np.take(table.trail_mode.reshape(-1), flat).reshape(n, k)
    return points, modes, live


def lod_gaps(frame: int, stride: int, trail_len: int, dashed: np.ndarray) -> np.ndarray | None:
    """(n, K - 1) True where the segment from kept point i to i + 1 (newest first) is a gap of a
    dashed (policy cohort) row: every other segment, by the frame its older end was recorded on,
    so a drawn segment stays drawn as the trail grows. None when no row is dashed."""
    if dashed is None or not dashed.any():
        return None
    ages = kept_ages(frame, stride, trail_len)
    older = (frame - ages[1:]) // stride  # the older end of each segment: recorded on a multiple of the stride
    return dashed[:, None] & (older % 2 == 1)[None, :]


def lod_pairs(live: np.ndarray, gaps: np.ndarray | None = None) -> np.ndarray:
    """Index pairs (vertex k of row r is r * K + k) joining consecutive kept points of each row
    (except the `gaps`: see lod_gaps)."""
    n, k = live.shape
    if k < 2 or n == 0:
        return np.zeros(0, dtype=np.uint32)
    ok = live[:, 1:]  # the older end is live (then so is the newer one)
    if gaps is not None:
        ok = ok & ~gaps
    base = (np.arange(n, dtype=np.int64) * k)[:, None] + np.arange(k - 1, dtype=np.int64)[None, :]
    first = base[ok]
    return np.stack([first, first + 1], axis=1).astype(np.uint32).ravel()


class TrailLodMesh:
    def __init__(self, parent: NodePath, trail_len: int, budget: int, thickness: float = 2.0) -> None:
        self.L = int(trail_len)
        self.budget = int(budget)
        self.vdata = new_vertex_data("trails-lod", 0)
        self.prim = GeomLines(Geom.UH_dynamic)
        self.prim.setIndexType(Geom.NT_uint32)
        self.nodepath, self.geom = geom_node(parent, "trails-lod", self.vdata, self.prim)
        self.nodepath.setRenderModeThickness(thickness)
        self.nodepath.setLightOff()
        self.nodepath.node().setBounds(OmniBoundingVolume())
        self.nodepath.node().setFinal(True)
        self.rows = 0
        self.stride = 1
        self.points = 0  # kept points drawn this frame (for tests and the benchmark)
        self.segments = 0

    def sync(self, table: AgentTable, frame: int) -> None:
        n = table.n
        self.stride = lod_stride(n, self.L, self.budget)
        if n == 0:
            indices(self.prim, 0)
            self.points = self.segments = 0
            return
        pts, modes, live = lod_trails(table, frame, self.stride)
        k = pts.shape[1]
        if self.vdata.getNumRows() < n * k:
            self.vdata.setNumRows(max(n * k, 2 * self.vdata.getNumRows()))
        positions(self.vdata)[: n * k] = pts.reshape(-1, 3)
        training = np.zeros((n, 1), dtype=bool)
        if 0 <= table.training_row < n:
            training[table.training_row] = True
        colors(self.vdata)[: n * k] = mode_colors8(modes, np.broadcast_to(training, modes.shape)).reshape(-1, 4)
        pairs = lod_pairs(live, lod_gaps(frame, self.stride, self.L, is_cohort(table)))
        indices(self.prim, pairs.size)[:] = pairs
        self.points = int(live.sum())
        self.segments = pairs.size // 2

    def set_visible(self, on: bool) -> None:
        self.nodepath.show() if on else self.nodepath.hide()

    def destroy(self) -> None:
        self.nodepath.removeNode()
