"""The HUD: stats text with its legend (top left) and the profiler panel (top right).

On llvmpipe, drawing ~1500 glyphs costs about 2.5 ms every frame even when the text did not
change. So the panels are drawn into a texture (a one-shot offscreen buffer: two text nodes and
one mesh for the backgrounds and legend swatches, 3 draw calls) only on frames where HudText
changed, and every frame the screen shows that texture at 1:1 pixel scale as one opaque mesh of
two quads (1 draw call).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from panda3d.core import (
    Camera,
    Geom,
    GeomTriangles,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
    InternalName,
    NodePath,
    OrthographicLens,
    SamplerState,
    TextNode,
    Texture,
    TransparencyAttrib,
)

from components.modes import MODE_COLORS, TRAINING_CERTIFIED_COLOR, Mode
from components.view_state import HudText
from render.vertex_arrays import colors, geom_node, new_vertex_data, positions, rgba8
from systems.hud_text import LEGEND, LEGEND_INDENT

TEXT_PX = 12.0  # pixels per text unit (VeraMono: lines about 14 px apart, characters about 7 px wide)
MARGIN_PX = 8  # between the screen's edge and a panel
PAD_PX = 6  # between a panel's edge and its text
TEX_W, TEX_H = 1024, 512  # the HUD texture: stats region at the left, profiler region at the right
PROFILER_X = 640  # where the profiler's region starts in the texture
TEXT_RGBA = (0.93, 0.93, 0.95, 1.0)
PANEL_RGBA = (0.07, 0.07, 0.10, 1.0)
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


def _textured_format() -> GeomVertexFormat:
    arr = GeomVertexArrayFormat()
    arr.addColumn(InternalName.getVertex(), 3, Geom.NT_float32, Geom.C_point)
    arr.addColumn(InternalName.getTexcoord(), 2, Geom.NT_float32, Geom.C_texcoord)
    fmt = GeomVertexFormat()
    fmt.addArray(arr)
    return GeomVertexFormat.registerFormat(fmt)


class Hud:
    def __init__(self, app, ui: NodePath, font) -> None:  # noqa: ANN001
        w, h = app.win.getXSize(), app.win.getYSize()
        self.win_size = (w, h)
        self.unit = 1.0 / h  # UI units per pixel (ursina's UI is one unit high)
        self.texture = Texture("hud")
        self.texture.setMinfilter(SamplerState.FT_nearest)
        self.texture.setMagfilter(SamplerState.FT_nearest)
        self.buffer = app.win.makeTextureBuffer("hud-layer", TEX_W, TEX_H, self.texture)
        self.buffer.setSort(app.win.getSort() - 100)  # before the window, in the same frame
        self.buffer.setClearColor((0, 0, 0, 0))
        self.buffer.setActive(False)
        self.layer = NodePath("hud-layer")
        self.layer.setDepthTest(False)
        self.layer.setDepthWrite(False)
        lens = OrthographicLens()
        lens.setFilmSize(TEX_W, TEX_H)
        lens.setNearFar(-100, 100)
        camera = Camera("hud-layer-camera")
        camera.setLens(lens)
        region = self.buffer.makeDisplayRegion()
        region.setCamera(self.layer.attachNewNode(camera))
        self.stats_node = self._text_node("hud-stats", font)
        self.profiler_node = self._text_node("hud-profiler", font)
        self.char_w = (self.stats_node.calcWidth("M") or 0.6) * TEXT_PX
        self.line_h = (self.stats_node.getLineHeight() or 1.2) * TEXT_PX
        self.stats_np = self.layer.attachNewNode(self.stats_node)
        self.profiler_np = self.layer.attachNewNode(self.profiler_node)
        for np_ in (self.stats_np, self.profiler_np):
            np_.setScale(TEXT_PX)
            np_.setBin("fixed", 10)
        self.stats_np.setPos(*self._layer_xy(PAD_PX, PAD_PX + 0.9 * TEXT_PX))
        self.profiler_np.setPos(*self._layer_xy(PROFILER_X + PAD_PX, PAD_PX + 0.9 * TEXT_PX))
        self._build_backgrounds()
        self._build_screen_quads(ui)
        self.stats_version = -1
        self.profiler_version = -1
        self.assignments = 0  # text (re)assignments, for tests and the benchmark
        self.layer_renders = 0  # frames the HUD texture was redrawn

    # -- the texture's scene -------------------------------------------------------------------
    @staticmethod
    def _text_node(name: str, font) -> TextNode:  # noqa: ANN001
        node = TextNode(name)
        if font is not None:
            node.setFont(font)
        node.setAlign(TextNode.ALeft)
        node.setTextColor(*TEXT_RGBA)
        return node

    @staticmethod
    def _layer_xy(x_px: float, y_px: float) -> tuple[float, float, float]:
        """Texture pixel (from the top left) -> the layer camera's coordinates (y up)."""
        return x_px - TEX_W / 2, TEX_H / 2 - y_px, 0.0

    def _build_backgrounds(self) -> None:
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
        self.panels_np, _ = geom_node(self.layer, "hud-panels", self.vdata, prim)
        self.panels_np.setBin("fixed", 0)
        self.panels_np.setTwoSided(True)

    def _layer_quad(self, q: int, x0: float, y0: float, x1: float, y1: float) -> None:
        """Quad q of the background mesh over texture pixels [x0, x1] x [y0, y1] (y from the top)."""
        a, b = self._layer_xy(x0, y1), self._layer_xy(x1, y0)
        positions(self.vdata)[4 * q : 4 * q + 4] = [(a[0], a[1], 0), (b[0], a[1], 0), (b[0], b[1], 0), (a[0], b[1], 0)]

    def _panel_size(self, text: str) -> tuple[int, int]:
        if not text:
            return 0, 0
        cols, rows = text_extent(text)
        width = int(np.ceil(cols * self.char_w + 2 * PAD_PX))
        height = int(np.ceil((rows - 1) * self.line_h + 1.25 * TEXT_PX + 2 * PAD_PX))
        return width, height

    # -- on screen -----------------------------------------------------------------------------
    def _build_screen_quads(self, ui: NodePath) -> None:
        self.screen_vdata = GeomVertexData("hud-screen", _textured_format(), Geom.UH_dynamic)
        self.screen_vdata.setNumRows(8)
        prim = GeomTriangles(Geom.UH_static)
        for q in (0, 4):
            prim.addVertices(q, q + 1, q + 2)
            prim.addVertices(q, q + 2, q + 3)
        self.screen_np, _ = geom_node(ui, "hud", self.screen_vdata, prim)
        self.screen_np.setTexture(self.texture)
        self.screen_np.setTransparency(TransparencyAttrib.M_none)  # the panels are opaque
        self.screen_np.setTwoSided(True)
        self.screen_np.setBin("fixed", 0)

    def _screen_quad(self, first: int, tex_x: int, size: tuple[int, int], screen_x: int) -> None:
        """Show texture pixels [tex_x, tex_x + w] x [0, h] at screen pixel (screen_x, MARGIN_PX), 1:1."""
        w, h = size
        win_w, win_h = self.win_size
        data = np.frombuffer(memoryview(self.screen_vdata.modifyArray(0)), dtype=np.float32).reshape(-1, 5)
        left = (screen_x - win_w / 2) * self.unit
        right = left + w * self.unit
        top = (win_h / 2 - MARGIN_PX) * self.unit
        bottom = top - h * self.unit
        u0, u1 = tex_x / TEX_W, (tex_x + w) / TEX_W
        v1 = 1.0
        v0 = 1.0 - h / TEX_H
        data[first : first + 4] = [(left, bottom, 0, u0, v0), (right, bottom, 0, u1, v0),
                                   (right, top, 0, u1, v1), (left, top, 0, u0, v1)]

    # -- per frame -----------------------------------------------------------------------------
    def _swatches(self, text: str) -> None:
        rows = legend_rows(text)
        for k, (name, _label) in enumerate(LEGEND):
            if name in rows:
                top = PAD_PX + rows[name] * self.line_h + 0.2 * TEXT_PX
                self._layer_quad(PANELS + k, PAD_PX + 0.1 * self.char_w, top,
                                 PAD_PX + (LEGEND_INDENT - 1.5) * self.char_w, top + 0.75 * TEXT_PX)
            else:
                self._layer_quad(PANELS + k, 0, 0, 0, 0)

    def sync(self, hud: HudText) -> bool:
        """Copy changed strings into the texture's text nodes; True if the texture is redrawn this frame."""
        changed = False
        if hud.stats_version != self.stats_version:
            self.stats_node.setText(hud.stats)
            self.stats_version = hud.stats_version
            size = self._panel_size(hud.stats)
            self._layer_quad(0, 0, 0, *size)
            self._swatches(hud.stats)
            self._screen_quad(0, 0, size, MARGIN_PX)
            changed = True
        if hud.profiler_version != self.profiler_version:
            self.profiler_node.setText(hud.profiler)
            self.profiler_version = hud.profiler_version
            size = self._panel_size(hud.profiler)
            self._layer_quad(1, PROFILER_X, 0, PROFILER_X + size[0], size[1])
            self._screen_quad(4, PROFILER_X, size, self.win_size[0] - MARGIN_PX - size[0])
            changed = True
        if changed:
            self.assignments += 1
            self.layer_renders += 1
            self.buffer.setActive(True)
            self.buffer.setOneShot(True)  # draw the texture this frame, then stop
        return changed

    def destroy(self) -> None:
        self.buffer.getEngine().removeWindow(self.buffer)
        self.layer.removeNode()
        self.screen_np.removeNode()


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
