"""calf-ecs: train a CALF agent and watch it live. Run `python app.py --help`."""
from __future__ import annotations

import sys

from config import ConfigError, load_config
from runtime.cli import EXIT_USAGE, UsageError, overrides_from_args, parse_args
from runtime.outputs import check_output_file
from runtime.view_cli import check_view_flags, list_view_systems, run_view


def _fail(message: str) -> int:
    print(f"app.py: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        cfg = load_config(
            args.config, preset=args.preset, train_preset=args.train_preset, overrides=overrides_from_args(args)
        )
        if cfg.run.profile and not args.list_systems:
            check_output_file(cfg.run.profile, "--profile")
        check_view_flags(args)
    except (UsageError, ConfigError) as exc:
        return _fail(str(exc))

    from runtime.build import build_world

    mode = "headless" if args.headless else "window"
    if args.list_systems:
        world = build_world(cfg, mode=mode, spawn=False)
        if not args.headless:
            list_view_systems(world, cfg)
        print(world.schedule.describe())
        world.shutdown()
        return 0
    if not args.headless:
        return run_view(cfg, args, _fail)

    from runtime.headless import run_headless

    world = build_world(cfg, mode=mode)
    try:
        result = run_headless(world, cfg, progress=not args.no_progress)
        if cfg.run.profile:
            world.system("ProfilerSystem").write_json(cfg.run.profile)
    finally:
        world.shutdown()
    print(
        f"{result['frames']} frames, {result['episodes']} training episodes in {result['seconds']:.2f} s "
        f"({result['frames_per_second']:.0f} frames/s)" + (" [interrupted]" if result["interrupted"] else "")
        + (f"; profile written to {cfg.run.profile}" if cfg.run.profile else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
