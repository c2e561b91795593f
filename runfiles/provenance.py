"""Where a run came from: its command line, the code's git commit, and the versions that ran it.

Stored as `provenance` in run_summary.json, so a figure made from a run folder can be traced back
to the exact program and libraries. Versions come from the installed packages' metadata (no
import: a headless run never imports ursina); a missing package or a folder that is not a git
checkout gives null, never an error.
"""
from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

#: the code's own folder (the repository root of a checkout)
CODE_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "numpy", "esper", "ursina")


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_state(root: Path = CODE_ROOT) -> dict[str, object]:
    """{'commit': sha or None, 'dirty': bool or None} of the checkout holding the code."""
    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def provenance(command: list[str] | None = None) -> dict[str, object]:
    """The run's command line (default: this process's), code commit, platform and versions."""
    git = git_state()
    return {
        "command": list(sys.argv if command is None else command),
        "cwd": str(Path.cwd()),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: package_version(name) for name in PACKAGES},
    }
