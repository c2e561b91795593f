"""calf-ecs: train a CALF agent and watch it live. Run `python app.py --help`."""
from __future__ import annotations

import sys

from config import ConfigError, load_config
from runtime.cli import EXIT_USAGE, UsageError, overrides_from_args, parse_args
from runtime.outputs import check_output_file
from runtime.plugins import parse_plugin_arg
from runtime.preflight import check_flags
from runtime.subcommands import SUBCOMMANDS, run_subcommand
from runtime.view_cli import check_view_flags, list_view_systems


def _fail(message: str) -> int:
    print(f"app.py: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:  # python app.py sweep ... / python app.py report ...
        return run_subcommand(argv[0], argv[1:])
    try:
        args = parse_args(argv)
        args.argv = ["app.py", *argv]  # the command line, for run_summary.json's provenance
        check_view_flags(args)
        cfg = load_config(
            args.config, preset=args.preset, train_preset=args.train_preset, overrides=overrides_from_args(args),
            extra_plugins=[parse_plugin_arg(p) for p in args.plugin],
        )
        check_flags(args, cfg)
        if cfg.run.profile and not args.list_systems:
            check_output_file(cfg.run.profile, "--profile")
    except (UsageError, ConfigError) as exc:
        return _fail(str(exc))

    from runtime.build import build_world

    mode = "headless" if args.headless else ("offscreen" if args.offscreen else "window")
    if args.list_systems:
        extend = None if args.headless else (lambda w: list_view_systems(w, cfg))
        try:
            world = build_world(cfg, mode=mode, spawn=False, extend=extend)
        except ConfigError as exc:  # a plugin that cannot be imported or placed
            return _fail(str(exc))
        print(world.schedule.describe(verbose=args.verbose))
        world.shutdown()
        return 0

    from runtime.session import run_session

    return run_session(args, cfg, mode)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while starting up, before there is anything to save
        print("app.py: interrupted", file=sys.stderr)
        sys.exit(130)
