"""The certificate timeline: q_cert over one agent's current episode (the inspected agent, else the
training agent), a small 2-D graph in the HUD's sidebar.

The curve is coloured by mode, stretched to the plot's width as the episode grows and rescaled to
its value range; it empties when a new episode starts. Frame and curve are one GeomLines (one draw
call); it is rewritten only when the timeline changed.
"""
from __future__ import annotations

import numpy as np
from panda3d.core import Geom, GeomLines, NodePath, OmniBoundingVolume

from components.training_stats import TrainingStats
from render.palette import mode_colors8
from render.vertex_arrays import colors, geom_node, indices, new_vertex_data, positions, rgba8

FRAME_RGBA = (0.75, 0.75, 0.8, 1.0)
MID_RGBA = (0.42, 0.42, 0.47, 1.0)  # the faint middle line (opaque lines: no alpha)
FRAME_VERTICES = 6  # 4 corners + the two ends of the mid line


def timeline_points(q: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> tuple[np.ndarray, np.ndarray]:
    """(xy (n, 2), finite (n,)): the curve mapped into the panel [x0, x1] x [y0, y1]."""
    n = q.size
    finite = np.isfinite(q)
    x = x0 + (x1 - x0) * (np.arange(n) / max(n - 1, 1))
    if finite.any():
        lo, hi = float(q[finite].min()), float(q[finite].max())
    else:
        lo = hi = 0.0
    span = hi - lo
    t = (np.where(finite, q, lo) - lo) / span if span > 1e-12 else np.full(n, 0.5)
    return np.stack([x, y0 + (y1 - y0) * t], axis=1), finite


class CertificateTimeline:
    def __init__(self, parent: NodePath, x0: float, x1: float, y0: float, y1: float, z: float) -> None:
        self.box = (x0, x1, y0, y1)
        self.z = z
        self.capacity = 0
        self.drawn = (-1, -1, -1)  # (episodes, timeline_len, total_steps) last drawn
        self.vdata = new_vertex_data("certificate-timeline", FRAME_VERTICES)
        self.prim = GeomLines(Geom.UH_dynamic)
        self.prim.setIndexType(Geom.NT_uint32)
        self.nodepath, self.geom = geom_node(parent, "certificate-timeline", self.vdata, self.prim)
        self.nodepath.setLightOff()
        self.nodepath.setRenderModeThickness(2.0)
        self.nodepath.node().setBounds(OmniBoundingVolume())
        self.nodepath.node().setFinal(True)
        self._write_frame()
        self.segments = 0

    def set_box(self, x0: float, x1: float, y0: float, y1: float) -> None:
        """Move the plot (the layout changed): the frame is rewritten and the curve redrawn."""
        if (x0, x1, y0, y1) != self.box:
            self.box = (x0, x1, y0, y1)
            self._write_frame()
            self.drawn = None

    def _write_frame(self) -> None:
        x0, x1, y0, y1 = self.box
        ym = 0.5 * (y0 + y1)
        pos = positions(self.vdata)
        pos[:FRAME_VERTICES] = [(x0, y0, self.z), (x1, y0, self.z), (x1, y1, self.z), (x0, y1, self.z),
                                (x0, ym, self.z), (x1, ym, self.z)]
        colors(self.vdata)[:FRAME_VERTICES] = rgba8(FRAME_RGBA)
        colors(self.vdata)[4:6] = rgba8(MID_RGBA)

    def sync(self, stats: TrainingStats) -> bool:
        """Draw the training agent's timeline (TrainingStats)."""
        n = int(stats.timeline_len)
        key = ("training", stats.episodes, n, stats.total_steps)  # a full, scrolling timeline keeps its length
        return self.draw(key, stats.timeline_q[:n], stats.timeline_mode[:n])

    def sync_trace(self, entity: int, trace) -> bool:  # noqa: ANN001 - components.inspection.CertificateTrace
        """Draw an inspected agent's timeline."""
        return self.draw(("agent", entity, trace.version), trace.q[: trace.length], trace.mode[: trace.length])

    def draw(self, key: object, q: np.ndarray, mode: np.ndarray) -> bool:
        """Rewrite the curve unless `key` says it is the one drawn."""
        if key == self.drawn:
            return False
        self.drawn = key
        n = len(q)
        q = np.asarray(q, dtype=np.float64)
        mode = np.asarray(mode, dtype=np.int64)
        if FRAME_VERTICES + n > self.capacity:
            self.capacity = max(64, 2 * (FRAME_VERTICES + n))
            self.vdata.setNumRows(self.capacity)
            self._write_frame()
        x0, x1, y0, y1 = self.box
        pad = 0.06 * (y1 - y0)
        xy, finite = timeline_points(q, x0, x1, y0 + pad, y1 - pad)
        pos = positions(self.vdata)
        pos[FRAME_VERTICES : FRAME_VERTICES + n, 0] = xy[:, 0]
        pos[FRAME_VERTICES : FRAME_VERTICES + n, 1] = xy[:, 1]
        pos[FRAME_VERTICES : FRAME_VERTICES + n, 2] = self.z - 0.01  # just in front of the frame
        if n:
            colors(self.vdata)[FRAME_VERTICES : FRAME_VERTICES + n] = mode_colors8(np.clip(mode, 0, 2))
        frame_pairs = np.array([0, 1, 1, 2, 2, 3, 3, 0, 4, 5], dtype=np.uint32)
        seg = np.flatnonzero(finite[:-1] & finite[1:]) if n > 1 else np.zeros(0, dtype=np.int64)
        curve = (FRAME_VERTICES + np.stack([seg, seg + 1], axis=1)).astype(np.uint32).ravel()
        idx = indices(self.prim, frame_pairs.size + curve.size)
        idx[: frame_pairs.size] = frame_pairs
        idx[frame_pairs.size :] = curve
        self.segments = seg.size
        return True
