"""The rendered loop (a window, or an offscreen EGL buffer): step the world, which renders each frame.

Each frame runs the simulation phase K times (the time warp: TimeWarp, keys [ and ], --warp;
in auto mode K is chosen from the last frames' timing to keep 20 FPS), then the view phase once.
The loop stops after `run.frames` frames (if set) or the training agent's `training.episodes`
episodes (checked after every step), on Q / Escape, on closing the window, or on Ctrl-C /
SIGTERM (process.stop). While paused (P) the world does not step but the view keeps rendering,
so the camera, keys and HUD still work; N runs one simulation step (and renders it). At the
end it finishes the video (--record) and saves the screenshot (the caller writes the profile
and shuts the world down).
"""
from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from tqdm import tqdm

from components.time_warp import TimeWarp
from components.training_stats import TrainingStats
from components.view_state import ViewState
from process.stop import StopRequest
from runtime.build import build_world
from runtime.headless import learner_postfix, loop_summary
from runtime.view_systems import add_view_systems

if TYPE_CHECKING:
    from config.schema import AppConfig
    from ecs.world import World


def build_rendered_world(cfg: "AppConfig", app, mode: str) -> "World":  # noqa: ANN001
    """A world with the view's data systems and a RenderSystem drawing into `app`."""
    from render.render_system import RenderSystem

    def add_view(world: "World") -> None:
        add_view_systems(world, cfg)
        world.add_system(RenderSystem(app, count_draw_calls=mode == "offscreen"), after="StatsSystem")

    return build_world(cfg, mode=mode, extend=add_view)


@contextlib.contextmanager
def _panda_sigint(app, stop: StopRequest):  # noqa: ANN001, ANN202
    """Panda3D's task manager swaps in its own SIGINT handler during every `app.step()` and raises
    KeyboardInterrupt after the step (so a Ctrl-C would stop the run mid-way, unsaved). Lend it
    ours instead while the loop runs: it looks the handler up on the instance at every step."""
    task_mgr = getattr(app, "taskMgr", None)
    if task_mgr is None:
        yield
        return
    task_mgr.keyboardInterruptHandler = stop.handle
    try:
        yield
    finally:
        del task_mgr.keyboardInterruptHandler


def run_rendered(world: "World", cfg: "AppConfig", *, screenshot: str | None = None, progress: bool = True,
                 stop: StopRequest | None = None) -> dict:
    """Run the world's frames until a stop condition; returns a summary like the headless loop's.

    A screenshot that cannot be saved is reported in `screenshot_error`, never raised: the run's
    outputs are still to be written."""
    render = world.system("RenderSystem")
    view = world.resource(ViewState)
    stats = world.resource(TrainingStats)
    frames_limit = cfg.run.frames
    episodes_limit = None if frames_limit is not None else cfg.training.episodes
    profiler = world.system("ProfilerSystem") if "ProfilerSystem" in world.schedule else None
    warmup = cfg.profiler.warmup_frames
    bar = tqdm(total=frames_limit, unit="frame", disable=not progress or frames_limit is None, dynamic_ncols=True,
               mininterval=0.5)
    start = time.perf_counter()
    start_frame = world.frame
    start_steps = stats.session_steps
    aborted = window_closed = False
    warp = world.try_resource(TimeWarp)
    done = (lambda: stats.session_episodes >= episodes_limit) if episodes_limit is not None else None
    last_post = 0.0
    # first Ctrl-C / SIGTERM: stop after this frame and save; second: at once
    signals = contextlib.nullcontext(stop) if stop is not None else StopRequest()
    with signals as stop, _panda_sigint(render.app, stop):
        try:
            while not (view.quit_requested or stop.requested):
                if frames_limit is not None and world.frame - start_frame >= frames_limit:
                    break
                if episodes_limit is not None and stats.session_episodes >= episodes_limit:
                    break
                if view.paused:
                    if view.step_requests > 0:  # N: one step, rendered
                        view.step_requests -= 1
                        world.step(1, until=done)
                        bar.update(1)
                    else:
                        render.render_paused(world)
                    continue
                if warp is not None:
                    world.steps_per_frame = warp.steps
                t0 = time.perf_counter()
                steps = world.step(until=done)
                if warp is not None:
                    warp.observe(time.perf_counter() - t0, world.last_simulation_ns * 1e-9, steps)
                bar.update(1)
                now = time.perf_counter()
                if progress and stats.learner == "background" and now - last_post > 0.5:
                    last_post = now
                    bar.set_postfix_str(learner_postfix(stats).lstrip(" |"), refresh=False)
                if warmup and world.frame - start_frame == warmup and profiler is not None:
                    profiler.reset()
        except KeyboardInterrupt:
            aborted = True
        except SystemExit:  # Panda3D exits this way when the window is closed
            window_closed = True
        finally:
            bar.close()
        interrupted = aborted or window_closed or stop.requested
    summary = loop_summary(world, stats, start, start_frame, start_steps, interrupted=interrupted, aborted=aborted,
                           stop=stop)
    video = render.finish_recording()
    summary.update(video=video, video_error=f"--record {video['path']}: {video['error']}"
                   if video is not None and video["error"] else None)
    shot = shot_error = None
    if screenshot and not window_closed:
        from render.screenshot import save_png

        try:
            shot = str(save_png(render.app, screenshot))
        except (OSError, RuntimeError) as exc:
            shot_error = f"--screenshot {screenshot}: not saved ({exc})"
    summary.update(screenshot=shot, screenshot_error=shot_error)
    return summary
