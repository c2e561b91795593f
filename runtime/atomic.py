"""Atomic file writes: write a temp file beside the target, fsync, then rename over it.

A reader (or a crash) never sees a half-written checkpoint, profile, summary, plot, config, CALF
log or screenshot. The temp file gets the permissions a plain `open()` would give (0666 minus the
umask), not mkstemp's private 0600.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write_with(path, lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def _temp_beside(target: Path, suffix: str) -> tuple[int, str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.fchmod(fd, _FILE_MODE)
    return fd, tmp


def atomic_write_with(path: str | Path, writer: Callable[[Any], Any]) -> Path:
    """Call `writer(binary_file)` on a temp file, then move it to `path`."""
    target = Path(path)
    fd, tmp = _temp_beside(target, ".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_via_path(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """For writers that take a file name (a renderer saving an image): `writer(temp_path)`, then
    move the temp file to `path`. The temp name keeps the target's suffix, which such writers
    read the format from."""
    target = Path(path)
    fd, tmp = _temp_beside(target, target.suffix)
    os.close(fd)
    try:
        writer(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
