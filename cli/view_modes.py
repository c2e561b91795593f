"""The command line's view modes: flag checks, `--list-systems` with the view, and running a window or offscreen."""
from __future__ import annotations

import argparse
from pathlib import Path

from cli.arguments import UsageError
from config.schema import AppConfig
from ecs.world import World
from runfiles.outputs import check_output_file


def check_view_flags(args: argparse.Namespace) -> None:
    """Contradictory view flags are usage errors, found before anything runs (what a config key can
    set too, --warp auto and --record, is checked on the config: `check_view_config`)."""
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


def check_view_config(args: argparse.Namespace, cfg: AppConfig) -> None:
    """The view's settings, however they were given (a flag, --set, a config file): `visual.warp_auto`
    (--warp auto) and `run.record` (--record) need a rendered run; the video path must end in .mp4
    and be writable; the video library must be importable (before anything runs, not after an hour
    of training)."""
    if cfg.visual.warp_auto and args.headless:
        raise UsageError("--warp auto keeps a rendered view at 20 FPS (visual.warp_auto = true); with --headless "
                         "give a number of steps")
    record = cfg.run.record
    if record is None:
        return
    if args.headless:
        raise UsageError(f"--record needs a rendered run (a window or --offscreen), not --headless "
                         f"(run.record = {record!r})")
    if args.list_systems:
        return
    if not record.lower().endswith(".mp4"):
        raise UsageError(f"--record: {record} must end in .mp4 (run.record)")
    check_output_file(record, "--record")
    if args.screenshot is not None and Path(args.screenshot).resolve() == Path(record).resolve():
        raise UsageError(f"--record {record} and --screenshot name the same file")
    from view.recording import video_library_error

    problem = video_library_error()
    if problem:
        raise UsageError(f"--record: {problem}")


def list_view_systems(world: World, cfg: AppConfig) -> None:
    """Schedule the view's systems (without setting them up: no renderer is started) for printing."""
    from render.render_system import RenderSystem
    from runtime.view_systems import inspection_system, view_data_systems

    anchor = "ProfilerSystem" if "ProfilerSystem" in world.schedule else None
    for system in view_data_systems():
        world.schedule.add(system, before=anchor)
    world.schedule.add(RenderSystem(app=None), after="StatsSystem")
    if "ControlSystem" in world.schedule:
        world.schedule.add(inspection_system(), after="ControlSystem")
