"""Atomic file writes: write a temp file beside the target, fsync, then rename over it.

A reader (or a crash) never sees a half-written checkpoint, profile, summary, plot, config, CALF
log or screenshot. The temp file gets the permissions a plain `open()` would give (0666 minus the
umask), not mkstemp's private 0600.
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
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


#: how deep json_safe follows nested containers (a plugin's figures); deeper values are written as text
JSON_MAX_DEPTH = 64


def json_safe(obj: Any, _depth: int = 0) -> Any:
    """`obj` as plain JSON data: NaN and inf become null (JSON has neither), numpy scalars and
    arrays become numbers and lists, tuples lists, keys strings, anything else its `str()`. A
    plugin's report figures can hold any of these; the file must still be written."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if _depth >= JSON_MAX_DEPTH:
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): json_safe(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [json_safe(v, _depth + 1) for v in obj]
    tolist = getattr(obj, "tolist", None)  # numpy scalars and arrays, torch tensors
    if callable(tolist):
        try:
            return json_safe(tolist(), _depth + 1)
        except Exception:  # noqa: BLE001 - an object with a broken tolist() is written as text
            pass
    return str(obj)


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Written with `json_safe`, so a NaN or an odd type in the data never stops the file being written."""
    return atomic_write_text(path, json.dumps(json_safe(obj), indent=2, sort_keys=False, allow_nan=False) + "\n")


def is_temp_of(name: str, target: str) -> bool:
    """Whether a file called `name` is one of our temp files for `target` (`.TARGET.XXXXXXXX.tmp`, or
    with the target's suffix for `atomic_write_via_path`). A run killed mid-write leaves one behind;
    safe_io.paths removes them when the folder is next used."""
    suffix = re.escape(Path(target).suffix) if Path(target).suffix else "(?!)"
    return re.fullmatch(rf"\.{re.escape(target)}\.[a-z0-9_]{{8}}(\.tmp|{suffix})", name) is not None


def _temp_beside(target: Path, suffix: str) -> tuple[int, str]:
    """A temp file in the target's folder. The folder is never made here: every output's folder was
    checked before the run, so a missing one was removed meanwhile, and that is said, not hidden."""
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=folder)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"its folder {folder} no longer exists (removed during the run?)",
                                str(target)) from None
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
