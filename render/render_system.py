"""RenderSystem: copies this frame's data into the scene, then renders it (`app.step()` + glFinish).

Rendering inside the system means the profiler charges the GL work (llvmpipe draws on the CPU)
to this system, where it belongs. The renderer's modules are imported in `setup`, so the class
can be named in a schedule listing without a display.

The window is split (render.layout): the HUD's sidebar on the left, the scene in its own display
region on the right, so no panel covers the surface or an agent; Tab gives the scene the whole
window. The camera is framed on the surface in that region at start-up.

Draw calls per frame (counted by render.draw_calls in offscreen runs, never assumed): surface,
grid overlay, goal marker, trails (full detail or the level of detail, never both), markers,
the policy cohort's edges (while there is a cohort), the HUD's quads, the timeline, the learning
curve, and one per non-empty HUD text; the inspected agent's highlight adds two. None depends on
the number of agents, except the `use_batched_trails = false` baseline (one trail Geom per agent).
"""
from __future__ import annotations

import time

import numpy as np

from components.agent_table import AgentTable
from components.critic_surface import CriticSurface
from components.inspection import Inspection
from components.learning_curve import LearningCurve
from components.resources import Counters
from components.training_stats import TrainingStats
from components.view_state import HudText, Selection, ViewState
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment
from systems.trails import TrailChanges


class RenderSystem(System):
    phase = "view"
    after = ("StatsSystem",)
    reads = ("height", "trail_pos", "trail_mode", "trail_head", "trail_len", "mode", "state", "CriticSurface",
             "TrailChanges", "HudText", "TrainingStats", "ViewState", "Selection", "Inspection",
             "LearningCurve", "group")
    writes = ("Counters",)

    def __init__(self, app, count_draw_calls: bool = False) -> None:  # noqa: ANN001
        self.app = app
        self.count_draw_calls = count_draw_calls
        self.draw_calls = None
        self._counting = False
        self._shown = (True, True)  # surface, grid
        self._layout_key = None
        self.layout = None
        self.recorder = None
        self.capture = None
        self.video = None  # what the recording came to (set when it is finished)

    def setup(self, world) -> None:  # noqa: ANN001
        from ursina import camera, scene

        from render.app_setup import GLFinish
        from render.camera_rig import CameraRig
        from render.goal_marker import GoalMarker
        from render.grid_overlay import GridOverlay
        from render.highlight import SelectionHighlight
        from render.hud import Hud, load_mono_font
        from render.key_input import KeyInput
        from render.markers import AgentMarkers
        from render.surface_mesh import SurfaceMesh
        from render.trail_lod import TrailLodMesh
        from render.trail_mesh import BatchedTrailMesh, PerAgentTrails

        cfg = world.resource(AppConfig)
        env = world.resource(Environment)
        surface = world.resource(CriticSurface)
        for resource in (ViewState(), Selection(), HudText()):
            if not world.has_resource(type(resource)):
                world.insert_resource(resource)
        self.cfg = cfg
        self.surface_coords = env.surface_coords  # where a state sits on the surface (X, Z)
        self.root = scene.attachNewNode("calf-view")
        self.root.setFogOff()  # ursina's scene fog has density 0 but still costs every fragment on llvmpipe
        self.surface = SurfaceMesh(self.root, surface)
        self.grid = GridOverlay(self.root, surface)
        self.goal = GoalMarker(self.root, surface)
        trails_cls = BatchedTrailMesh if cfg.visual.use_batched_trails else PerAgentTrails
        self.trails = trails_cls(self.root, cfg.visual.trail_max_length)
        self.lod = TrailLodMesh(self.root, cfg.visual.trail_max_length, cfg.visual.trail_lod_points)
        self.lod.set_visible(False)
        self.lod_active = False
        self.markers = AgentMarkers(self.root, heading=env.name == "differential_drive")
        self.highlight = SelectionHighlight(self.root, cfg.visual.trail_max_length)
        clear = self.app.win.getClearColor()
        self.hud = Hud(camera.ui, load_mono_font(self.app.loader), cfg.visual.surface_alpha,
                       (clear[0], clear[1], clear[2]))
        self.timeline = self.hud.timeline
        self.region = self.app.camNode.getDisplayRegion(0)
        self.rig = CameraRig(camera, self.app)
        self.keys = KeyInput(world, self.rig, on_click=self.click)
        self.finish = GLFinish()
        self.relayout(world)
        lim = surface.hi
        top = cfg.visual.height_scale + 1.1  # the surface's highest point and the goal arrow above it
        corners = np.array([(x, y, z) for x in (-lim, lim) for y in (0.0, top) for z in (-lim, lim)])
        self.rig.frame(corners)
        if cfg.run.record:
            from render.frame_capture import FrameCapture
            from view.recording import VideoWriter

            self.capture = FrameCapture(self.app)
            w, h = self.capture.size
            self.recorder = VideoWriter(cfg.run.record, w, h)
        if self.count_draw_calls:
            from render.draw_calls import DrawCallCounter

            counters = world.resource(Counters)
            counters.add("draw_calls", 0)

            def on_frame(count: int) -> None:
                if self._counting:
                    counters.add("draw_calls", count)

            self.draw_calls = DrawCallCounter(self.app, on_frame)

    # -- layout --------------------------------------------------------------------------------
    def window_size(self) -> tuple[int, int]:
        return int(self.app.win.getXSize()), int(self.app.win.getYSize())

    def relayout(self, world) -> None:  # noqa: ANN001
        """Place the sidebar and the scene's region for the window's size and the panels' contents."""
        from render.hud import bar_line
        from render.layout import compute_layout

        view = world.resource(ViewState)
        w, h = self.window_size()
        lines = self.hud.line_counts()
        key = (w, h, view.panels_visible, tuple(sorted(lines.items())), bar_line(self.hud.texts["scale"]))
        if key == self._layout_key:
            return
        self._layout_key = key
        self.layout = compute_layout(w, h, lines, self.hud.char_w, self.hud.line_h, view.panels_visible,
                                     scale_bar_line=bar_line(self.hud.texts["scale"]))
        self.region.setDimensions(*self.layout.region)
        self.rig.set_region(self.layout.region, w, h)
        self.hud.apply(self.layout)

    def _keep_lens(self) -> None:
        """Panda3D resets the lens to the window's shape when the window changes: put the region's back."""
        w, h = self.window_size()
        left, right, bottom, top = self.layout.region
        want = max((right - left) * w, 1.0) / max((top - bottom) * h, 1.0)
        if abs(self.app.camLens.getAspectRatio() - want) > 1e-6:
            self.rig.set_region(self.layout.region, w, h)

    # -- per frame -----------------------------------------------------------------------------
    def sync_scene(self, world) -> None:  # noqa: ANN001
        surface = world.resource(CriticSurface)
        table = world.resource(AgentTable)
        self.surface.sync(surface)
        self.grid.sync(surface)
        self.goal.sync(surface)
        self.sync_trails(world, table)
        self.markers.sync(table, self.surface_coords)
        self.sync_view(world)

    def sync_trails(self, world, table: AgentTable) -> None:  # noqa: ANN001
        """Full detail, or the level of detail above the point budget (render.trail_lod)."""
        changes = world.resource(TrailChanges)
        visual = self.cfg.visual
        lod = (visual.trail_lod and visual.use_batched_trails
               and table.n * visual.trail_max_length > visual.trail_lod_points)
        if lod != self.lod_active:
            self.lod_active = lod
            self.lod.set_visible(lod)
            self.trails.set_visible(not lod)
            if not lod and hasattr(self.trails, "rows_drawn"):
                self.trails.rows_drawn = 0  # it missed frames: rewrite it whole
        if lod:
            changes.take(table.n)
            self.lod.sync(table, world.frame)
        else:
            self.trails.sync(table, changes)

    def selected_row(self, world) -> int:  # noqa: ANN001
        info = world.try_resource(Inspection)
        sel = world.resource(Selection)
        if info is None or sel.entity is None or info.entity != sel.entity:
            return -1
        return info.row

    def sync_view(self, world) -> None:  # noqa: ANN001
        """What also changes while paused: toggles, layout, HUD, selection, timeline, follow camera."""
        from render.markers import AgentMarkers

        view = world.resource(ViewState)
        shown = (view.surface_visible, view.grid_visible)
        if shown != self._shown:
            self.surface.set_visible(shown[0])
            self.grid.set_visible(shown[1])
            self._shown = shown
        relayout = self.hud.sync(world.resource(HudText))
        if relayout or self._layout_key is None or self._layout_key[:3] != (*self.window_size(), view.panels_visible):
            self.relayout(world)
        self._keep_lens()
        table = world.resource(AgentTable)
        row = self.selected_row(world)
        centre = None
        if 0 <= row < table.n:
            centre = AgentMarkers.centres_of(table, self.surface_coords, row)
            if world.resource(Selection).follow:
                self.rig.follow(centre)
        self.highlight.sync(table, row, centre)
        info = world.try_resource(Inspection)
        if row >= 0 and info is not None:
            self.timeline.sync_trace(info.entity, info.trace)
        else:
            self.timeline.sync(world.resource(TrainingStats))
        self.hud.learning.sync(world.try_resource(LearningCurve))

    def present(self) -> None:
        self.app.step()
        self.finish()
        if self.recorder is not None:
            pixels = self.capture.grab()
            if pixels is not None:
                self.recorder.add(pixels, time.perf_counter())

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        self.sync_scene(world)
        self._counting = True
        try:
            self.present()
        finally:
            self._counting = False

    def render_paused(self, world) -> None:  # noqa: ANN001
        """A frame while the simulation is paused: camera, keys and HUD still work; nothing is counted."""
        if "StatsSystem" in world.schedule:
            world.system("StatsSystem").process(world, 0.0)  # only dirty items (the pause) are rebuilt
        self.sync_view(world)
        self.present()

    # -- mouse ---------------------------------------------------------------------------------
    def screen_positions(self, world) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
        """Every agent's marker centre in window pixels (x right, y down), its depth and visibility."""
        from render.markers import AgentMarkers
        from render.picking import project, view_projection

        table = world.resource(AgentTable)
        w, h = self.window_size()
        return project(AgentMarkers.centres(table, self.surface_coords), view_projection(self.app), self.layout.region, w, h)

    def pick_at(self, world, x: float, y: float) -> int | None:  # noqa: ANN001
        """The entity whose marker is drawn at window pixel (x, y), or None."""
        from render.picking import pick

        pixels, depth, visible = self.screen_positions(world)
        row = pick(pixels, depth, visible, x, y)
        return None if row < 0 else int(world.resource(AgentTable).entity[row])

    def click(self, world, window_xy: tuple[float, float]) -> None:  # noqa: ANN001
        """A left click at window coordinates ([-1, 1]^2, y up): inspect the agent under it."""
        from view import controls

        w, h = self.window_size()
        x, y = 0.5 * (window_xy[0] + 1.0) * w, 0.5 * (1.0 - window_xy[1]) * h
        entity = self.pick_at(world, x, y)
        if entity is None:
            world.resource(ViewState).notify("no agent under the mouse")
            return
        controls.select(world, entity)

    # -- recording -----------------------------------------------------------------------------
    def finish_recording(self) -> dict | None:
        """Close the video (if recording): {path, frames, seconds, fps, waited_s, error}."""
        if self.recorder is None:
            return self.video
        rec = self.recorder
        self.recorder = None
        error = rec.close()
        self.capture.close()
        self.capture = None
        self.video = {"path": str(rec.path), "frames": rec.frames_written, "frames_handed": rec.frames_in,
                      "seconds": rec.duration_s, "fps": rec.mean_fps, "waited_s": rec.wait_seconds,
                      "error": error}
        return self.video

    def teardown(self, world) -> None:  # noqa: ANN001
        """Remove everything this system put into the (singleton) app, so another world can render."""
        self.finish_recording()
        if getattr(self, "keys", None) is not None:
            from ursina import destroy

            destroy(self.keys)
            self.keys = None
        if getattr(self, "hud", None) is not None:
            self.hud.destroy()
            self.hud = None
        if self.draw_calls is not None:
            self.draw_calls.close()
            self.draw_calls = None
        if getattr(self, "region", None) is not None:
            self.region.setDimensions(0.0, 1.0, 0.0, 1.0)  # the next world lays out its own
            self.region = None
        if getattr(self, "root", None) is not None:
            self.root.removeNode()
            self.root = None
