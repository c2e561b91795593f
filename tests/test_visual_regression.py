"""Visual regression: baseline and optimised runs of one seed give the same positions and the same picture.

The rendering half runs bench/visual_regression.py in a subprocess (one Ursina app per process) at a
small N; the checker itself is tested on synthetic captures, so a real difference is known to fail."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.visual_regression import POSITION_TOL, compare, diff_image, excluded_mask  # noqa: E402


@pytest.mark.render
def test_baseline_and_optimised_render_the_same_scene(tmp_path):
    # 61 frames: the last frame index (60) is a multiple of 30, so the optimised HUD refreshed everything
    # on it; TD3 starts after 20 steps so the runs contain 40 updates
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "visual_regression.py"), "--agents", "5", "--frames", "61",
                          "--start-training-step", "20", "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    result = json.loads((tmp_path / "regression.json").read_text())
    checks = result["checks"]
    where = f"diff image: {tmp_path / 'diff.png'}\n{res.stdout}{res.stderr[-1500:]}"
    assert checks["positions"]["value"] <= POSITION_TOL, where
    assert checks["trails"]["value"] <= POSITION_TOL, where
    assert checks["pixels"]["holds"], where
    assert checks["hud_text"]["holds"], where
    assert res.returncode == 0, where
    assert result["draw_calls"]["baseline"] == result["draw_calls"]["optimized"] - 1 + result["rows"]  # one per row
    assert checks["pixels"]["pixels_compared"] > 0.9 * 1280 * 720
    assert (tmp_path / "diff.png").stat().st_size > 1000


def capture(image, stats="a\nQ(s,a) 1\nb", boxes=None, shift=0.0):
    return {
        "image": image, "state": np.zeros((3, 2)) + shift, "height": np.zeros(3), "trail_pos": np.zeros((3, 4, 3)),
        "trail_len": np.full(3, 4), "hud_stats": stats,
        "hud_boxes": boxes or {"stats_panel": (0, 10, 0, 10), "profiler_panel": (0, 10, 90, 100), "volatile_lines": []},
    }


def test_the_checker_fails_on_a_real_difference_and_ignores_only_what_it_should():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (60, 100, 3), dtype=np.uint8)
    same = compare(capture(img), capture(img.copy(), stats="a\nQ(s,a) 2\nb"))
    assert all(c["holds"] for c in same.values())  # only a Q(s,a) line differs
    changed = img.copy()
    changed[30:40, 30:40] = 255 - changed[30:40, 30:40]  # 100 pixels, 1.7 % of the image
    changed[2:5, 92:98] = 0  # inside the profiler panel: not compared
    checks = compare(capture(img), capture(changed, shift=2 * POSITION_TOL))
    assert not checks["pixels"]["holds"] and checks["pixels"]["pixels_over"] <= 100
    assert not checks["positions"]["holds"]
    assert checks["pixels"]["pixels_differing_in_excluded_areas"] > 0
    text = compare(capture(img), capture(img, stats="a\nQ(s,a) 1\nc"))
    assert not text["hud_text"]["holds"] and text["hud_text"]["unexpected_lines"] == [["b", "c"]]
    mask = excluded_mask(img.shape[:2], capture(img))
    out = diff_image(img, changed, mask)
    assert out.shape == img.shape and (out[30:40, 30:40, 0] >= 96).all() and (out[30:40, 30:40, 1] == 0).all()
