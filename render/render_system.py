"""RenderSystem: copies this frame's data into the scene, then renders it (`app.step()` + glFinish).

Rendering inside the system means the profiler charges the GL work (llvmpipe draws on the CPU)
to this system, where it belongs. The renderer's modules are imported in `setup`, so the class
can be named in a schedule listing without a display.

Draw calls per frame (counted by render.draw_calls in offscreen runs, never assumed): surface,
grid overlay, goal marker, certificate timeline, trails, markers, HUD text, profiler text, HUD
panels (9). None of them depends on the number of agents, except the `use_batched_trails = false`
baseline (one trail Geom per agent).
"""
from __future__ import annotations

from components.agent_table import AgentTable
from components.critic_surface import CriticSurface
from components.resources import Counters
from components.training_stats import TrainingStats
from components.view_state import HudText, ViewState
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment
from systems.trails import TrailChanges


class RenderSystem(System):
    after = ("StatsSystem",)
    reads = ("height", "trail_pos", "trail_mode", "trail_head", "trail_len", "mode", "state", "CriticSurface",
             "TrailChanges", "HudText", "TrainingStats", "ViewState")
    writes = ("Counters",)

    def __init__(self, app, count_draw_calls: bool = False) -> None:  # noqa: ANN001
        self.app = app
        self.count_draw_calls = count_draw_calls
        self.draw_calls = None
        self._counting = False
        self._shown = (True, True)  # surface, grid

    def setup(self, world) -> None:  # noqa: ANN001
        from ursina import camera, scene, window

        from render.app_setup import GLFinish
        from render.camera_rig import CameraRig
        from render.goal_marker import GoalMarker
        from render.grid_overlay import GridOverlay
        from render.hud import Hud, load_mono_font
        from render.key_input import KeyInput
        from render.markers import AgentMarkers
        from render.surface_mesh import SurfaceMesh
        from render.timeline import CertificateTimeline
        from render.trail_mesh import BatchedTrailMesh, PerAgentTrails

        cfg = world.resource(AppConfig)
        env = world.resource(Environment)
        surface = world.resource(CriticSurface)
        self.surface_coords = env.surface_coords
        self.root = scene.attachNewNode("calf-view")
        self.root.setFogOff()  # ursina's scene fog has density 0 but still costs every fragment on llvmpipe
        self.surface = SurfaceMesh(self.root, surface)
        self.grid = GridOverlay(self.root, surface)
        self.goal = GoalMarker(self.root, surface)
        trails_cls = BatchedTrailMesh if cfg.visual.use_batched_trails else PerAgentTrails
        self.trails = trails_cls(self.root, cfg.visual.trail_max_length)
        self.markers = AgentMarkers(self.root, heading=env.name == "differential_drive")
        lim = surface.hi
        self.timeline = CertificateTimeline(self.root, -0.4 * lim, 0.4 * lim, cfg.visual.height_scale + 0.3,
                                            cfg.visual.height_scale + 1.5, lim + 0.5)
        self.hud = Hud(camera.ui, window.aspect_ratio, load_mono_font(self.app.loader))
        self.rig = CameraRig(camera, self.app)
        self.keys = KeyInput(world, self.rig)
        self.finish = GLFinish()
        if self.count_draw_calls:
            from render.draw_calls import DrawCallCounter

            counters = world.resource(Counters)
            counters.add("draw_calls", 0)

            def on_frame(count: int) -> None:
                if self._counting:
                    counters.add("draw_calls", count)

            self.draw_calls = DrawCallCounter(self.app, on_frame)

    # -- per frame -----------------------------------------------------------------------------
    def sync_scene(self, world) -> None:  # noqa: ANN001
        surface = world.resource(CriticSurface)
        table = world.resource(AgentTable)
        self.surface.sync(surface)
        self.grid.sync(surface)
        self.goal.sync(surface)
        self.trails.sync(table, world.resource(TrailChanges))
        self.markers.sync(table, self.surface_coords)
        self.timeline.sync(world.resource(TrainingStats))
        self.sync_view(world)

    def sync_view(self, world) -> None:  # noqa: ANN001
        view = world.resource(ViewState)
        shown = (view.surface_visible, view.grid_visible)
        if shown != self._shown:
            self.surface.set_visible(shown[0])
            self.grid.set_visible(shown[1])
            self._shown = shown
        self.hud.sync(world.resource(HudText))

    def present(self) -> None:
        self.app.step()
        self.finish()

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

    def teardown(self, world) -> None:  # noqa: ANN001
        """Remove everything this system put into the (singleton) app, so another world can render."""
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
        if getattr(self, "root", None) is not None:
            self.root.removeNode()
            self.root = None
