"""Rendering scenarios run offscreen (EGL) in one process, for tests/test_render.py.

Usage: python tests/render_scenarios.py OUT_DIR [NAME ...]   -> OUT_DIR/results.json and screenshots
(every scenario, or only those named).

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
from components.inspection import Inspection  # noqa: E402
from components.resources import PopulationRequests  # noqa: E402
from components.time_warp import TimeWarp  # noqa: E402
from components.training_stats import TrainingStats  # noqa: E402
from components.view_state import HudText, Selection, ViewState  # noqa: E402
from config import build_config  # noqa: E402
from render.app_setup import create_app  # noqa: E402
from render.markers import AgentMarkers  # noqa: E402
from render.screenshot import grab_rgb, save_png  # noqa: E402
from render.vertex_arrays import read_colors, read_indices, read_positions  # noqa: E402
from runtime.rendered import build_rendered_world  # noqa: E402
from tests.trail_oracle import chains, dashed_segments, row_segments, table_trail  # noqa: E402


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
    cohort = np.flatnonzero(table.group == 1)
    try:
        found = chains(idx, L, table.n, dashed=cohort)
    except AssertionError as exc:
        return str(exc)
    for r in cohort:  # the policy cohort's trails are dashed
        want = dashed_segments(table, r)
        if row_segments(idx, L, r) != want:
            return f"cohort row {r}: drawn segments differ from its dashes"
        if any(not np.array_equal(pos[r * L + s], table.trail_pos[r, s]) for pair in want for s in pair):
            return f"cohort row {r}: drawn vertices differ from the ring buffer"
    for r in range(table.n):
        if r in cohort:
            continue
        pts, _ = table_trail(table, r)
        want = len(pts) if len(pts) >= 2 else 0
        if len(found[r]) != want:
            return f"row {r}: {len(found[r])} vertices drawn, live trail has {len(pts)}"
        if want and not np.array_equal(pos[found[r]], pts):
            return f"row {r}: drawn vertices differ from the ring buffer"
    return ""


def lod_problems(rs, table, frame):
    """'' if the level-of-detail trails drawn are exactly lod_trails' kept points and pairs; else what differs."""
    from render.cohort_style import is_cohort
    from render.trail_lod import lod_gaps, lod_pairs, lod_trails

    geom = rs.lod.nodepath.node().getGeom(0)
    pos = read_positions(geom.getVertexData())
    idx = read_indices(geom.getPrimitive(0))
    pts, _modes, live = lod_trails(table, frame, rs.lod.stride)
    k = pts.shape[1]
    if not np.array_equal(pos[: table.n * k], pts.reshape(-1, 3).astype(np.float32)):
        return "level-of-detail positions differ"
    if not np.array_equal(idx, lod_pairs(live, lod_gaps(frame, rs.lod.stride, rs.lod.L, is_cohort(table)))):
        return "level-of-detail segments differ"
    return ""


def scene_scenario(app, out):
    """Seeded point-mass scene: screenshot, toggles through the key path, markers, trails, HUD, timeline."""
    res = {}
    world = build_rendered_world(config(30), app, "offscreen")
    rs = world.system("RenderSystem")
    world.run(150)
    table = world.resource(AgentTable)
    res["draw_calls"] = rs.draw_calls.last
    res["region_px"] = list(rs.layout.region_pixels(*rs.window_size()))
    res["sidebar_px"] = list(rs.layout.to_pixels(rs.layout.sidebar, *rs.window_size()))
    res["clear_color"] = [float(c) for c in app.win.getClearColor()][:3]
    save_png(app, out / "scene.png")
    res["marker_error"], res["marker_identity"] = marker_error(rs, table)
    res["trail_problems"] = trail_problems(rs, table)
    res["hud_text_matches"] = all(rs.hud.nodes[name].getText() == text
                                  for name, text in world.resource(HudText).texts.items())
    res["hud_lines"] = world.resource(HudText).stats.count("\n") + 1
    surface = world.resource(CriticSurface)
    res["surface_colors"] = np.unique(np.rint(surface.colors[..., :3] * 255).reshape(-1, 3), axis=0).tolist()
    res["surface_alpha"] = float(surface.colors[0, 0, 3])
    # keys through ursina's own input dispatch: H hides the surface, G the grid
    app.input("h", is_raw=True)
    app.input("g", is_raw=True)
    world.run(2)
    res["draw_calls_hidden"] = rs.draw_calls.last
    res["messages_when_hidden"] = bool(rs.hud.texts["messages"])  # "surface off", "grid off": one more text
    res["messages_before"] = False
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
    res = {"draw_calls": {}, "problems": [], "marker_errors": [], "frames_checked": 0, "key_changes": [], "lod_frames": 0}
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
        world.resource(ViewState).messages.clear()  # its confirmation would add a text's draw call for 4 s
        check()

    def check():
        problem = lod_problems(rs, table, world.frame - 1) if rs.lod_active else trail_problems(rs, table)
        res["lod_frames"] += rs.lod_active
        if problem:
            res["problems"].append(f"frame {world.frame}, n {table.n}: {problem}")
        if rs.markers.n != table.n or rs.markers.prim.getNumVertices() != table.n * rs.markers.k:
            res["problems"].append(f"frame {world.frame}: markers hold {rs.markers.prim.getNumVertices()} vertices")
        err, _ = marker_error(rs, table)
        res["marker_errors"].append(err)
        if world.entity_count() != table.n:
            res["problems"].append(f"frame {world.frame}: {world.entity_count()} entities for {table.n} rows")
        res["frames_checked"] += 1

    def learners() -> int:  # the policy cohort stays whatever + and - do
        return int(np.count_nonzero(table.group == 0))

    for target in (5, 30, 300):
        key("=")
        while learners() - 1 < target:
            req.request(target - (learners() - 1))
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
    req.request(-(learners() - 6))
    world.step()
    check()
    res["final_n"] = learners()
    res["cohort_n"] = int(np.count_nonzero(table.group == 1))
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


def hud_and_scene_rects(world, rs, app):
    """The HUD's rectangles and the scene's projected points, all in window pixels."""
    from render.picking import project, view_projection

    w, h = rs.window_size()
    lay = rs.layout
    rects = {name: list(lay.to_pixels(r, w, h)) for name, r in rs.hud.text_rects().items()}
    if lay.panels_visible:
        rects["sidebar"] = list(lay.to_pixels(lay.sidebar, w, h))
    surface = world.resource(CriticSurface)
    a, b = surface.grid_points()
    verts = np.stack([a.ravel(), surface.heights.ravel(), b.ravel()], axis=1)
    vp = view_projection(app)
    surf_px, _, surf_vis = project(verts, vp, lay.region, w, h)
    agent_px, _, agent_vis = project(AgentMarkers.centres(world.resource(AgentTable), rs.surface_coords), vp, lay.region, w, h)
    return {"rects": rects, "region_px": list(lay.region_pixels(w, h)), "fits": lay.fits,
            "surface_px": surf_px.tolist(), "surface_visible": surf_vis.tolist(),
            "agents_px": agent_px.tolist(), "agents_visible": agent_vis.tolist(), "size": [w, h],
            "panels_visible": lay.panels_visible}


def layout_scenario(app, out):
    """At 1280x720 and 1600x900, panels shown and collapsed (Tab): where the HUD and the scene are;
    an action confirmed on screen; differential drive names its theta slice."""
    from panda3d.core import Point3

    res = {"cases": {}}
    world = build_rendered_world(config(300, training={"policy": "calf"}, run={"seed": 42, "profile": str(out / "p.json")}),
                                 app, "offscreen")
    rs = world.system("RenderSystem")
    world.run(40)
    for size in ((1280, 720), (1600, 900)):
        app.win.setSize(*size)
        for panels in (True, False):
            if world.resource(ViewState).panels_visible != panels:
                app.input("tab", is_raw=True)
            world.run(3)
            name = f"{size[0]}x{size[1]}_{'panels' if panels else 'collapsed'}"
            case = hud_and_scene_rects(world, rs, app)
            save_png(app, out / f"layout_{name}.png")
            # cross-check the numpy projection with Panda's own for one agent
            table = world.resource(AgentTable)
            centre = AgentMarkers.centres(table, rs.surface_coords)[0]
            film = film_of(app, centre)
            case["panda_film_agent0"] = list(film) if film else None
            res["cases"][name] = case
    app.win.setSize(1280, 720)
    app.input("tab", is_raw=True)  # panels back
    world.run(2)
    app.input("f1", is_raw=True)  # F1: confirmed on screen
    world.run(2)
    res["messages_text"] = rs.hud.nodes["messages"].getText()
    res["messages_rect"] = rs.hud.text_rects().get("messages")
    res["scale_text"] = rs.hud.nodes["scale"].getText()
    save_png(app, out / "layout_message.png")
    world.shutdown()
    world = build_rendered_world(config(10, env={"system": "differential_drive"}), app, "offscreen")
    world.run(5)
    res["dd_scale_text"] = world.system("RenderSystem").hud.nodes["scale"].getText()
    world.shutdown()
    return res


def hud_width_scenario(app, out):
    """Every HUD text at its longest (tests/hud_extremes.py) drawn at 1280x720 and 1600x900: where
    each text's glyphs are, against the sidebar and the scene's region."""
    from tests.hud_extremes import texts

    res = {"cases": {}}
    world = build_rendered_world(config(5), app, "offscreen")
    rs = world.system("RenderSystem")
    world.run(2)
    world.schedule.disable("StatsSystem")  # the texts stay as set here
    hud = world.resource(HudText)
    for name, text in texts().items():
        hud.set(name, text)
    for size in ((1280, 720), (1600, 900)):
        app.win.setSize(*size)
        world.run(2)
        w, h = rs.window_size()
        lay = rs.layout
        res["cases"][f"{size[0]}x{size[1]}"] = {
            "size": [w, h], "fits": lay.fits, "text_share": lay.text_scale,
            "rects": {name: list(lay.to_pixels(r, w, h)) for name, r in rs.hud.text_rects().items()},
            "panels": {name: list(lay.to_pixels(r, w, h)) for name, r in lay.panels.items()},
            "sidebar": list(lay.to_pixels(lay.sidebar, w, h)), "region_px": list(lay.region_pixels(w, h)),
            "texts": {name: rs.hud.nodes[name].getText() for name in texts()},
        }
        save_png(app, out / f"hud_longest_{size[0]}x{size[1]}.png")
    app.win.setSize(1280, 720)
    world.run(1)
    world.shutdown()
    return res


def cohort_scenario(app, out):
    """The policy cohort drawn apart from the learners (cubes with black edges, dashed trails, a legend
    entry, its inspection panel) and the learning-curve panel, read back from the scene graph."""
    from components.learning_curve import LearningCurve
    from render.hud import LEGEND, Q_COHORT_INNER, Q_SWATCH
    from view import controls

    res = {}
    cfg = config(20, training={"policy": "calf"}, visual={"cohort": 6}, env={"max_steps_per_episode": 40},
                 evaluation={"every": 1, "starts": 10}, td3={"start_training_step": 30, "batch_size": 16})
    world = build_rendered_world(cfg, app, "offscreen")
    rs = world.system("RenderSystem")
    world.run(200)
    table = world.resource(AgentTable)
    n, m = table.n, rs.markers
    cohort = np.flatnonzero(table.group == 1)
    learners = np.flatnonzero((table.group == 0) & (np.arange(n) != table.training_row))
    res["cohort_rows"], res["learner_rows"] = int(cohort.size), int(learners.size)
    verts = read_positions(live_vdata(m.nodepath))[: n * m.k].reshape(n, m.k, 3).astype(np.float64)
    off = verts - AgentMarkers.centres(table, rs.surface_coords)[:, None, :]
    res["cohort_shape_error"] = float(np.abs(off[cohort] - m.cohort_offsets[None]).max())
    res["learner_shape_error"] = float(np.abs(off[learners] - m.offsets[None]).max())
    res["cohort_size_ratio"] = float(np.abs(m.cohort_offsets).max() / np.abs(m.offsets).max())
    o = m.outline
    centres = AgentMarkers.centres(table, rs.surface_coords)
    ov = read_positions(live_vdata(o.nodepath))[: cohort.size * o.e].reshape(cohort.size, o.e, 3)
    res["outline_error"] = float(np.abs(ov - (centres[cohort, None, :] + o.ends[None])).max())
    res["outline_segments"] = int(read_indices(o.nodepath.node().getGeom(0).getPrimitive(0)).size // 2)
    res["outline_colors"] = np.unique(read_colors(live_vdata(o.nodepath))[: cohort.size * o.e], axis=0).tolist()
    res["draw_calls"] = rs.draw_calls.last
    res["trail_problems"] = trail_problems(rs, table)
    quads = read_positions(rs.hud.vdata)

    def size(q):
        p = quads[4 * q : 4 * q + 4]
        return [float(p[:, 0].max() - p[:, 0].min()), float(p[:, 1].max() - p[:, 1].min())]

    k = [name for name, _ in LEGEND].index("cohort")
    res["cohort_swatch"], res["cohort_swatch_inner"] = size(Q_SWATCH + k), size(Q_COHORT_INNER)
    res["stats_text"] = rs.hud.nodes["stats"].getText()
    curve = world.resource(LearningCurve)
    res["evaluations"], res["curve_points"] = curve.eval_length, curve.length
    res["learning_segments"] = dict(rs.hud.learning.segments)
    res["learning_text"] = rs.hud.nodes["learning"].getText()
    w, h = rs.window_size()
    lay = rs.layout
    pv = read_positions(live_vdata(rs.hud.learning.nodepath))
    count = int(read_indices(rs.hud.learning.nodepath.node().getGeom(0).getPrimitive(0)).size)
    res["learning_box"] = list(lay.learning)
    res["learning_extent"] = [float(pv[:count, 0].min()), float(pv[:count, 0].max()), float(pv[:count, 1].min()),
                              float(pv[:count, 1].max())]
    res["learning_panel"] = list(lay.panels["learning"])
    res["rects"] = {name: list(r) for name, r in rs.hud.text_rects().items()}
    res["sidebar"] = list(lay.sidebar)
    save_png(app, out / "cohort.png")
    controls.select(world, int(table.entity[cohort[0]]))
    world.run(2)
    res["inspect_text"] = rs.hud.nodes["inspect"].getText()
    world.shutdown()
    world = build_rendered_world(config(20, training={"policy": "calf"}, visual={"cohort": 0}), app, "offscreen")
    world.run(5)
    res["draw_calls_no_cohort"] = world.system("RenderSystem").draw_calls.last
    world.shutdown()
    return res


def picking_scenario(app, out):
    """Click where an agent is drawn: it is selected, highlighted, followed and inspected."""
    res = {}
    world = build_rendered_world(config(30, training={"policy": "calf"}), app, "offscreen")
    rs = world.system("RenderSystem")
    world.run(60)
    table = world.resource(AgentTable)
    pixels, depth, visible = rs.screen_positions(world)
    # the agent farthest (on screen) from every other one, so the point is unambiguous
    d = np.linalg.norm(pixels[:, None, :] - pixels[None, :, :], axis=-1)
    d[np.arange(table.n), np.arange(table.n)] = np.inf
    d[~visible] = -1
    row = int(np.argmax(d.min(axis=1)))
    entity = int(table.entity[row])
    x, y = pixels[row]
    res["pixel"] = [float(x), float(y)]
    w, h = rs.window_size()
    film = film_of(app, AgentMarkers.centres(table, rs.surface_coords)[row])
    left, right, top, bottom = rs.layout.region_pixels(w, h)
    res["panda_pixel"] = [left + 0.5 * (film[0] + 1) * (right - left), top + 0.5 * (1 - film[1]) * (bottom - top)]
    # what is drawn there: the marker (trails and surface hidden for the check)
    rs.trails.set_visible(False)
    rs.surface.set_visible(False)
    rs.grid.set_visible(False)
    rs.present()
    img = grab_rgb(app)
    res["drawn_rgb"] = img[int(round(y)), int(round(x))].tolist()
    res["mode"] = int(table.mode[row])
    res["training"] = row == table.training_row
    rs.trails.set_visible(True)
    rs.surface.set_visible(True)
    rs.grid.set_visible(True)
    # the click, as the mouse handler passes it: window coordinates in [-1, 1], y up
    rs.click(world, (2.0 * x / w - 1.0, 1.0 - 2.0 * y / h))
    res["selected"] = world.resource(Selection).entity
    res["entity"] = entity
    res["miss_selected_after"] = None
    rs.click(world, (-0.99, 0.99))  # the sidebar's corner: nothing there
    res["miss_selected_after"] = world.resource(Selection).entity
    app.input("f", is_raw=True)  # follow
    world.run(30)
    info = world.resource(Inspection)
    row = info.row
    res["row_matches_entity"] = int(table.entity[row]) == entity
    res["highlight_points"] = rs.highlight.points
    res["trail_len"] = int(table.trail_len[row])
    res["target_minus_agent"] = float(np.linalg.norm(rs.rig.target - AgentMarkers.centres_of(table, rs.surface_coords, row)))
    res["inspect_text"] = rs.hud.nodes["inspect"].getText()
    res["timeline_caption"] = rs.hud.nodes["timeline"].getText()
    res["timeline_points"] = int(info.trace.length)
    res["draw_calls_selected"] = rs.draw_calls.last
    save_png(app, out / "picking.png")
    app.input("x", is_raw=True)
    world.run(2)
    res["draw_calls_unselected"] = rs.draw_calls.last
    world.shutdown()
    return res


def warp_scenario(app, out):
    """Keys ] ] set warp 5; the rendered loop then advances 5 steps per frame; N steps once while paused."""
    from runtime.rendered import run_rendered

    res = {}
    cfg = config(20, run={"seed": 42, "frames": 12}, training={"policy": "calf"})
    world = build_rendered_world(cfg, app, "offscreen")
    stats = world.resource(TrainingStats)
    app.input("]", is_raw=True)
    app.input("]", is_raw=True)
    res["warp_label"] = world.resource(TimeWarp).label()
    steps0, frames0 = stats.total_steps, world.frame
    summary = run_rendered(world, cfg, progress=False)
    res["frames"] = world.frame - frames0
    res["steps"] = stats.total_steps - steps0
    res["world_steps"] = world.steps
    res["summary_frames"] = summary["frames"]
    rep = world.system("ProfilerSystem").report()
    res["profile_steps_per_frame"] = rep["frame"]["steps_per_frame"]
    res["profile_physics"] = rep["systems"]["PhysicsSystem"]
    res["hud_head"] = world.resource(HudText).stats.split("\n")[0]
    # paused: N runs exactly one step per press
    view = world.resource(ViewState)
    app.input("p", is_raw=True)
    rs = world.system("RenderSystem")
    before = stats.total_steps
    rs.render_paused(world)
    res["paused_steps"] = stats.total_steps - before
    app.input("n", is_raw=True)
    app.input("n", is_raw=True)
    cfg2 = config(20, run={"seed": 42, "frames": 2})  # the two N presses are its two frames
    run_rendered(world, cfg2, progress=False)
    res["stepped"] = stats.total_steps - before
    res["still_paused"] = view.paused
    world.shutdown()
    return res


def record_scenario(app, out):
    """--record: every rendered frame (paused ones too) goes into the video, HUD included."""
    from view.recording import probe_video

    res = {}
    path = out / "view.mp4"
    world = build_rendered_world(config(20, run={"seed": 42, "record": str(path)}), app, "offscreen")
    rs = world.system("RenderSystem")
    rendered = 0
    for _ in range(25):
        world.step()
        rendered += 1
    world.resource(ViewState).paused = True
    for _ in range(5):
        rs.render_paused(world)
        rendered += 1
    last = grab_rgb(app)
    video = rs.finish_recording()
    res["rendered"] = rendered
    res["video"] = {k: v for k, v in video.items()}
    probe = probe_video(path)
    res["probe"] = {k: v for k, v in probe.items() if k != "first_frame"}
    first = probe["first_frame"]
    res["first_frame_shape"] = list(first.shape)
    np.save(out / "video_first.npy", first)
    np.save(out / "last_rendered.npy", last)
    res["partial_left"] = any(p.name.endswith(".partial") for p in out.iterdir())
    world.shutdown()
    return res


def lod_scenario(app, out):
    """Above the point budget the trail level of detail draws; its Geom mirrors lod_trails exactly."""
    from render.trail_lod import lod_pairs, lod_trails

    res = {}
    overrides = {"trail_max_length": 100, "trail_lod_points": 4000}
    world = build_rendered_world(config(100, visual=overrides, env={"max_steps_per_episode": 40}), app, "offscreen")
    rs = world.system("RenderSystem")
    world.run(70)
    table = world.resource(AgentTable)
    res["lod_active"] = rs.lod_active
    res["stride"] = rs.lod.stride
    geom = rs.lod.nodepath.node().getGeom(0)
    pos = read_positions(geom.getVertexData())
    col = read_colors(geom.getVertexData())
    idx = read_indices(geom.getPrimitive(0))
    pts, modes, live = lod_trails(table, world.frame - 1, rs.lod.stride)
    k = pts.shape[1]
    res["positions_match"] = bool(np.array_equal(pos[: table.n * k], pts.reshape(-1, 3).astype(np.float32)))
    from render.cohort_style import is_cohort
    from render.trail_lod import lod_gaps

    gaps = lod_gaps(world.frame - 1, rs.lod.stride, rs.lod.L, is_cohort(table))
    res["pairs_match"] = bool(np.array_equal(idx, lod_pairs(live, gaps)))
    res["cohort_gaps"] = int(gaps.sum()) if gaps is not None else 0
    from render.palette import mode_colors8

    training = (np.arange(table.n) == table.training_row)[:, None]
    want = mode_colors8(modes, np.broadcast_to(training, modes.shape)).reshape(-1, 4)
    res["colors_match"] = bool(np.array_equal(col[: table.n * k], want))
    res["draw_calls"] = rs.draw_calls.last
    save_png(app, out / "lod.png")
    world.resource(PopulationRequests).request(-(table.n - 10))  # below the budget: full detail again
    world.run(3)
    res["lod_after_removal"] = rs.lod_active
    res["trail_problems_after"] = trail_problems(rs, world.resource(AgentTable))
    res["draw_calls_full"] = rs.draw_calls.last
    world.shutdown()
    world = build_rendered_world(config(100, visual={**overrides, "trail_lod": False}), app, "offscreen")
    world.run(3)
    res["lod_when_off"] = world.system("RenderSystem").lod_active
    world.shutdown()
    return res


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    app = create_app("offscreen", 1280, 720)
    results = {}
    for name, scenario in (("scene", scene_scenario), ("population", population_scenario),
                           ("baseline", baseline_scenario), ("dd", dd_scenario), ("layout", layout_scenario),
                           ("hud_width", hud_width_scenario), ("cohort", cohort_scenario),
                           ("picking", picking_scenario), ("warp", warp_scenario), ("record", record_scenario),
                           ("lod", lod_scenario)):
        if sys.argv[2:] and name not in sys.argv[2:]:
            continue
        try:
            results[name] = scenario(app, out)
        except Exception:  # record it: the tests report the traceback
            results[name] = {"error": traceback.format_exc()}
    (out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
