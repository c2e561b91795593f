"""Trail and marker colours stay distinguishable over every band of the critic surface as drawn, over the
background, from each other, and on the HUD's legend; the colour difference is CIEDE2000."""
import numpy as np
import pytest

from components.colormap import SURFACE_BANDS, banded_gradient
from components.colour_difference import ciede2000, rgb_difference
from components.modes import MODE_COLORS, TRAINING_CERTIFIED_COLOR
from config.schema import VisualConfig

BACKGROUND = np.array([0.25, 0.25, 0.25])  # the window's clear colour (ursina's dark grey)
PALETTE = np.array([*MODE_COLORS.values(), TRAINING_CERTIFIED_COLOR])
MIN_OVER_SURFACE = 20.0  # CIEDE2000: a large difference, far beyond a just-noticeable one (about 1-2)
MIN_BETWEEN = 40.0


@pytest.mark.parametrize("lab1,lab2,expected", [  # Sharma, Wu and Dalal (2005), pairs 1, 7, 13, 17, 25
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
])
def test_ciede2000_matches_the_published_test_data(lab1, lab2, expected):
    assert float(ciede2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)


def surface_as_drawn(alpha):
    t = (np.arange(SURFACE_BANDS) + 0.5) / SURFACE_BANDS
    return banded_gradient(t, alpha)[:, :3] * alpha + (1 - alpha) * BACKGROUND


def test_every_mode_colour_stands_out_over_every_surface_band_and_the_background():
    seen = np.vstack([surface_as_drawn(VisualConfig().surface_alpha), BACKGROUND[None]])
    diff = rgb_difference(PALETTE[:, None, :], seen[None, :, :])
    assert diff.min() >= MIN_OVER_SURFACE, diff.min(axis=1)
    # and the old palette, which reused the surface's hues, did not
    old = np.array([(0.3, 0.7, 1.0), (0.2, 0.8, 0.3), (0.9, 0.2, 0.2), (1.0, 0.9, 0.0)])
    assert rgb_difference(old[:, None, :], seen[None, :, :]).min() < 15


def test_mode_colours_differ_from_each_other():
    d = rgb_difference(PALETTE[:, None, :], PALETTE[None, :, :])
    d[np.eye(len(PALETTE), dtype=bool)] = np.inf
    assert d.min() >= MIN_BETWEEN


def test_legend_swatches_show_on_the_sidebar():
    from render.hud import SIDEBAR_RGBA

    d = rgb_difference(PALETTE, np.array(SIDEBAR_RGBA[:3])[None, :])
    assert d.min() >= 10  # the dark swatches are still told from the sidebar (and from each other above)


def test_the_learning_curves_series_stand_apart_on_their_plot():
    """Each series of the learning-curve panel against the plot's background (the scene's) and the others."""
    from render.learning_plot import FRAME_RGBA, LEARNING_COLORS

    colours = np.array(list(LEARNING_COLORS.values()))
    assert rgb_difference(colours, BACKGROUND[None, :]).min() >= MIN_BETWEEN
    diff = rgb_difference(colours[:, None, :], colours[None, :, :])
    off = diff[~np.eye(len(colours), dtype=bool)]
    assert off.min() >= MIN_OVER_SURFACE, dict(zip(LEARNING_COLORS, diff.round(1).tolist()))
    assert rgb_difference(np.array(FRAME_RGBA[:3]), BACKGROUND).min() >= MIN_OVER_SURFACE
