"""The sidebar layout as arithmetic (no renderer), and the video writer fed with made-up frames."""
import numpy as np
import pytest

from render.layout import (
    MIN_TEXT_SHARE,
    PANEL_ORDER,
    TEXT_SCALE,
    compute_layout,
    overlaps,
)
from view.recording import VideoWriter, probe_video, video_library_error

CHAR_W, LINE_H = 0.6, 1.17  # VeraMono's advance and line height in text units
LINES = {"stats": 24, "scale": 3, "timeline": 1, "learning": 9, "inspect": 8, "profiler": 8, "messages": 3}


@pytest.mark.parametrize("size", [(1280, 720), (1600, 900), (1024, 768), (1920, 1080)])
def test_the_sidebar_and_the_scene_share_the_window_without_overlap(size):
    w, h = size
    lay = compute_layout(w, h, LINES, CHAR_W, LINE_H)
    assert lay.fits
    sidebar_px = lay.to_pixels(lay.sidebar, w, h)
    region_px = lay.region_pixels(w, h)
    assert sidebar_px[0] == pytest.approx(0) and sidebar_px[1] == pytest.approx(region_px[0])  # side by side
    assert region_px[1] == pytest.approx(w) and region_px[3] == pytest.approx(h)
    rects = [lay.panels[name] for name in (*PANEL_ORDER, "messages")]
    for i, a in enumerate(rects):
        assert lay.sidebar[0] <= a[0] and a[1] <= lay.sidebar[1]  # inside the sidebar
        for b in rects[i + 1:]:
            assert not overlaps(a, b)
    bar, plot, learning = lay.bar, lay.plot, lay.learning
    assert overlaps(bar, lay.panels["scale"]) and overlaps(plot, lay.panels["timeline"])
    panel = lay.panels["learning"]  # the learning curve's plot: inside its panel, under the caption line
    assert panel[0] <= learning[0] < learning[1] <= panel[1] and panel[2] < learning[2] < learning[3] < panel[3]
    line = (panel[3] - learning[3]) / lay.text_scale
    assert 1.0 < line < 1.17 + 1.0 and (learning[3] - learning[2]) / lay.text_scale > 4 * 1.17  # 5 blank lines
    collapsed = compute_layout(w, h, LINES, CHAR_W, LINE_H, panels_visible=False)
    assert collapsed.region == (0.0, 1.0, 0.0, 1.0) and collapsed.panels == {}


def test_a_sidebar_taller_than_the_window_shrinks_its_text_until_it_fits():
    full = compute_layout(1280, 720, {**LINES, "stats": 12}, CHAR_W, LINE_H)  # a short stats panel fits
    assert full.text_scale == TEXT_SCALE
    tall = compute_layout(1280, 720, {**LINES, "stats": 34, "messages": 3}, CHAR_W, LINE_H)  # the real sidebar
    assert tall.fits and MIN_TEXT_SHARE * TEXT_SCALE <= tall.text_scale < TEXT_SCALE
    rects = [tall.panels[name] for name in (*PANEL_ORDER, "messages")]
    for i, a in enumerate(rects):
        assert a[2] >= -0.5 and a[3] <= 0.5
        for b in rects[i + 1:]:
            assert not overlaps(a, b)  # the messages no longer cover the profiler's last lines
    assert tall.sidebar == full.sidebar and tall.region == full.region  # the scene does not move


def test_a_layout_that_cannot_fit_even_at_the_smallest_text_says_so():
    lay = compute_layout(1280, 720, {**LINES, "stats": 120}, CHAR_W, LINE_H)
    assert not lay.fits and lay.text_scale == pytest.approx(MIN_TEXT_SHARE * TEXT_SCALE)


def frames(n, w=64, h=48):
    for k in range(n):
        img = np.zeros((h, w, 4), np.uint8)
        img[..., 1] = (np.arange(w) * 4)[None, :]
        img[k % h, :, 2] = 255  # a moving line, bottom row first
        img[..., 3] = 255
        yield img


def test_the_writer_keeps_every_frame_at_its_real_time(tmp_path):
    assert video_library_error() is None
    writer = VideoWriter(tmp_path / "v.mp4", 64, 48)
    t0 = 100.0
    for k, img in enumerate(frames(40, 64, 48)):
        writer.add(img, t0 + 0.05 * k)  # 20 frames per second
    assert writer.close() is None
    assert writer.frames_written == writer.frames_in == 40
    probe = probe_video(tmp_path / "v.mp4")
    assert probe["frames"] == 40 and probe["codec"] == "h264" and (probe["width"], probe["height"]) == (64, 48)
    assert probe["last_time_s"] == pytest.approx(39 * 0.05, abs=0.002)
    assert writer.mean_fps == pytest.approx(20.0, rel=0.05)
    first = probe["first_frame"].astype(int)
    assert first[-1, :, 0].mean() > 150 > first[0, :, 0].mean()  # the red line in the bottom row (given bottom row first)
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_odd_window_sizes_are_recorded_one_pixel_smaller(tmp_path):
    writer = VideoWriter(tmp_path / "odd.mp4", 65, 49)  # H.264 4:2:0 needs even sizes
    for img in frames(3, 65, 49):
        writer.add(img)
    assert writer.close() is None
    probe = probe_video(tmp_path / "odd.mp4")
    assert (probe["width"], probe["height"], probe["frames"]) == (64, 48, 3)


def test_a_writer_that_cannot_finish_reports_it_and_leaves_nothing(tmp_path):
    target = tmp_path / "v.mp4"
    writer = VideoWriter(target, 32, 32)
    for img in frames(5, 32, 32):
        writer.add(img)
    target.mkdir()  # something took the name meanwhile: the finished file cannot be moved there
    error = writer.close()
    assert error is not None and "v.mp4" in error
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"] and target.is_dir()  # no partial file left
    assert writer.add(next(frames(1, 32, 32))) is False  # a closed writer takes nothing more


def test_an_encoding_failure_is_reported_not_raised(tmp_path):
    writer = VideoWriter(tmp_path / "v.mp4", 32, 32)
    writer.add(np.zeros((8, 8, 3), np.uint8))  # not BGRA: the worker fails on it
    error = writer.close()
    assert error is not None and "video not written" in error
    assert list(tmp_path.iterdir()) == []


def test_a_world_without_a_learning_curve_gives_its_panel_no_room():
    with_curve = compute_layout(1280, 720, LINES, CHAR_W, LINE_H)
    without = compute_layout(1280, 720, {**LINES, "learning": 0}, CHAR_W, LINE_H)
    p = without.panels["learning"]
    assert p[2] == p[3]  # no height, no gap
    assert without.panels["inspect"][3] == pytest.approx(without.panels["timeline"][2] - 0.6 * without.text_scale)
    assert without.panels["inspect"][3] > with_curve.panels["inspect"][3]
