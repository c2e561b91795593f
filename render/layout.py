"""Where everything goes on screen: a sidebar of panels on the left, the 3D scene in the rest.

The scene is drawn into its own display region to the right of the sidebar, so no panel can
ever cover the surface or an agent, at any window size; Tab hides the sidebar and the scene
takes the whole window. The panels stack from the top of the sidebar in PANEL_ORDER; the
messages sit at its bottom. Coordinates are ursina's UI units: y from -0.5 (bottom) to 0.5
(top), x from -aspect/2 to aspect/2; text sizes in text units (one text unit = TEXT_SCALE UI
units). Pure arithmetic: tested without a renderer.
"""
from __future__ import annotations

from attrs import define, field

from systems.hud_text import LEARNING_LEGEND, LEARNING_PLOT_LINES, SIDEBAR_COLUMNS

TEXT_SCALE = 0.0148  # UI units per text unit (about 10.7 px per text unit at 720 px)
MARGIN = 0.008  # UI units around the sidebar's content
PAD = 0.35  # text units of padding inside a panel
GAP = 0.6  # text units between panels
MAX_SIDEBAR_SHARE = 0.5  # of the window's width, at most
TIMELINE_PLOT_LINES = 4.0  # the timeline's plot, in text lines
BAR_LINES = 1.0  # the colour bar's height, in text lines
MIN_TEXT_SHARE = 0.6  # a sidebar too tall for the window shrinks its text, down to this share of TEXT_SCALE
PANEL_ORDER = ("stats", "scale", "timeline", "learning", "inspect", "profiler")
LEGEND_LINES = (len(LEARNING_LEGEND) + 1) // 2  # the learning panel's legend, under its plot

Rect = tuple[float, float, float, float]  # left, right, bottom, top


def overlaps(a: Rect, b: Rect) -> bool:
    """True if two rectangles share any area (touching edges do not count)."""
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


@define
class Layout:
    aspect: float
    panels_visible: bool
    sidebar: Rect  # UI units; zero width when the panels are hidden
    region: Rect  # the scene's display region, as fractions of the window (left, right, bottom, top)
    panels: dict = field(factory=dict)  # name -> its rectangle (UI units), background included
    text_origin: dict = field(factory=dict)  # name -> (x, y) of its first line's baseline (UI units)
    bar: Rect = (0.0, 0.0, 0.0, 0.0)  # the colour bar
    plot: Rect = (0.0, 0.0, 0.0, 0.0)  # the timeline's plot
    learning: Rect = (0.0, 0.0, 0.0, 0.0)  # the learning-curve plot (its blank lines, under the caption)
    fits: bool = True  # every panel is inside the window
    text_scale: float = TEXT_SCALE  # UI units per text unit: smaller when the panels would not fit otherwise

    def to_pixels(self, rect: Rect, width: int, height: int) -> Rect:
        """A UI rectangle in window pixels (left, right, top, bottom; y grows downwards)."""
        a = self.aspect
        left, right, bottom, top = rect
        return ((left + a / 2) * height, (right + a / 2) * height, (0.5 - top) * height, (0.5 - bottom) * height)

    def region_pixels(self, width: int, height: int) -> Rect:
        """The scene's display region in window pixels (left, right, top, bottom)."""
        left, right, bottom, top = self.region
        return (left * width, right * width, (1 - top) * height, (1 - bottom) * height)


def compute_layout(width: int, height: int, lines: dict[str, int], char_w: float, line_h: float,
                   panels_visible: bool = True, scale_bar_line: int = 1) -> Layout:
    """The layout for a window of width x height pixels and panels of `lines[name]` text lines.

    `scale_bar_line` is the line of the scale text where the colour bar goes (its empty line)."""
    aspect = width / height
    if not panels_visible:
        return Layout(aspect, False, (-aspect / 2, -aspect / 2, -0.5, 0.5), (0.0, 1.0, 0.0, 1.0))
    inner = (SIDEBAR_COLUMNS * char_w + 2 * PAD) * TEXT_SCALE  # the width stays: the scene does not jump
    side_w = min(inner + 2 * MARGIN, MAX_SIDEBAR_SHARE * aspect)
    left = -aspect / 2
    sidebar = (left, left + side_w, -0.5, 0.5)
    x0, x1 = left + MARGIN, left + side_w - MARGIN
    s = _fitting_scale(lines, line_h)
    text_x = x0 + PAD * s
    layout = Layout(aspect, True, sidebar, (side_w / aspect, 1.0, 0.0, 1.0), text_scale=s)
    y = 0.5 - MARGIN
    for name in PANEL_ORDER:
        n = max(int(lines.get(name, 0)), 0)
        if name == "learning" and n == 0:  # no learning curve in this world: no panel, no gap
            layout.panels[name] = (x0, x1, y, y)
            layout.text_origin[name] = (text_x, y)
            continue
        body = n * line_h
        if name == "timeline":
            body = (max(n, 1) + TIMELINE_PLOT_LINES) * line_h  # caption + plot
        top = y
        bottom = top - (body + 2 * PAD) * s
        layout.panels[name] = (x0, x1, bottom, top)
        baseline = top - (PAD + 0.9) * s  # the first line's baseline: its cap height below the top pad
        layout.text_origin[name] = (text_x, baseline)
        if name == "scale":
            bar_top = top - (PAD + scale_bar_line * line_h + 0.1) * s
            layout.bar = (text_x, x1 - PAD * s, bar_top - (BAR_LINES * line_h - 0.3) * s, bar_top)
        if name == "timeline":
            plot_top = top - (PAD + max(n, 1) * line_h + 0.2) * s
            layout.plot = (text_x, x1 - PAD * s, bottom + PAD * s, plot_top)
        if name == "learning":
            caption = max(1, n - LEARNING_PLOT_LINES - LEGEND_LINES)  # a long caption folds
            layout.learning = (text_x, x1 - PAD * s, top - (PAD - 0.05 + (caption + LEARNING_PLOT_LINES) * line_h) * s,
                               top - (PAD + (caption - 1) * line_h + 1.3) * s)
        y = bottom - GAP * s
    n = max(int(lines.get("messages", 0)), 0)
    m_bottom = -0.5 + MARGIN
    m_top = m_bottom + (n * line_h + 2 * PAD) * s if n else m_bottom
    layout.panels["messages"] = (x0, x1, m_bottom, m_top)
    layout.text_origin["messages"] = (text_x, m_top - (PAD + 0.9) * s)
    lowest = min(r[2] for name, r in layout.panels.items() if name != "messages")
    layout.fits = lowest >= -0.5 and (not n or m_top <= lowest)
    return layout


def _fitting_scale(lines: dict[str, int], line_h: float) -> float:
    """TEXT_SCALE, or less when the panels and messages stacked at that size would leave the window
    (every height in the stack is proportional to the text scale), but never below MIN_TEXT_SHARE of it."""
    units = 0.0  # the stack's height in text units
    for name in PANEL_ORDER:
        n = max(int(lines.get(name, 0)), 0)
        if name == "learning" and n == 0:
            continue
        body = (max(n, 1) + TIMELINE_PLOT_LINES) * line_h if name == "timeline" else n * line_h
        units += body + 2 * PAD + GAP
    units -= GAP  # the messages may touch the last panel
    n = max(int(lines.get("messages", 0)), 0)
    if n:
        units += n * line_h + 2 * PAD
    available = 1.0 - 2 * MARGIN
    return TEXT_SCALE * max(MIN_TEXT_SHARE, min(1.0, available / (units * TEXT_SCALE)))
