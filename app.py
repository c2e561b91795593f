"""calf-ecs: train a CALF agent and watch it live. Run `python app.py --help`."""
from __future__ import annotations

import sys

from cli.arguments import EXIT_USAGE, UsageError, overrides_from_args, parse_args
from cli.preflight import check_flags
from cli.subcommands import SUBCOMMANDS, run_subcommand
from cli.view_modes import check_view_flags, list_view_systems
from config import ConfigError, load_config
from plugins.loading import parse_plugin_arg
from process.messages import error
from process.program import prog


def _fail(message: str) -> int:
    error(message)  # one line, whatever the message quotes (process.messages)
    return EXIT_USAGE


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Python's warnings (numpy's on odd values, a library's deprecations) as one line each."""
    from pathlib import Path

    from process.messages import warning

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
        args.argv = [prog(), *argv]  # the command line, for run_summary.json's provenance
        check_view_flags(args)
        cfg = load_config(
            args.config, preset=args.preset, train_preset=args.train_preset, overrides=overrides_from_args(args),
            extra_plugins=[parse_plugin_arg(p) for p in args.plugin],
        )
        check_flags(args, cfg)  # output paths are vetted with the run's plan (cli.session)
    except (UsageError, ConfigError) as exc:
        return _fail(str(exc))

    from runtime.build import build_world

    if args.write_config:
        from cli.write_config import write_starter

        try:
            print(write_starter(args, cfg))
        except UsageError as exc:
            return _fail(str(exc))
        return 0

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

    from cli.session import run_session

    return run_session(args, cfg, mode)


def _quiet_stdout() -> None:
    """stdout's reader went away (`app.py ... | head -1`): drop what is still to be printed there."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def run() -> None:
    """The program's entry point (`python app.py`, and the installed `calf-ecs` script): main() plus
    what only a whole process needs (Ctrl-C during start-up, a closed stdout), then exit."""
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


if __name__ == "__main__":
    run()
