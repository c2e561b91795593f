"""The learning-curve panel's plot: how the learned policy does as training goes, drawn as geometry.

Two small plots over the training agent's episodes (components.learning_curve), one above the other:

- shares, 0 to 1: every evaluation's success rate (green diamonds) and certified share (white
  crosses), the nominal policy's success rate on the same starts (yellow dashes), and per episode
  the CALF filter's certified share of the learners' decisions (blue-grey line) and of the policy
  cohort's (cyan line);
- the evaluations' return gain over the nominal policy (orange diamonds) around the nominal's 0
  (yellow dashes), up is better, the scale +-gain_range (the panel's caption says it).

Frames, reference lines, curves and markers are one GeomLines (one draw call), rewritten only when
the curve or the panel's place changed; the panel's background is a quad of the HUD's flat Geom.
"""
from __future__ import annotations

import numpy as np
from panda3d.core import Geom, GeomLines, NodePath, OmniBoundingVolume

from components.learning_curve import LearningCurve
from render.vertex_arrays import colors, geom_node, indices, new_vertex_data, positions, rgba8

FRAME_RGBA = (0.75, 0.75, 0.8, 1.0)
#: the series' colours (the legend's swatches use them too, render.hud)
LEARNING_COLORS = {
    "success": (0.35, 0.9, 0.35),
    "nominal": (0.95, 0.8, 0.25),
    "certified": (0.97, 0.97, 0.97),
    "learners": (0.55, 0.62, 0.9),
    "cohort": (0.25, 0.85, 0.95),
    "gain": (1.0, 0.55, 0.1),
}
SHARES_PART = 0.58  # of the plot's height: the shares' plot; the gain's below, after a gap
GAP_PART = 0.08
MARK = 0.045  # half the size of a marker, as a share of the plot's height
DASHES = 14  # dashes of a reference line across the plot


def _diamond(x: np.ndarray, y: np.ndarray, size: float) -> np.ndarray:
    """Segments (m, 4, 2, 2) of a diamond around each point."""
    corners = np.stack([np.stack([x + size, y], -1), np.stack([x, y + size], -1),
                        np.stack([x - size, y], -1), np.stack([x, y - size], -1)], axis=1)
    return np.stack([corners, np.roll(corners, -1, axis=1)], axis=2)


def _cross(x: np.ndarray, y: np.ndarray, size: float) -> np.ndarray:
    """Segments (m, 2, 2, 2) of a + at each point."""
    h = np.stack([np.stack([x - size, y], -1), np.stack([x + size, y], -1)], axis=1)
    v = np.stack([np.stack([x, y - size], -1), np.stack([x, y + size], -1)], axis=1)
    return np.stack([h, v], axis=1)


def _polyline(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Segments (m, 2, 2) joining consecutive finite points."""
    ok = np.isfinite(y)
    keep = ok[:-1] & ok[1:]
    a = np.stack([x[:-1], y[:-1]], -1)[keep]
    b = np.stack([x[1:], y[1:]], -1)[keep]
    return np.stack([a, b], axis=1)


def _dashed(x0: float, x1: float, y: float) -> np.ndarray:
    """Segments (DASHES, 2, 2) of a dashed horizontal line."""
    edges = np.linspace(x0, x1, 2 * DASHES + 1)
    a, b = edges[0:-1:2], edges[1::2]
    return np.stack([np.stack([a, np.full_like(a, y)], -1), np.stack([b, np.full_like(b, y)], -1)], axis=1)


def _rect(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    c = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
    return np.stack([c, np.roll(c, -1, axis=0)], axis=1)


def plot_segments(curve: LearningCurve, box: tuple[float, float, float, float]) -> dict[str, np.ndarray]:
    """Every segment of the plot by what it draws (name -> (m, 2, 2) array of (x, y) ends) inside `box`
    (left, right, bottom, top), from the curve alone: pure arithmetic, tested without a renderer."""
    x0, x1, y0, y1 = box
    h = y1 - y0
    mark = MARK * h
    s_bottom, s_top = y0 + (1 - SHARES_PART) * h, y1  # the shares' plot
    g_bottom, g_top = y0, y0 + (1 - SHARES_PART - GAP_PART) * h  # the gain's plot
    pad = max(0.08 * (s_top - s_bottom), 1.3 * mark)  # a marker at 0 or 1 stays inside
    out = {"frame": np.concatenate([_rect(x0, x1, s_bottom, s_top), _rect(x0, x1, g_bottom, g_top)])}
    span = curve.span()
    empty = np.zeros((0, 2, 2))
    for name in LEARNING_COLORS:
        out.setdefault(name, empty)
    if span is None:
        return out
    first, last = span
    width = max(last - first, 1)

    def to_x(ep: np.ndarray) -> np.ndarray:
        return x0 + (x1 - x0) * 0.03 + (x1 - x0) * 0.94 * (np.asarray(ep, float) - first) / width

    def share_y(v: np.ndarray) -> np.ndarray:
        return s_bottom + pad + (s_top - s_bottom - 2 * pad) * np.clip(v, 0.0, 1.0)

    g_range = curve.gain_range()
    g_mid = 0.5 * (g_bottom + g_top)

    def gain_y(g: np.ndarray) -> np.ndarray:
        reach = 0.5 * (g_top - g_bottom) - 1.3 * mark
        return g_mid + reach * np.clip(g / g_range, -1.0, 1.0)

    ep, learners, cohort = curve.shares()
    if ep.size >= 2:
        out["learners"] = _polyline(to_x(ep), share_y(learners))
        out["cohort"] = _polyline(to_x(ep), share_y(cohort))
    nominal_lines = [_dashed(x0, x1, g_mid)]  # the nominal's gain: 0
    ev = curve.evaluations()
    if ev.size:
        ex = to_x(ev[:, 0])
        ok = np.isfinite(ev[:, 1])
        out["success"] = _diamond(ex[ok], share_y(ev[ok, 1]), mark).reshape(-1, 2, 2)
        ok = np.isfinite(ev[:, 3])
        out["certified"] = _cross(ex[ok], share_y(ev[ok, 3]), mark).reshape(-1, 2, 2)
        ok = np.isfinite(ev[:, 2])
        out["gain"] = _diamond(ex[ok], gain_y(ev[ok, 2]), mark).reshape(-1, 2, 2)
        nominal = ev[np.isfinite(ev[:, 4]), 4]
        if nominal.size:  # the nominal policy's success on the evaluation starts (it never changes)
            nominal_lines.append(_dashed(x0, x1, float(share_y(nominal[-1:])[0])))
    out["nominal"] = np.concatenate(nominal_lines)
    return out


class LearningPlot:
    def __init__(self, parent: NodePath, z: float = 0.0) -> None:
        self.box = (0.0, 1.0, 0.0, 1.0)
        self.z = z
        self.drawn = None  # (curve version, box) drawn
        self.vdata = new_vertex_data("learning-plot", 0)
        self.prim = GeomLines(Geom.UH_dynamic)
        self.prim.setIndexType(Geom.NT_uint32)
        self.nodepath, self.geom = geom_node(parent, "learning-plot", self.vdata, self.prim)
        self.nodepath.setLightOff()
        self.nodepath.setRenderModeThickness(1.6)
        self.nodepath.node().setBounds(OmniBoundingVolume())
        self.nodepath.node().setFinal(True)
        self.segments: dict[str, int] = {}  # segments drawn per series, for tests

    def set_box(self, x0: float, x1: float, y0: float, y1: float) -> None:
        if (x0, x1, y0, y1) != self.box:
            self.box = (x0, x1, y0, y1)
            self.drawn = None

    def sync(self, curve: LearningCurve | None) -> bool:
        """Redraw if the curve or the box changed; True if it did."""
        key = (None if curve is None else curve.version, self.box)
        if key == self.drawn:
            return False
        self.drawn = key
        parts = plot_segments(curve if curve is not None else LearningCurve(), self.box)
        total = sum(len(p) for p in parts.values())
        if self.vdata.getNumRows() < 2 * total:
            self.vdata.setNumRows(max(2 * total, 2 * self.vdata.getNumRows(), 64))
        pos = positions(self.vdata)
        col = colors(self.vdata)
        at = 0
        for name, segs in parts.items():
            m = len(segs)
            if not m:
                self.segments[name] = 0
                continue
            pos[at : at + 2 * m, :2] = segs.reshape(-1, 2)
            pos[at : at + 2 * m, 2] = self.z
            rgba = FRAME_RGBA if name == "frame" else (*LEARNING_COLORS[name], 1.0)
            col[at : at + 2 * m] = rgba8(rgba)
            self.segments[name] = m
            at += 2 * m
        indices(self.prim, at)[:] = np.arange(at, dtype=np.uint32)
        return True

    def set_visible(self, on: bool) -> None:
        self.nodepath.show() if on else self.nodepath.hide()
