"""Rendering scenarios run offscreen (EGL) in one process, for tests/test_render.py.

Usage: python tests/render_scenarios.py OUT_DIR   -> OUT_DIR/results.json and screenshots.

Ursina is a singleton, so every scenario builds its world into the same app and tears it down
after; the results are plain measurements (draw calls, errors, counts) that the tests judge.
"""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.agent_table import AgentTable  # noqa: E402
from components.critic_surface import CriticSurface  # noqa: E402
from components.resources import PopulationRequests  # noqa: E402
from components.training_stats import TrainingStats  # noqa: E402
from components.view_state import HudText  # noqa: E402
from config import build_config  # noqa: E402
from render.app_setup import create_app  # noqa: E402
from render.markers import AgentMarkers  # noqa: E402
from render.screenshot import grab_rgb, save_png  # noqa: E402
from render.vertex_arrays import read_colors, read_indices, read_positions  # noqa: E402
from runtime.rendered import build_rendered_world  # noqa: E402
from tests.trail_oracle import chains, table_trail  # noqa: E402


def config(agents, **sections):
    """Seeded; agents act with the nominal policy, so colours and network calls are known."""
    overrides = {"visual": {"agents": agents}, "run": {"seed": 42}, "training": {"policy": "nominal"}}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return build_config(overrides=overrides)


def ui_root():
    from ursina import camera

    return camera.ui_render


def live_vdata(nodepath, geom_index=0):
    return nodepath.node().getGeom(geom_index).getVertexData()


def marker_error(rs, table):
    """Max |rendered marker centre - (x, height + 0.05, v)| over agents, from the Geom in the scene graph."""
    m = rs.markers
    verts = read_positions(live_vdata(m.nodepath))[: table.n * m.k].reshape(table.n, m.k, 3).astype(np.float64)
    centres = verts - m.offsets_for(table)
    expected = AgentMarkers.centres(table, rs.surface_coords)
    identity = np.allclose(np.array(m.nodepath.getMat(rs.app.render)), np.eye(4))
    return float(np.max(np.abs(centres - expected[:, None, :]))), bool(identity)


def trail_problems(rs, table):
    """'' if the drawn trail segments are exactly every agent's live trail; else what is wrong."""
    t = rs.trails
    geom = t.nodepath.node().getGeom(0)
    pos = read_positions(geom.getVertexData())
    idx = read_indices(geom.getPrimitive(0))
    L = t.L
    if idx.size != table.n * L * 2:
        return f"index count {idx.size} for {table.n} rows"
    try:
        found = chains(idx, L, table.n)
    except AssertionError as exc:
        return str(exc)
    for r in range(table.n):
        pts, _ = table_trail(table, r)
        want = len(pts) if len(pts) >= 2 else 0
        if len(found[r]) != want:
            return f"row {r}: {len(found[r])} vertices drawn, live trail has {len(pts)}"
        if want and not np.array_equal(pos[found[r]], pts):
            return f"row {r}: drawn vertices differ from the ring buffer"
    return ""


def scene_scenario(app, out):
    """Seeded point-mass scene: screenshot, toggles through the key path, markers, trails, HUD, timeline."""
    res = {}
    world = build_rendered_world(config(30), app, "offscreen")
    rs = world.system("RenderSystem")
    world.run(150)
    table = world.resource(AgentTable)
    res["draw_calls"] = rs.draw_calls.last
    res["clear_color"] = [float(c) for c in app.win.getClearColor()][:3]
    save_png(app, out / "scene.png")
    res["marker_error"], res["marker_identity"] = marker_error(rs, table)
    res["trail_problems"] = trail_problems(rs, table)
    res["hud_text_matches"] = rs.hud.stats_node.getText() == world.resource(HudText).stats
    res["hud_lines"] = world.resource(HudText).stats.count("\n") + 1
    surface = world.resource(CriticSurface)
    res["surface_colors"] = np.unique(np.rint(surface.colors[..., :3] * 255).reshape(-1, 3), axis=0).tolist()
    res["surface_alpha"] = float(surface.colors[0, 0, 3])
    # keys through ursina's own input dispatch: H hides the surface, G the grid
    app.input("h", is_raw=True)
    app.input("g", is_raw=True)
    world.run(2)
    res["draw_calls_hidden"] = rs.draw_calls.last
    np.save(out / "scene_hidden.npy", grab_rgb(app))
    app.input("h", is_raw=True)
    app.input("g", is_raw=True)
    # pause: the world stops, the view keeps rendering
    frame = world.frame
    app.input("p", is_raw=True)
    rs.render_paused(world)
    res["paused_frames_advanced"] = world.frame - frame
    res["paused_hud"] = "[PAUSED]" in rs.hud.stats_node.getText()
    app.input("p", is_raw=True)
    # the certificate timeline, fed a known episode (the renderer's part alone: a trainer, if any,
    # keeps writing the world's own TrainingStats)
    stats = TrainingStats()
    n = 120
    stats.timeline_q = np.linspace(-3.0, -1.0, n) + 0.2 * np.sin(np.arange(n) / 7.0)
    stats.timeline_mode = (np.arange(n) // 40).astype(np.int8)
    stats.timeline_len = n
    rs.timeline.sync(stats)
    rs.present()
    save_png(app, out / "scene_timeline.png")
    tl = rs.timeline
    geom = tl.nodepath.node().getGeom(0)
    tpos = read_positions(geom.getVertexData())
    tidx = read_indices(geom.getPrimitive(0)).reshape(-1, 2)
    curve = tidx[5:]
    res["timeline_segments"] = int(len(curve))
    cx = tpos[np.unique(curve)][:, 0]
    res["timeline_x_span"] = [float(cx.min()), float(cx.max())]
    res["timeline_box"] = list(tl.box)
    res["timeline_colors"] = read_colors(geom.getVertexData())[6 : 6 + n : 40, :3].tolist()
    stats.timeline_q = stats.timeline_q[::-1].copy()  # same length, new values (a scrolling timeline)
    stats.total_steps += 1
    rs.timeline.sync(stats)
    moved = read_positions(tl.nodepath.node().getGeom(0).getVertexData())[6 : 6 + n, 1]
    res["timeline_redrawn_same_length"] = bool(np.allclose(moved, tpos[6 : 6 + n, 1][::-1], atol=1e-5))
    stats.episodes += 1  # a new episode starts: the curve empties
    stats.timeline_len = 0
    rs.timeline.sync(stats)
    res["timeline_segments_after_reset"] = int(len(read_indices(tl.nodepath.node().getGeom(0).getPrimitive(0))) // 2 - 5)
    res.update(camera_checks(app, rs))
    world.shutdown()
    return res


def film_of(app, point):
    """Where a world point appears on the film ([-1, 1]^2), or None when it is not in view."""
    from panda3d.core import Point2, Point3

    p_cam = app.cam.getRelativePoint(app.render, Point3(*point))
    film = Point2()
    return (film.getX(), film.getY()) if app.camLens.project(p_cam, film) else None


def camera_checks(app, rs):
    """Scroll zoom keeps the point under the mouse in place; WASD slides over the ground plane."""
    rig = rs.rig
    res = {}
    xy = (0.3, -0.25)
    pivot = rig.pivot(xy)
    before = film_of(app, pivot)
    d0 = rig.distance
    rig.zoom(True, xy)
    app.step()
    after_in = film_of(app, pivot)
    rig.zoom(False, xy)
    rig.zoom(False, xy)
    app.step()
    after_out = film_of(app, pivot)
    res["zoom_film_drift"] = float(max(np.abs(np.subtract(before, after_in)).max(), np.abs(np.subtract(before, after_out)).max()))
    res["zoom_distance_ratio"] = [rig.distance / d0]
    res["pivot_film"] = list(before)
    y0, target0, pos0 = rig.position[1], rig.target.copy(), rig.position.copy()
    rig.pan(1.0, 0.0, 0.1)  # W for 0.1 s
    step = rig.target - target0
    view = target0 - pos0
    horizontal = np.array([view[0], 0.0, view[2]]) / np.linalg.norm([view[0], view[2]])
    res["pan_height_change"] = float(abs(rig.position[1] - y0))
    res["pan_alignment"] = float(np.dot(step, horizontal) / np.linalg.norm(step))
    app.step()
    res["origin_film_before_right"] = list(film_of(app, (0.0, 0.0, 0.0)) or (None, None))
    rig.pan(0.0, 1.0, 0.1)  # D: to the right on screen
    app.step()
    res["origin_film_after_right"] = list(film_of(app, (0.0, 0.0, 0.0)) or (None, None))
    return res


def population_scenario(app, out):
    """N = 5 -> 30 -> 300 -> back down while rendering, with frequent respawns; counts checked every frame."""
    res = {"draw_calls": {}, "problems": [], "marker_errors": [], "frames_checked": 0, "key_changes": []}
    scene_nodes = len(app.render.findAllMatches("**"))
    ui_nodes = len(ui_root().findAllMatches("**"))
    world = build_rendered_world(config(4, visual={"trail_max_length": 200}, env={"max_steps_per_episode": 60}),
                                 app, "offscreen")
    rs = world.system("RenderSystem")
    table = world.resource(AgentTable)
    req = world.resource(PopulationRequests)
    ended = []
    world.events.subscribe("episodes_ended", lambda rows, *_: ended.append(len(rows)))

    def key(name):
        """One agent more or less through ursina's input dispatch, as a key press would."""
        before = table.n
        app.input(name)
        world.step()
        res["key_changes"].append(table.n - before)
        check()

    def check():
        problem = trail_problems(rs, table)
        if problem:
            res["problems"].append(f"frame {world.frame}, n {table.n}: {problem}")
        if rs.markers.n != table.n or rs.markers.prim.getNumVertices() != table.n * rs.markers.k:
            res["problems"].append(f"frame {world.frame}: markers hold {rs.markers.prim.getNumVertices()} vertices")
        err, _ = marker_error(rs, table)
        res["marker_errors"].append(err)
        if world.entity_count() != table.n:
            res["problems"].append(f"frame {world.frame}: {world.entity_count()} entities for {table.n} rows")
        res["frames_checked"] += 1

    for target in (5, 30, 300):
        key("=")
        while table.n - 1 < target:
            req.request(target - (table.n - 1))
            world.step()
            check()
        counts = []
        for _ in range(12):
            world.step()
            check()
            counts.append(rs.draw_calls.last)
        res["draw_calls"][str(target)] = counts
    rng = np.random.default_rng(1)
    for _ in range(60):  # add and remove while rendering
        k = int(rng.integers(1, 40))
        req.request(-k if rng.random() < 0.5 else k)
        world.step()
        check()
    key("-")
    req.request(-(table.n - 6))
    world.step()
    check()
    res["final_n"] = table.n
    res["episodes_ended"] = int(sum(ended))
    table.check_consistency()
    world.shutdown()
    res["scene_nodes_before"] = scene_nodes
    res["scene_nodes_after_shutdown"] = len(app.render.findAllMatches("**"))
    res["ui_nodes_before"] = ui_nodes
    res["ui_nodes_after_shutdown"] = len(ui_root().findAllMatches("**"))
    return res


def baseline_scenario(app, out):
    """All three feature flags off: the naive paths render for real; per-agent trails cost a draw call each."""
    res = {"draw_calls": {}}
    for n in (5, 30):
        cfg = config(n, visual={"use_batched_trails": False, "use_vectorized_heights": False, "use_stats_cache": False})
        world = build_rendered_world(cfg, app, "offscreen")
        rs = world.system("RenderSystem")
        world.run(20)
        table = world.resource(AgentTable)
        res["draw_calls"][str(n)] = rs.draw_calls.last
        res[f"rows_{n}"] = table.n
        res[f"marker_error_{n}"] = marker_error(rs, table)[0]
        world.shutdown()
    return res


def dd_scenario(app, out):
    """Differential drive: markers point along theta (heading)."""
    res = {}
    world = build_rendered_world(config(20, env={"system": "differential_drive"}), app, "offscreen")
    rs = world.system("RenderSystem")
    world.run(60)
    table = world.resource(AgentTable)
    m = rs.markers
    verts = read_positions(live_vdata(m.nodepath))[: table.n * m.k].reshape(table.n, m.k, 3).astype(np.float64)
    centres = AgentMarkers.centres(table, rs.surface_coords)
    nose = verts[:, 0, :] - centres  # template vertex 0 is the dart's nose
    theta = table.state[:, 2]
    heading = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    nose_xz = nose[:, [0, 2]] / np.linalg.norm(nose[:, [0, 2]], axis=1, keepdims=True)
    res["heading_error"] = float(np.max(np.abs(nose_xz - heading)))
    res["marker_error"] = marker_error(rs, table)[0]
    res["draw_calls"] = rs.draw_calls.last
    save_png(app, out / "dd.png")
    world.shutdown()
    return res


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    app = create_app("offscreen", 1280, 720)
    results = {}
    for name, scenario in (("scene", scene_scenario), ("population", population_scenario),
                           ("baseline", baseline_scenario), ("dd", dd_scenario)):
        try:
            results[name] = scenario(app, out)
        except Exception:  # record it: the tests report the traceback
            results[name] = {"error": traceback.format_exc()}
    (out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
