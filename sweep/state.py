"""What a sweep has done, on disk: resuming skips finished runs, and a changed command is refused.

- DIR/sweep_run.json in each run folder, written when its app.py exited 0: the run's arguments,
  its time and when it finished. A run counts as finished when this record is there and the
  run's own run_summary.json says it was not interrupted.
- OUT/sweep.json: every run of the sweep with its status (ok, failed, interrupted, skipped,
  pending), seconds and error line, rewritten (atomically) as each run ends.

A folder that holds an unfinished run (stopped, failed, or cut off) is cleared before the run
starts again from scratch: partial outputs of a run that never finished are not results.
"""
from __future__ import annotations

import os
import shutil
import stat
from datetime import datetime, timezone
from pathlib import Path

from safe_io.atomic import atomic_write_json
from safe_io.paths import PathError, read_json
from sweep.grid import RunSpec

MARKER = "sweep_run.json"
SWEEP_FILE = "sweep.json"


def _comparable(argv: list[str] | tuple[str, ...]) -> list[str]:
    """The arguments without --out's value (the same folder may be named relative or absolute)."""
    argv = list(argv)
    if "--out" in argv:
        i = argv.index("--out")
        del argv[i:i + 2]
    return argv


def _read_json(path: Path) -> dict | None:
    """A run folder's JSON file read within bounds (safe_io.paths.read_json: never a FIFO, a device or
    a huge file); None when it is missing or unusable (the run then counts as not finished)."""
    try:
        data = read_json(path, "")
    except PathError:
        return None
    return data if isinstance(data, dict) else None


class ChangedRunError(Exception):
    """A finished run in the folder was made with other arguments than this sweep would use."""


def finished(spec: RunSpec) -> bool:
    """True when the run's folder holds a finished run of exactly this command (ChangedRunError if
    it holds a finished run of another)."""
    marker = _read_json(spec.folder / MARKER)
    summary = _read_json(spec.folder / "run_summary.json")
    if marker is None or summary is None or summary.get("interrupted", True):
        return False
    argv = marker.get("argv", [])
    if not isinstance(argv, list) or _comparable([str(a) for a in argv]) != _comparable(spec.argv):
        raise ChangedRunError(
            f"{spec.folder} holds a finished run made with other settings ({' '.join(map(str, argv)) if isinstance(argv, list) else argv!r}); "
            "choose another --out, or remove that folder to run it again")
    return True


def clear_unfinished(spec: RunSpec) -> bool:
    """Remove the folder of a run that did not finish (True if there was one). A link in its place is
    removed, never followed (the sweep's checks refuse one before; this is the last guard)."""
    try:
        st = os.lstat(spec.folder)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(spec.folder)
    else:
        spec.folder.unlink()
    return True


def mark_finished(spec: RunSpec, result: dict) -> None:
    atomic_write_json(spec.folder / MARKER, {
        "argv": list(spec.argv),
        "seconds": result["seconds"],
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def run_finished_cleanly(spec: RunSpec) -> str | None:
    """After a run's app.py exited 0: None when its run_summary.json says it finished, else why not
    (a run stopped from outside the sweep, by SIGTERM say, exits 0 too but is not a result)."""
    summary = _read_json(spec.folder / "run_summary.json")
    if summary is None:
        return "exited 0 without a readable run_summary.json"
    if summary.get("interrupted", True):
        return "exited 0 but its run_summary.json says it was interrupted (stopped from outside the sweep); not a result"
    return None


def write_sweep_file(out: Path, command: list[str], records: dict[str, dict]) -> None:
    atomic_write_json(out / SWEEP_FILE, {"command": command, "runs": list(records.values())})
