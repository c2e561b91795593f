"""The command line's view modes: flag checks, `--list-systems` with the view, and running a window or offscreen."""
from __future__ import annotations

import argparse
from collections.abc import Callable

from config.schema import AppConfig
from ecs.world import World
from runtime.cli import UsageError
from runtime.outputs import check_output_file


def check_view_flags(args: argparse.Namespace) -> None:
    """Contradictory view flags are usage errors, found before anything runs."""
    if args.headless and args.offscreen:
        raise UsageError("--headless and --offscreen exclude each other (--headless renders nothing)")
    if args.screenshot is not None:
        if args.headless:
            raise UsageError("--screenshot needs a rendered run (a window or --offscreen), not --headless")
        if args.list_systems:
            return
        if not args.screenshot.lower().endswith(".png"):
            raise UsageError(f"--screenshot: {args.screenshot} must end in .png")
        check_output_file(args.screenshot, "--screenshot")


def list_view_systems(world: World, cfg: AppConfig) -> None:
    """Schedule the view's systems (without setting them up: no renderer is started) for printing."""
    from render.render_system import RenderSystem
    from runtime.view import view_data_systems

    anchor = "ProfilerSystem" if "ProfilerSystem" in world.schedule else None
    for system in view_data_systems():
        world.schedule.add(system, before=anchor)
    world.schedule.add(RenderSystem(app=None), after="StatsSystem")


def run_view(cfg: AppConfig, args: argparse.Namespace, fail: Callable[[str], int]) -> int:
    """Open the window (or the offscreen buffer), run, write the outputs; a missing display is one line."""
    from render.app_setup import NoDisplayError, create_app
    from runtime.rendered import build_rendered_world, run_rendered

    mode = "offscreen" if args.offscreen else "window"
    try:
        app = create_app(mode, cfg.visual.window_width, cfg.visual.window_height)
    except NoDisplayError as exc:
        return fail(str(exc))
    world = build_rendered_world(cfg, app, mode)
    try:
        result = run_rendered(world, cfg, screenshot=args.screenshot,
                              progress=not args.no_progress and mode == "offscreen")
        if cfg.run.profile:
            world.system("ProfilerSystem").write_json(cfg.run.profile)
    finally:
        world.shutdown()
    print(
        f"{result['frames']} frames ({mode}), {result['episodes']} training episodes in {result['seconds']:.2f} s "
        f"({result['frames_per_second']:.1f} frames/s)" + (" [interrupted]" if result["interrupted"] else "")
        + (f"; screenshot {result['screenshot']}" if result["screenshot"] else "")
        + (f"; profile written to {cfg.run.profile}" if cfg.run.profile else "")
    )
    return 0
