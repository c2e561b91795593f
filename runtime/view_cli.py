"""The command line's view modes: flag checks, `--list-systems` with the view, and running a window or offscreen."""
from __future__ import annotations

import argparse

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
