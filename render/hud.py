"""The HUD: the sidebar's text panels (stats with legend and keys, the surface's colour scale, the
timeline's caption, the learning curve's caption and legend, the inspected agent, the profiler,
messages), one Geom holding every flat quad (the sidebar's background, the plots' areas, the
colour bar's bands, the legends' swatches), the certificate timeline's curve and the learning-curve
plot (render.learning_plot). Where each goes comes from render.layout.

Text goes into raw Panda3D TextNodes (one batch each with all glyphs on one texture page; glyphs
are built at cull time) and only when HudText's version for it moved; ursina's Text would
rebuild its nodes on every assignment.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from panda3d.core import Geom, GeomTriangles, NodePath, TextNode, TransparencyAttrib

from components.colormap import SURFACE_BANDS, banded_gradient
from components.modes import MODE_COLORS, TRAINING_CERTIFIED_COLOR, Mode
from components.view_state import HUD_TEXTS, HudText
from render.cohort_style import OUTLINE_RGBA
from render.layout import TEXT_SCALE, Layout
from render.learning_plot import LEARNING_COLORS, LearningPlot
from render.timeline import CertificateTimeline
from render.vertex_arrays import colors, geom_node, new_vertex_data, positions, rgba8
from systems.hud_text import LEARNING_LEGEND, LEGEND, LEGEND_INDENT, learning_legend_positions, legend_positions

TEXT_RGBA = (0.95, 0.95, 0.97, 1.0)
MESSAGE_RGBA = (1.0, 0.92, 0.55, 1.0)  # confirmations stand out from the rest
SIDEBAR_RGBA = (0.13, 0.13, 0.15, 1.0)
LEGEND_COLORS = {
    "certified": MODE_COLORS[Mode.CERTIFIED],
    "relax": MODE_COLORS[Mode.RELAX],
    "fallback": MODE_COLORS[Mode.FALLBACK],
    "training": TRAINING_CERTIFIED_COLOR,
    "cohort": OUTLINE_RGBA[:3],  # a certified-white box inside this black one: the cohort's marker
}
# quads of the one flat Geom
Q_SIDEBAR, Q_PLOT, Q_LEARNING = 0, 1, 2
Q_BAR = 3
Q_SWATCH = Q_BAR + SURFACE_BANDS
Q_COHORT_INNER = Q_SWATCH + len(LEGEND)  # the white inside of the cohort's swatch
Q_LEARN_SWATCH = Q_COHORT_INNER + 1
QUADS = Q_LEARN_SWATCH + len(LEARNING_LEGEND)


def text_extent(text: str) -> tuple[int, int]:
    """(longest line in characters, lines): with the monospace font that is the text's size."""
    lines = text.split("\n")
    return max((len(line) for line in lines), default=0), len(lines)


def line_count(text: str) -> int:
    return 0 if not text else text.count("\n") + 1


def bar_line(scale_text: str) -> int:
    """The scale text's empty line, where the colour bar is drawn."""
    lines = scale_text.split("\n")
    return lines.index("") if "" in lines else len(lines)


class Hud:
    def __init__(self, ui: NodePath, font, surface_alpha: float, background_rgb) -> None:  # noqa: ANN001
        self.root = ui.attachNewNode("calf-hud")
        self.nodes: dict[str, TextNode] = {}
        self.paths: dict[str, NodePath] = {}
        for name in HUD_TEXTS:  # the timeline's entry is its caption
            node = TextNode(f"hud-{name}")
            if font is not None:
                node.setFont(font)
            node.setAlign(TextNode.ALeft)
            node.setTextColor(*(MESSAGE_RGBA if name == "messages" else TEXT_RGBA))
            path = self.root.attachNewNode(node)
            path.setScale(TEXT_SCALE)
            path.setBin("fixed", 10)
            self.nodes[name], self.paths[name] = node, path
        self.stats_node, self.profiler_node = self.nodes["stats"], self.nodes["profiler"]
        self.char_w = self.nodes["stats"].calcWidth("M") or 0.6
        self.line_h = self.nodes["stats"].getLineHeight() or 1.2
        self.vdata = new_vertex_data("hud-quads", 4 * QUADS)
        col = colors(self.vdata)
        col[4 * Q_SIDEBAR : 4 * Q_SIDEBAR + 4] = rgba8(SIDEBAR_RGBA)
        bg = np.asarray(background_rgb, dtype=np.float64)[:3]
        col[4 * Q_PLOT : 4 * Q_PLOT + 4] = rgba8((*bg, 1.0))  # the timeline on the scene's background
        col[4 * Q_LEARNING : 4 * Q_LEARNING + 4] = rgba8((*bg, 1.0))  # and the learning curve
        t = (np.arange(SURFACE_BANDS) + 0.5) / SURFACE_BANDS
        bands = banded_gradient(t, 1.0)[:, :3] * surface_alpha + (1.0 - surface_alpha) * bg  # as the surface looks
        for k in range(SURFACE_BANDS):
            col[4 * (Q_BAR + k) : 4 * (Q_BAR + k + 1)] = rgba8((*bands[k], 1.0))
        for k, (name, _label) in enumerate(LEGEND):
            col[4 * (Q_SWATCH + k) : 4 * (Q_SWATCH + k + 1)] = rgba8((*LEGEND_COLORS[name], 1.0))
        col[4 * Q_COHORT_INNER : 4 * Q_COHORT_INNER + 4] = rgba8((*MODE_COLORS[Mode.CERTIFIED], 1.0))
        for k, name in enumerate(LEARNING_LEGEND):
            col[4 * (Q_LEARN_SWATCH + k) : 4 * (Q_LEARN_SWATCH + k + 1)] = rgba8((*LEARNING_COLORS[name], 1.0))
        prim = GeomTriangles(Geom.UH_static)
        for q in range(QUADS):
            prim.addVertices(4 * q, 4 * q + 1, 4 * q + 2)
            prim.addVertices(4 * q, 4 * q + 2, 4 * q + 3)
        self.quads_np, _ = geom_node(self.root, "hud-quads", self.vdata, prim)
        self.quads_np.setTransparency(TransparencyAttrib.M_none)
        self.quads_np.setBin("fixed", 0)
        self.quads_np.setTwoSided(True)
        self.timeline = CertificateTimeline(self.root, 0.0, 1.0, 0.0, 1.0, 0.0)
        self.timeline.nodepath.setBin("fixed", 5)
        self.learning = LearningPlot(self.root)
        self.learning.nodepath.setBin("fixed", 5)
        self.versions = {name: -1 for name in HUD_TEXTS}
        self.texts = {name: "" for name in HUD_TEXTS}
        self.assignments = 0  # text (re)assignments, for tests and the benchmark
        self.layout: Layout | None = None
        self.visible = True

    # -- text ----------------------------------------------------------------------------------
    def sync(self, hud: HudText) -> bool:
        """Copy changed strings into their nodes; True if a panel's line count changed (relayout)."""
        relayout = False
        for name in HUD_TEXTS:
            version = hud.versions[name]
            if version == self.versions[name]:
                continue
            text = hud.texts[name]
            relayout |= line_count(text) != line_count(self.texts[name])
            if name == "scale":
                relayout |= bar_line(text) != bar_line(self.texts[name])
            self.nodes[name].setText(text)
            self.texts[name] = text
            self.versions[name] = version
            self.assignments += 1
            if name in ("stats", "learning"):
                self._swatches()
        return relayout

    def line_counts(self) -> dict[str, int]:
        return {name: line_count(self.texts[name]) for name in HUD_TEXTS}

    # -- placement -----------------------------------------------------------------------------
    def _quad(self, q: int, left: float, right: float, bottom: float, top: float) -> None:
        positions(self.vdata)[4 * q : 4 * q + 4] = [(left, bottom, 0), (right, bottom, 0), (right, top, 0), (left, top, 0)]

    def apply(self, layout: Layout) -> None:
        """Put every panel where the layout says (or hide them all)."""
        self.layout = layout
        if not layout.panels_visible:
            self.root.hide()
            self.visible = False
            return
        self.root.show()
        self.visible = True
        self._quad(Q_SIDEBAR, *layout.sidebar)
        self._quad(Q_PLOT, *layout.plot)
        self._quad(Q_LEARNING, *layout.learning)
        self.learning.set_box(*layout.learning)
        self.learning.set_visible(layout.learning[3] > layout.learning[2])
        left, right, bottom, top = layout.bar
        edges = np.linspace(left, right, SURFACE_BANDS + 1)
        for k in range(SURFACE_BANDS):
            self._quad(Q_BAR + k, edges[k], edges[k + 1], bottom, top)
        for name, path in self.paths.items():
            x, y = layout.text_origin[name]
            path.setPos(x, y, 0)
            path.setScale(layout.text_scale)
        x0, x1, y0, y1 = layout.plot
        pad = 0.05 * (y1 - y0)
        self.timeline.set_box(x0 + pad, x1 - pad, y0 + pad, y1 - pad)
        self._swatches()

    def _swatches(self) -> None:
        if self.layout is None or not self.layout.panels_visible:
            return
        found = legend_positions(self.texts["stats"])
        x, y = self.layout.text_origin["stats"]
        s = self.layout.text_scale
        w, d = self.char_w * s, 0.18 * s  # a character's width; the cohort box's black edge
        for k, (name, _label) in enumerate(LEGEND):
            if name in found:
                line, col = found[name]
                base = y - line * self.line_h * s
                left = x + (col + 0.3) * self.char_w * s
                box = (left, left + (LEGEND_INDENT - 1.8) * w, base - 0.05 * s, base + 0.65 * s)
                if name == "cohort":  # a square: a white box with a black edge, as the cohort is drawn
                    box = (left + 0.6 * w, left + 0.6 * w + 1.0 * s, base - 0.2 * s, base + 0.8 * s)
                    self._quad(Q_COHORT_INNER, box[0] + d, box[1] - d, box[2] + d, box[3] - d)
                self._quad(Q_SWATCH + k, *box)
            else:
                self._quad(Q_SWATCH + k, x, x, y, y)
                if name == "cohort":
                    self._quad(Q_COHORT_INNER, x, x, y, y)
        text = self.texts["learning"]
        x, y = self.layout.text_origin["learning"]
        spots = learning_legend_positions(text) if text else {}
        for k, name in enumerate(LEARNING_LEGEND):
            if name in spots:
                line, col = spots[name]
                base = y - line * self.line_h * s
                left = x + (col + 0.3) * w
                self._quad(Q_LEARN_SWATCH + k, left, left + (LEGEND_INDENT - 1.8) * w, base + 0.15 * s, base + 0.45 * s)
            else:
                self._quad(Q_LEARN_SWATCH + k, x, x, y, y)

    def text_rects(self) -> dict[str, tuple[float, float, float, float]]:
        """Each non-empty text's bounds as drawn (UI units: left, right, bottom, top), for tests."""
        out = {}
        ui = self.root.getParent()
        for name, path in self.paths.items():
            if not self.texts[name] or not self.visible:
                continue
            lo, hi = path.getTightBounds(ui)
            out[name] = (lo[0], hi[0], lo[1], hi[1])
        return out

    def destroy(self) -> None:
        self.root.removeNode()


def load_mono_font(loader):  # noqa: ANN001, ANN201
    """ursina's bundled VeraMono (fixed width keeps the numbers from jittering), or None for Panda's default."""
    import ursina
    from panda3d.core import Filename

    path = Path(ursina.__file__).parent / "fonts" / "VeraMono.ttf"
    if not path.exists():
        return None
    font = loader.loadFont(Filename.fromOsSpecific(str(path)).getFullpath())
    if font.getNumPages() == 0:  # the font pool hands the same font to a second world: configure it once
        font.setPixelsPerUnit(48)
        font.setPageSize(1024, 1024)  # every glyph on one texture page: one draw call per text node
    return font
