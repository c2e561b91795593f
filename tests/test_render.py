"""Real rendering, offscreen through EGL: screenshots, draw calls counted with PStats, rendered geometry
read back from the scene graph. One subprocess runs every scenario (Ursina is a singleton per process)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from components.modes import MODE_COLORS, Mode
from render.markers import OCTAHEDRON, expand_template

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.render

MAX_DRAW_CALLS = 22  # scene 5, HUD quads and timeline 2, a handful of text panels, the selection's 2


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    out = tmp_path_factory.mktemp("render")
    res = subprocess.run([sys.executable, str(ROOT / "tests" / "render_scenarios.py"), str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    path = out / "results.json"
    assert path.exists(), res.stderr[-3000:]
    results = json.loads(path.read_text())
    return out, results


def scenario(scenarios, name):
    out, results = scenarios
    data = results[name]
    assert "error" not in data, data.get("error")
    return out, data


def rgb255(path):
    img = mpimg.imread(path)
    return np.rint(img[..., :3] * 255).astype(np.int64)


def count_near(img, color, tol):
    return int(np.count_nonzero(np.all(np.abs(img - np.asarray(color)) <= tol, axis=-1)))


def surface_band_pixels(img, band_colors, background, alpha):
    """Pixels per surface colour band, as drawn over the background at `alpha`."""
    blended = np.rint(alpha * np.asarray(band_colors, float) + (1 - alpha) * 255 * np.asarray(background))
    return [count_near(img, c, 4) for c in blended]


def scene_part(img, data):
    """The scene's display region of a screenshot (the sidebar is the HUD's)."""
    left, right, top, bottom = (int(round(v)) for v in data["region_px"])
    return img[top:bottom, left:right]


def test_screenshot_shows_the_surface_colours_the_trails_and_the_markers(scenarios):
    out, data = scenario(scenarios, "scene")
    full = rgb255(out / "scene.png")
    assert full.shape == (720, 1280, 3)
    img = scene_part(full, data)
    bands = surface_band_pixels(img, data["surface_colors"], data["clear_color"], data["surface_alpha"])
    assert sum(b > 400 for b in bands) >= 3, bands  # several colour bands of the surface are on screen
    assert sum(bands) > 0.08 * img.shape[0] * img.shape[1]
    fallback = np.rint(np.array(MODE_COLORS[Mode.FALLBACK]) * 255)
    assert count_near(img, fallback, 3) > 150  # trails (the scenario's agents act with the nominal policy)
    _, shade = expand_template(*OCTAHEDRON)
    marker_shades = [np.rint(fallback * s) for s in np.unique(shade) if s < 0.97]
    assert sum(count_near(img, c, 2) for c in marker_shades) > 20  # the shaded faces of the markers
    left, right, top, bottom = (int(round(v)) for v in data["sidebar_px"])
    hud = full[top:bottom, left:right]
    assert np.count_nonzero(np.all(hud > 215, axis=-1)) > 800  # HUD text


def test_h_and_g_hide_the_surface_and_the_grid(scenarios):
    out, data = scenario(scenarios, "scene")
    shown = scene_part(rgb255(out / "scene.png"), data)
    hidden = scene_part(np.load(out / "scene_hidden.npy").astype(np.int64), data)
    args = (data["surface_colors"], data["clear_color"], data["surface_alpha"])
    assert sum(surface_band_pixels(hidden, *args)) < 0.02 * sum(surface_band_pixels(shown, *args))
    assert data["messages_when_hidden"]  # both keys confirmed on screen (one text node more)
    assert data["draw_calls_hidden"] == data["draw_calls"] - 2 + 1


def test_draw_calls_do_not_depend_on_the_number_of_agents(scenarios):
    _, data = scenario(scenarios, "population")
    counts = data["draw_calls"]
    assert set(counts) == {"5", "30", "300"}
    values = {c for per_n in counts.values() for c in per_n}
    assert len(values) == 1, counts  # every frame, at every N
    assert 0 < values.pop() <= MAX_DRAW_CALLS
    _, scene = scenario(scenarios, "scene")
    assert scene["draw_calls"] == counts["30"][0]


def test_the_counter_counts_the_per_agent_baseline_honestly(scenarios):
    _, base = scenario(scenarios, "baseline")
    _, batched = scenario(scenarios, "population")
    batched_calls = batched["draw_calls"]["5"][0]
    # one trail Geom per agent instead of one for all: the count grows with the table's rows
    assert base["draw_calls"]["5"] == batched_calls - 1 + base["rows_5"]
    assert base["draw_calls"]["30"] == batched_calls - 1 + base["rows_30"]
    assert base["marker_error_5"] < 1e-6 and base["marker_error_30"] < 1e-6  # the loop heights place them too


def test_rendered_markers_sit_at_x_height_plus_lift_v(scenarios):
    _, scene = scenario(scenarios, "scene")
    assert scene["marker_identity"]
    assert scene["marker_error"] < 1e-6
    _, pop = scenario(scenarios, "population")
    assert max(pop["marker_errors"]) < 1e-6
    _, dd = scenario(scenarios, "dd")
    assert dd["marker_error"] < 1e-6


def test_differential_drive_markers_point_along_theta(scenarios):
    out, dd = scenario(scenarios, "dd")
    assert dd["heading_error"] < 1e-5
    assert dd["draw_calls"] == scenario(scenarios, "scene")[1]["draw_calls"]
    assert (out / "dd.png").stat().st_size > 10_000


def test_add_and_remove_while_rendering_keep_every_vertex_count_right(scenarios):
    _, pop = scenario(scenarios, "population")
    assert pop["problems"] == []
    assert pop["frames_checked"] > 60 and pop["episodes_ended"] > 50  # respawns happened all along
    assert 0 < pop["lod_frames"] < pop["frames_checked"]  # N = 300 went over the point budget, and back
    assert pop["key_changes"] == [1, 1, 1, -1]  # + and - through ursina's key dispatch
    assert pop["final_n"] == 6 and pop["cohort_n"] == 8  # learners; the cohort was never removed
    assert pop["scene_nodes_after_shutdown"] == pop["scene_nodes_before"]  # nothing left in the scene graph
    assert pop["ui_nodes_after_shutdown"] == pop["ui_nodes_before"]
    _, scene = scenario(scenarios, "scene")
    assert scene["trail_problems"] == ""


def test_hud_pause_and_timeline(scenarios):
    _, data = scenario(scenarios, "scene")
    assert data["hud_text_matches"] and data["hud_lines"] >= 18
    assert data["paused_frames_advanced"] == 0 and data["paused_hud"]
    assert data["timeline_segments"] == 119
    x0, x1, _, _ = data["timeline_box"]
    assert data["timeline_x_span"] == pytest.approx([x0, x1])  # stretched to the panel's width
    expected = [np.rint(np.array(MODE_COLORS[Mode(m)]) * 255).tolist() for m in (0, 1, 2)]
    assert data["timeline_colors"] == expected
    assert data["timeline_redrawn_same_length"]
    assert data["timeline_segments_after_reset"] == 0


def test_camera_zooms_about_the_point_under_the_mouse_and_slides_with_wasd(scenarios):
    _, data = scenario(scenarios, "scene")
    assert data["zoom_film_drift"] < 1e-6  # the pivot stays where it was on screen
    assert data["zoom_distance_ratio"][0] == pytest.approx(1 / 0.88)
    assert data["pan_height_change"] == 0.0 and data["pan_alignment"] == pytest.approx(1.0)
    before, after = data["origin_film_before_right"], data["origin_film_after_right"]
    assert after[0] < before[0] - 0.03 and after[1] == pytest.approx(before[1], abs=1e-3)  # the origin slid left


def run_app(args, tmp_path, env_extra=None, timeout=900):  # timeout: a guard against a hang only
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_offscreen_run_writes_screenshot_and_profile_with_counters(tmp_path):
    (tmp_path / "nominal.toml").write_text('[training]\npolicy = "nominal"\n')  # control makes no network calls
    res = run_app(["--offscreen", "--agents", "5", "--frames", "60", "--screenshot", "shot.png", "--profile", "p.json",
                   "--no-progress", "--config", "nominal.toml", "--record", "view.mp4"], tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    img = rgb255(tmp_path / "shot.png")
    assert img.shape == (720, 1280, 3) and len(np.unique(img.reshape(-1, 3), axis=0)) > 200
    prof = json.loads((tmp_path / "p.json").read_text())
    assert prof["meta"]["mode"] == "offscreen"
    assert prof["meta"]["frames"] == 60
    names = list(prof["systems"])
    order = ["PopulationSystem", "ControlSystem", "PhysicsSystem", "HeatmapSystem", "HeightSystem", "TrailBatchSystem",
             "StatsSystem", "RenderSystem", "ProfilerSystem"]
    assert [n for n in names if n in order] == order and names[-6:] == order[-6:]
    counters = prof["counters"]
    assert 0 < counters["draw_calls"]["per_frame"] <= MAX_DRAW_CALLS
    assert counters["draw_calls"]["total"] == counters["draw_calls"]["per_frame"] * 60
    calls = counters["network_forward_calls"]
    assert calls["total"] == 2 + 6  # the grid once (actor + critic), the HUD's critic query every 10th frame
    assert "60 frames" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".png", ".json")) == ["p.json", "shot.png"]
    from view.recording import probe_video

    video = probe_video(tmp_path / "view.mp4")  # --record: every frame, decodable, at the window's size
    assert video["frames"] == 60 and (video["width"], video["height"]) == (1280, 720)
    assert "video view.mp4 (60 frames" in res.stdout


def test_window_without_a_display_is_one_line(tmp_path):
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    res = run_app(["--agents", "3"], tmp_path, env)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("app.py: error:")
    assert "--offscreen" in res.stderr and "--headless" in res.stderr
    assert res.stdout == "" and list(tmp_path.iterdir()) == []


# -- the live view a researcher works in -----------------------------------------------------------
def inside(points, rect):
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    left, right, top, bottom = rect
    return (p[:, 0] > left) & (p[:, 0] < right) & (p[:, 1] > top) & (p[:, 1] < bottom)


@pytest.mark.parametrize("case", ["1280x720_panels", "1600x900_panels", "1280x720_collapsed", "1600x900_collapsed"])
def test_no_hud_panel_covers_the_surface_or_an_agent(scenarios, case):
    out, data = scenario(scenarios, "layout")
    c = data["cases"][case]
    w, h = c["size"]
    assert Image_size(out / f"layout_{case}.png") == (w, h)
    surface, agents = np.array(c["surface_px"]), np.array(c["agents_px"])
    # the camera frames the whole surface and every agent inside the scene's region
    assert all(c["surface_visible"]) and all(c["agents_visible"])
    region = c["region_px"]
    assert inside(surface, [region[0] - 0.5, region[1] + 0.5, region[2] - 0.5, region[3] + 0.5]).all()
    assert c["fits"]
    if c["panels_visible"]:
        assert {"sidebar", "stats", "scale", "timeline", "inspect", "profiler"} <= set(c["rects"])
        assert region[0] > 0.15 * w  # the scene moved right of the sidebar
    else:
        assert c["rects"] == {} and region == [0, w, 0, h]  # Tab: the whole window for the scene
    for name, rect in c["rects"].items():
        assert 0 <= rect[0] and rect[1] <= w + 0.5 and 0 <= rect[2] and rect[3] <= h + 0.5, (name, rect)
        assert not inside(surface, rect).any(), f"{name} covers part of the surface"
        assert not inside(agents, rect).any(), f"{name} covers an agent"
    # the numpy projection used for the check agrees with Panda's own
    film = c["panda_film_agent0"]
    px = region[0] + 0.5 * (film[0] + 1) * (region[1] - region[0])
    py = region[2] + 0.5 * (1 - film[1]) * (region[3] - region[2])
    assert np.allclose([px, py], agents[0], atol=0.01)


def Image_size(path):
    img = mpimg.imread(path)
    return img.shape[1], img.shape[0]


def test_actions_are_confirmed_and_the_surface_has_a_colour_scale(scenarios):
    out, data = scenario(scenarios, "layout")
    assert "profile written:\n  p.f1-" in data["messages_text"] and data["messages_rect"] is not None
    assert max(len(line) for line in data["messages_text"].split("\n")) <= 46
    lines = data["scale_text"].split("\n")
    assert lines[0].startswith("surface Q1(s, actor(s))") and lines[1] == ""  # the bar's line
    assert len(lines[2].split()) == 3  # the bar's low end, middle and high end
    assert "slice theta = 0" in data["dd_scale_text"]  # the drive view names its slice
    shot = rgb255(out / "layout_message.png")
    assert shot.shape == (720, 1280, 3)


@pytest.mark.parametrize("case", ["1280x720", "1600x900"])
def test_every_hud_line_at_its_longest_stays_in_the_sidebar(scenarios, case):
    """The longest text every panel can hold, drawn: each glyph inside the sidebar, none over the scene."""
    from tests.hud_extremes import texts

    out, data = scenario(scenarios, "hud_width")
    c = data["cases"][case]
    w, h = c["size"]
    assert Image_size(out / f"hud_longest_{case}.png") == (w, h)
    assert c["fits"]  # the panels fit the window's height (the text shrinks at most to 60 %)
    assert set(c["rects"]) == set(texts())  # every text is drawn
    sidebar, region = c["sidebar"], c["region_px"]
    assert sidebar[1] <= region[0] + 0.5  # the sidebar ends where the scene begins
    for name, rect in c["rects"].items():
        assert c["texts"][name] == texts()[name]
        left, right, top, bottom = rect
        assert sidebar[0] <= left and right <= sidebar[1], f"{name} runs out of the sidebar: {rect} vs {sidebar}"
        assert 0 <= top and bottom <= h + 0.5, (name, rect)
        panel = c["panels"][name]
        assert panel[0] - 0.5 <= left and right <= panel[1] + 0.5, (name, rect, panel)  # inside its own panel


def test_clicking_where_an_agent_is_drawn_selects_it(scenarios):
    out, data = scenario(scenarios, "picking")
    assert np.allclose(data["pixel"], data["panda_pixel"], atol=0.01)
    # that pixel shows the agent's marker (one of its shaded faces)
    colour = np.rint(np.array(MODE_COLORS[Mode(data["mode"])]) * 255)
    _, shade = expand_template(*OCTAHEDRON)
    assert min(np.abs(np.rint(colour * s) - data["drawn_rgb"]).max() for s in np.unique(shade)) <= 3
    assert data["selected"] == data["entity"]
    assert data["miss_selected_after"] == data["entity"]  # a click on nothing keeps the selection
    assert data["row_matches_entity"] and data["target_minus_agent"] < 1e-6  # the camera follows it
    assert data["highlight_points"] == data["trail_len"] > 0  # its whole trail is highlighted
    assert data["inspect_text"].startswith(f"agent {data['entity']}") and "following" in data["inspect_text"]
    for needle in ("state x", "mode ", "Q ", "q_cert", "decrease Q - q_cert", "k_low", "k_up", "certificate:"):
        assert needle in data["inspect_text"], needle
    assert data["timeline_caption"].endswith(f"agent {data['entity']}") and data["timeline_points"] > 0
    assert data["draw_calls_selected"] == data["draw_calls_unselected"] + 2
    assert data["draw_calls_selected"] <= MAX_DRAW_CALLS


def test_time_warp_advances_k_steps_per_rendered_frame(scenarios):
    _, data = scenario(scenarios, "warp")
    assert data["warp_label"] == "5"
    assert data["frames"] == data["summary_frames"] == 12
    assert data["steps"] == data["world_steps"] == 5 * 12
    assert data["profile_steps_per_frame"] == 5.0
    physics = data["profile_physics"]
    assert physics["phase"] == "simulation" and physics["per_step_ms"] == pytest.approx(physics["mean_ms"] / 5)
    assert data["hud_head"].endswith("warp 5")
    assert data["paused_steps"] == 0 and data["stepped"] == 2 and data["still_paused"]


def test_a_recording_holds_every_rendered_frame_and_decodes(scenarios):
    out, data = scenario(scenarios, "record")
    video, probe = data["video"], data["probe"]
    assert video["error"] is None and not data["partial_left"]
    assert video["frames"] == video["frames_handed"] == data["rendered"] == probe["frames"] == 30
    assert probe["codec"] == "h264" and (probe["width"], probe["height"]) == (1280, 720)
    assert probe["last_time_s"] == pytest.approx(video["seconds"] - 0.001, abs=0.002)  # real frame times
    first = np.load(out / "video_first.npy").astype(int)
    last = np.load(out / "last_rendered.npy").astype(int)
    # the HUD is in the video: the sidebar's dark background with light text, the grey scene beside it
    assert np.abs(first[:, :250].mean(axis=(0, 1)) - last[:, :250].mean(axis=(0, 1))).max() < 12
    assert np.count_nonzero(first[:, :300].min(axis=-1) > 200) > 500
    assert np.abs(first[300:, 1200:].mean(axis=(0, 1)) - 64).max() < 12


def test_trail_level_of_detail_in_the_scene(scenarios):
    _, data = scenario(scenarios, "lod")
    assert data["lod_active"] and data["stride"] > 1
    assert data["positions_match"] and data["pairs_match"] and data["colors_match"]
    assert data["draw_calls"] == data["draw_calls_full"]  # one Geom either way
    assert not data["lod_after_removal"] and data["trail_problems_after"] == ""  # full detail again, rewritten whole
    assert not data["lod_when_off"]  # --no-trail-lod


def test_the_policy_cohort_is_drawn_apart_from_the_learners(scenarios):
    """Cubes with black edges (one more draw call for all of them), dashed trails, a legend entry,
    and an inspection panel that names the group; the learners keep their octahedra."""
    out, d = scenario(scenarios, "cohort")
    assert d["cohort_rows"] == 6 and d["learner_rows"] == 20
    assert d["cohort_shape_error"] < 1e-6 and d["learner_shape_error"] < 1e-6  # each row its group's solid
    assert d["cohort_size_ratio"] > 1.05
    assert d["outline_error"] < 1e-6 and d["outline_segments"] == 6 * 12  # every cube's 12 edges
    assert d["outline_colors"] == [[0, 0, 0, 255]]
    assert d["trail_problems"] == ""  # the cohort's dashes exactly (tests/trail_oracle.py), the others whole
    assert d["draw_calls"] == d["draw_calls_no_cohort"] + 1 <= MAX_DRAW_CALLS
    (w, h), (wi, hi) = d["cohort_swatch"], d["cohort_swatch_inner"]
    assert w > 0 and h > 0 and 0 < wi < w and 0 < hi < h  # a white box inside a black one
    assert "     cohort: no noise" in d["stats_text"].split("\n")
    assert "cohort     6" in d["stats_text"] and "cohort: success" in d["stats_text"]
    assert d["inspect_text"].split("\n")[0].endswith("(cohort, no noise)")
    assert (out / "cohort.png").stat().st_size > 10_000


def test_the_learning_curve_panel_is_a_plot_in_the_sidebar(scenarios):
    _, d = scenario(scenarios, "cohort")
    evals, points = d["evaluations"], d["curve_points"]
    assert evals >= 3 and points >= 3
    seg = d["learning_segments"]
    assert seg["frame"] == 8  # the shares' plot and the gain's
    assert seg["success"] == 4 * evals and seg["gain"] == 4 * evals and seg["certified"] == 2 * evals
    assert 1 <= seg["learners"] <= points - 1 and 1 <= seg["cohort"] <= points - 1
    assert seg["nominal"] == 2 * 14  # the nominal's success and its gain of 0, dashed
    box, extent, panel, sidebar = d["learning_box"], d["learning_extent"], d["learning_panel"], d["sidebar"]
    assert extent == pytest.approx(box, abs=1e-6)  # the frames span the plot's place, nothing outside
    assert panel[0] <= box[0] < box[1] <= panel[1] and panel[2] < box[2] < box[3] < panel[3]
    assert sidebar[0] <= panel[0] and panel[1] <= sidebar[1]
    text = d["rects"]["learning"]
    assert sidebar[0] <= text[0] and text[1] <= sidebar[1] and panel[2] <= text[2] and text[3] <= panel[3]
    assert d["learning_text"].startswith("learning, episodes 1-")
