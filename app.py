"""calf-ecs: train a CALF agent and watch it live. Run `python app.py --help`."""
from __future__ import annotations

import sys

from config import ConfigError, load_config
from runtime.cli import EXIT_USAGE, UsageError, overrides_from_args, parse_args
from runtime.messages import error
from runtime.plugins import parse_plugin_arg
from runtime.preflight import check_flags
from runtime.subcommands import SUBCOMMANDS, run_subcommand
from runtime.view_cli import check_view_flags, list_view_systems


def _fail(message: str) -> int:
    error(message)  # one line, whatever the message quotes (runtime.messages)
    return EXIT_USAGE


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Python's warnings (numpy's on odd values, a library's deprecations) as one line each."""
    from pathlib import Path

    from runtime.messages import warning

    warning(f"{category.__name__}: {message} ({Path(filename).name}:{lineno})")


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the program itself, not a test calling main(): its warnings are one line too
        import warnings

        warnings.showwarning = _one_line_warning
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
        check_flags(args, cfg)  # output paths are vetted with the run's plan (runtime.session)
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
        warp = "auto" if cfg.visual.warp_auto else str(cfg.visual.warp)
        print(world.schedule.describe(verbose=args.verbose, steps_per_frame=warp))
        world.shutdown()
        return 0

    from runtime.session import run_session

    return run_session(args, cfg, mode)


def _quiet_stdout() -> None:
    """stdout's reader went away (`app.py ... | head -1`): drop what is still to be printed there."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C while starting up, before there is anything to save
        error("interrupted")
        code = 130
    except BrokenPipeError:
        _quiet_stdout()
        code = 0
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _quiet_stdout()
    sys.exit(code)
