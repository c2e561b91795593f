"""The HUD: the stats text with its legend (top left), the profiler panel (top right), and one Geom
holding both translucent backgrounds and the legend's colour swatches. Three draw calls, whatever
the number of agents.

Text goes into raw Panda3D TextNodes (one batch each with all glyphs on one texture page; glyphs
are built at cull time) and only when HudText's version for it moved; ursina's Text would
rebuild its nodes on every assignment.
"""
from __future__ import annotations

from pathlib import Path

from panda3d.core import Geom, GeomTriangles, NodePath, TextNode, TransparencyAttrib

from components.modes import MODE_COLORS, TRAINING_CERTIFIED_COLOR, Mode
from components.view_state import HudText
from render.vertex_arrays import colors, geom_node, new_vertex_data, positions, rgba8
from systems.hud_text import LEGEND, LEGEND_INDENT

TEXT_SCALE = 0.0165  # UI units per text line (the UI is 1 unit high)
MARGIN = 0.012
PAD = 0.4  # background padding, in text units
TEXT_RGBA = (0.93, 0.93, 0.95, 1.0)
PANEL_RGBA = (0.02, 0.02, 0.05, 0.62)
LEGEND_COLORS = {
    "certified": MODE_COLORS[Mode.CERTIFIED],
    "relax": MODE_COLORS[Mode.RELAX],
    "fallback": MODE_COLORS[Mode.FALLBACK],
    "training": TRAINING_CERTIFIED_COLOR,
}
PANELS = 2  # quads 0 and 1: backgrounds; then one swatch quad per legend entry


def text_extent(text: str) -> tuple[int, int]:
    """(longest line in characters, lines): with the monospace font that is the text's size."""
    lines = text.split("\n")
    return max((len(line) for line in lines), default=0), len(lines)


def legend_rows(text: str) -> dict[str, int]:
    """Legend entry name -> its line number in `text` (entries not shown are absent)."""
    lines = text.split("\n")
    rows = {}
    for name, label in LEGEND:
        wanted = " " * LEGEND_INDENT + label
        if wanted in lines:
            rows[name] = lines.index(wanted)
    return rows


class Hud:
    def __init__(self, ui: NodePath, aspect: float, font) -> None:  # noqa: ANN001
        self.aspect = aspect
        self.stats_node = self._text_node("hud-stats", font)
        self.profiler_node = self._text_node("hud-profiler", font)
        self.char_w = self.stats_node.calcWidth("M") or 0.6
        self.line_h = self.stats_node.getLineHeight() or 1.2
        self.stats_np = ui.attachNewNode(self.stats_node)
        self.profiler_np = ui.attachNewNode(self.profiler_node)
        for np_ in (self.stats_np, self.profiler_np):
            np_.setScale(TEXT_SCALE)
            np_.setBin("fixed", 10)
        top = 0.5 - MARGIN - 1.0 * TEXT_SCALE
        self.stats_np.setPos(-0.5 * aspect + MARGIN + PAD * TEXT_SCALE, top, 0)  # y-up coordinates (ursina)
        quads = PANELS + len(LEGEND)
        self.vdata = new_vertex_data("hud-panels", 4 * quads)
        col = colors(self.vdata)
        col[: 4 * PANELS] = rgba8(PANEL_RGBA)
        for k, (name, _label) in enumerate(LEGEND):
            col[4 * (PANELS + k) : 4 * (PANELS + k + 1)] = rgba8((*LEGEND_COLORS[name], 1.0))
        prim = GeomTriangles(Geom.UH_static)
        for q in range(quads):
            prim.addVertices(4 * q, 4 * q + 1, 4 * q + 2)
            prim.addVertices(4 * q, 4 * q + 2, 4 * q + 3)
        self.panels_np, _ = geom_node(ui, "hud-panels", self.vdata, prim)
        self.panels_np.setTransparency(TransparencyAttrib.M_alpha)
        self.panels_np.setBin("fixed", 0)
        self.panels_np.setTwoSided(True)
        self.stats_version = -1
        self.profiler_version = -1
        self.assignments = 0  # text (re)assignments, for tests and the benchmark

    @staticmethod
    def _text_node(name: str, font) -> TextNode:  # noqa: ANN001
        node = TextNode(name)
        if font is not None:
            node.setFont(font)
        node.setAlign(TextNode.ALeft)
        node.setTextColor(*TEXT_RGBA)
        return node

    def _quad(self, q: int, left: float, right: float, bottom: float, top: float) -> None:
        positions(self.vdata)[4 * q : 4 * q + 4] = [(left, bottom, 0), (right, bottom, 0), (right, top, 0), (left, top, 0)]

    def _panel(self, q: int, text_np: NodePath, text: str) -> None:
        cols, rows = text_extent(text)
        x, y, _ = text_np.getPos()
        s = TEXT_SCALE
        if not text:
            self._quad(q, x, x, y, y)
            return
        self._quad(q, x - PAD * s, x + (cols * self.char_w + PAD) * s,
                   y - ((rows - 1) * self.line_h + 0.35 + PAD) * s, y + (0.9 + PAD) * s)

    def _swatches(self, text: str) -> None:
        rows = legend_rows(text)
        x, y, _ = self.stats_np.getPos()
        s = TEXT_SCALE
        for k, (name, _label) in enumerate(LEGEND):
            if name in rows:
                base = y - rows[name] * self.line_h * s
                self._quad(PANELS + k, x + 0.1 * s, x + (LEGEND_INDENT - 1.5) * self.char_w * s,
                           base - 0.05 * s, base + 0.65 * s)
            else:
                self._quad(PANELS + k, x, x, y, y)

    def sync(self, hud: HudText) -> None:
        if hud.stats_version != self.stats_version:
            self.stats_node.setText(hud.stats)
            self.stats_version = hud.stats_version
            self.assignments += 1
            self._panel(0, self.stats_np, hud.stats)
            self._swatches(hud.stats)
        if hud.profiler_version != self.profiler_version:
            self.profiler_node.setText(hud.profiler)
            self.profiler_version = hud.profiler_version
            self.assignments += 1
            cols, _ = text_extent(hud.profiler)
            self.profiler_np.setPos(0.5 * self.aspect - MARGIN - (cols * self.char_w + PAD) * TEXT_SCALE,
                                    0.5 - MARGIN - 1.0 * TEXT_SCALE, 0)
            self._panel(1, self.profiler_np, hud.profiler)

    def destroy(self) -> None:
        for np_ in (self.stats_np, self.profiler_np, self.panels_np):
            np_.removeNode()


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

