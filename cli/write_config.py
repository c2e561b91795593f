"""`--write-config PATH`: write the commented starter config file for this command line, then stop."""
from __future__ import annotations

import argparse
import shlex

from cli.arguments import UsageError
from config.schema import AppConfig
from config.starter import starter_toml
from process.program import command
from safe_io.atomic import atomic_write_text
from safe_io.paths import check_output_file


def write_starter(args: argparse.Namespace, cfg: AppConfig) -> str:
    """Write the file (refusing to replace one without --overwrite); returns the line to print."""
    if args.list_systems:
        raise UsageError("--write-config and --list-systems exclude each other: each does its job and stops")
    path = check_output_file(args.write_config, "--write-config", overwrite=bool(args.overwrite))
    argv = [a for a in getattr(args, "argv", [])[1:]]
    written_by = " ".join([command(), *(shlex.quote(a) for a in argv)])
    try:
        atomic_write_text(path, starter_toml(cfg, written_by))
    except OSError as exc:
        raise UsageError(f"--write-config: {path} not written ({exc.strerror or exc})") from None
    return (f"wrote {path}: every setting with its value, range and meaning (the ones this command sets are "
            f"active, the rest commented); run with: {command()} --config {shlex.quote(str(path))}")
