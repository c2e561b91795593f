"""Checks on output locations, done before a run starts (not after an hour of training)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from runtime.cli import UsageError


def check_writable_dir(directory: Path, what: str) -> None:
    if not directory.exists():
        raise UsageError(f"{what}: directory {directory} does not exist")
    if not directory.is_dir():
        raise UsageError(f"{what}: {directory} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".calf-ecs-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{what}: cannot write in {directory} ({exc.strerror})") from None


def check_output_file(path: str | Path, what: str) -> Path:
    """The file's directory must exist and be writable; the path must not be a directory."""
    p = Path(path)
    if p.exists() and p.is_dir():
        raise UsageError(f"{what}: {p} is a directory, not a file")
    check_writable_dir(p.parent if str(p.parent) else Path("."), what)
    return p
