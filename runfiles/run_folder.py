"""Claiming a run folder: one run at a time, and whatever a killed run left behind cleaned up.

A run locks `DIR/.calf-ecs.lock` (fcntl.flock, with its pid written inside) before it writes its
first file and keeps the lock until its last file is written. A second run on the same folder is
refused in one line naming the holder's pid. The kernel drops the lock when its process dies,
however it dies (kill -9 included), so a crashed run never leaves the folder stuck.

Claiming also cleans: temp files of interrupted atomic writes (`.checkpoint.pt.XXXXXXXX.tmp`)
are removed, since no other run can be writing them while the lock is held. `recover()` does the
same for the folder of a checkpoint being resumed, and finishes its CALF log: rows a killed run
had appended to its working file after the last publish are kept, cut back to whole rows.
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
from pathlib import Path

from safe_io.atomic import is_temp_of
from safe_io.paths import (
    LOCK_FILE,
    RUN_FILES,
    WORK_FILES,
    PathError,
    check_run_entries,
    earlier_run_files,
    open_in_place,
    refuse_earlier_run,
)

CALF_LOG, CALF_LOG_WORK = "calf_log.csv", ".calf_log.csv.part"


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "another run"
    return f"another run (pid {text})" if text.isdigit() else "another run"


def _lock(path: Path) -> int:
    """Lock the file at `path` (creating it) and return its fd; _Busy when another process holds it.

    A holder may remove the lock file as it finishes; a lock taken on a file that was removed in
    the meantime is worth nothing, so the path is checked to still be the locked file."""
    for _ in range(5):
        try:  # never through a symbolic link (the pid would be written into whatever it points to)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
                         0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PathError(f"--out {path.parent}: its {LOCK_FILE} is a symbolic link; nothing is written "
                                "through a link: remove it, or give another folder") from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise PathError(f"--out {path.parent}: its {LOCK_FILE} is not a regular file; remove it, or give "
                            "another folder")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise _Busy(holder) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    raise PathError(f"{path.parent}: cannot take the run folder's lock ({LOCK_FILE} keeps changing)")


class _Busy(Exception):
    def __init__(self, holder: str) -> None:
        self.holder = holder


def holder_of(folder: Path) -> str | None:
    """Who holds `folder`'s lock now ("another run (pid N)"), or None when nobody does."""
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(fd)
    finally:
        os.close(fd)
    return None


def remove_stale_temps(folder: Path) -> list[str]:
    """Remove temp files of interrupted atomic writes of run files (call only while holding the lock)."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if any(is_temp_of(name, target) for target in RUN_FILES):
            try:
                os.unlink(folder / name)
                removed.append(name)
            except OSError:
                pass
    return removed


def finish_calf_log(folder: Path) -> bool:
    """A killed run's CALF working file holds every row of its last segment (calf_log.csv is an
    older copy of it): make it calf_log.csv, cut after the last whole row. True if it did."""
    work = folder / CALF_LOG_WORK
    try:
        with open_in_place(work, "r+b") as f:  # never through a link, never a FIFO or device
            data = f.read()
            whole = data[: data.rfind(b"\n") + 1]
            if len(whole) != len(data):
                f.truncate(len(whole))
        os.replace(work, folder / CALF_LOG)
        return True
    except OSError:
        return False


def _where(p: Path) -> str:
    """A file's place: its folder resolved (links to folders followed), its own name as it is."""
    p = Path(p)
    return os.path.join(os.path.realpath(p.parent), p.name)


def _remove(target: Path) -> None:
    """Remove an earlier run's file or folder (tensorboard/); a symbolic link is removed, never followed."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)


class RunFolder:
    """The claimed output folder of one run; `release()` when its last file is written."""

    def __init__(self, path: Path, fd: int, created: list[Path]) -> None:
        self.path = path
        self._fd: int | None = fd
        self._created = created  # folders this claim made (removed again by `abandon`)

    @classmethod
    def claim(cls, path: Path, *, overwrite: bool = False, keep: tuple[Path, ...] = (),
              exclusive: bool = False) -> "RunFolder":
        """Create (if needed) and lock `path`; refuse it if another run holds it or (without
        `overwrite`) an earlier run is in it. With `overwrite` the earlier run's files are removed,
        except those in `keep` (inputs of this run, e.g. the checkpoint it resumes: replaced by
        rename when the new one is written). `exclusive`: the folder must be new (a default
        runs/<timestamp>/ folder: the caller picks another name on FileExistsError)."""
        created = cls._make(path, exclusive)
        try:
            fd = _lock(path / LOCK_FILE)
        except _Busy as busy:
            cls._remove_created(created)
            raise PathError(f"--out {path} is in use by {busy.holder}; wait for it to finish or give "
                            "another folder") from None
        except OSError as exc:
            cls._remove_created(created)
            raise PathError(f"--out: cannot lock {path} ({exc.strerror or exc})") from None
        folder = cls(path, fd, created)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            check_run_entries(path)  # again under the lock: no link to write through, no odd file kinds
            if not overwrite:
                refuse_earlier_run(path)
            else:
                kept = {_where(k) for k in keep}
                for name in earlier_run_files(path):
                    target = path / name
                    if _where(target) not in kept:
                        _remove(target)
            remove_stale_temps(path)
        except BaseException:
            folder.abandon()
            raise
        return folder

    @staticmethod
    def _make(path: Path, exclusive: bool) -> list[Path]:
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        if exclusive:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir()  # FileExistsError: the caller picks another name
        else:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PathError(f"--out: cannot create {path} ({exc.strerror or exc})") from None
        return missing

    @staticmethod
    def _remove_created(created: list[Path]) -> None:
        for folder in created:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break

    def release(self) -> None:
        """Unlock and remove the lock file (the run's files are all written)."""
        if self._fd is None:
            return
        try:
            (self.path / LOCK_FILE).unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def abandon(self) -> None:
        """Release, and remove the folders this claim created if they are still empty (the run was
        refused before writing anything)."""
        self.release()
        self._remove_created(self._created)


def recover(folder: Path) -> None:
    """Tidy the folder of a checkpoint being resumed, if no run holds it: remove temp files of
    interrupted writes and finish its CALF log. Nothing happens to a folder a live run holds."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    if not any(n in WORK_FILES or any(is_temp_of(n, t) for t in RUN_FILES) for n in names):
        return  # nothing to tidy: do not even create a lock file there
    try:
        fd = _lock(folder / LOCK_FILE)  # a lock file that is a link (or not a file): the folder is left alone
    except (_Busy, OSError, PathError):
        return
    folder_lock = RunFolder(folder, fd, [])
    try:
        remove_stale_temps(folder)
        finish_calf_log(folder)
    finally:
        folder_lock.release()
