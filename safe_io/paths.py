"""Every path the program reads or writes, vetted in one place, before anything is written.

Inputs (the config file, the checkpoint to resume, a plugin's source file) must be regular files
of bounded size: a FIFO, a device such as /dev/zero, a socket or a directory is refused by
looking at the file that was opened (so it cannot be swapped between the check and the read),
and nothing more than the bound is ever read. Outputs (`--out`, `--profile`, `--screenshot`) must
be usable names (`validation.validators.path_problem`), sit in a writable folder, and never replace
an input, each other, or an earlier run's file unless `--overwrite` says so. The run folder is
claimed with a lock (runfiles.run_folder) before the first file is written.

Nothing is written through a symbolic link: the names a run (or a sweep) writes in its folder
must be what it makes, a regular file or a folder, never a link (`check_tree`,
`check_run_entries`), and files written in place are opened without following links
(`open_in_place`). Run-folder files that the report and the sweep read come through the same
bounded readers as inputs (`read_text`, `read_json`: regular files of bounded size, UTF-8, JSON
of bounded depth).

Every failure is a PathError (a UsageError: one line, exit code 2, nothing written), whose
message starts with the flag or the kind of file it is about.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from process.errors import UsageError
from safe_io.atomic import is_temp_of
from validation.validators import nesting_depth, path_problem

#: the files a run keeps in its --out folder (runfiles.run_outputs); `--profile` / `--screenshot`
#: may not be one of them, and a folder holding any of them holds an earlier run
RUN_FILES = ("checkpoint.pt", "config.toml", "run_summary.json", "rewards.png", "calf_log.csv", "calf_log.prev.csv",
             "errors.log", "episodes.csv", "episodes.old.csv", "tensorboard", "eval.csv")
#: hidden working files of a run (the CALF log's rows since the last publish)
WORK_FILES = (".calf_log.csv.part",)
#: the run folder's lock file (runfiles.run_folder)
LOCK_FILE = ".calf-ecs.lock"
#: run files that are folders (every other run file is a regular file)
RUN_DIRS = ("tensorboard",)
#: a run's histories, which grow in place: kept when a run is resumed into its own folder
HISTORY_FILES = ("episodes.csv", "episodes.old.csv", "eval.csv", "tensorboard")

MIB = 1 << 20
#: inputs larger than this are refused before they are read
CONFIG_MAX_BYTES = 1 * MIB
PLUGIN_SOURCE_MAX_BYTES = 16 * MIB
#: a run folder's files as the report and the sweep read them (episodes.csv of a very long run
#: included; a JSON file is small); deeper JSON is refused
TABLE_MAX_BYTES = 512 * MIB
JSON_MAX_BYTES = 16 * MIB
JSON_MAX_DEPTH = 64


class PathError(UsageError):
    """A path that cannot be used; the message names the flag (or kind of file) and why."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n} bytes"


def check_name(path: str | os.PathLike, what: str) -> Path:
    """The text must be able to name a file at all (no NUL, no control characters, UTF-8, lengths)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    problem = path_problem(text)
    if problem is not None:
        raise PathError(f"{what} {text!r}: {problem}")
    return Path(text)


# -- inputs ----------------------------------------------------------------------------------------
def open_input(path: str | os.PathLike, what: str, max_bytes: int) -> BinaryIO:
    """Open a regular file of at most `max_bytes` for reading; anything else is a PathError.

    Opened non-blocking, so a FIFO without a writer cannot hang the open; the kind and size are
    read from the open file (fstat), so the file checked is the file read."""
    p = check_name(path, what)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise PathError(f"{what} {p}: not found") from None
    except IsADirectoryError:
        raise PathError(f"{what} {p}: is a directory") from None
    except PermissionError:
        raise PathError(f"{what} {p}: cannot be read (permission denied)") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO / device that refuses non-blocking opens
            raise PathError(f"{what} {p}: is not a regular file") from None
        raise PathError(f"{what} {p}: cannot be read ({_reason(exc)})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise PathError(f"{what} {p}: is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise PathError(f"{what} {p}: is {_kind(st.st_mode)}, not a regular file")
        if st.st_size > max_bytes:
            raise PathError(f"{what} {p}: is {_size(st.st_size)}, more than the {_size(max_bytes)} it may be")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_input(path: str | os.PathLike, what: str, max_bytes: int) -> bytes:
    """The whole content of a regular file of at most `max_bytes` (also for files whose size the
    file system does not know in advance, such as /proc files)."""
    with open_input(path, what, max_bytes) as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise PathError(f"{what} {path}: cannot be read ({_reason(exc)})") from None
    if len(data) > max_bytes:
        raise PathError(f"{what} {path}: is more than the {_size(max_bytes)} it may be")
    return data


def read_text(path: str | os.PathLike, what: str, max_bytes: int) -> str:
    """A regular file of at most `max_bytes` as UTF-8 text (a PathError when it is not one)."""
    data = read_input(path, what, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PathError(f"{what} {path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})") from None


def read_json(path: str | os.PathLike, what: str, max_bytes: int = JSON_MAX_BYTES) -> object:
    """A run folder's JSON file, read within bounds: a regular file (never a FIFO or a device) of at
    most `max_bytes`, UTF-8, valid JSON nested at most JSON_MAX_DEPTH deep; else a PathError."""
    import json

    text = read_text(path, what, max_bytes)
    try:
        data = json.loads(text)
    except RecursionError:
        raise PathError(f"{what} {path}: nested too deeply (at most {JSON_MAX_DEPTH} levels)") from None
    except ValueError as exc:
        raise PathError(f"{what} {path}: not valid JSON ({exc})") from None
    if nesting_depth(data, JSON_MAX_DEPTH) > JSON_MAX_DEPTH:
        raise PathError(f"{what} {path}: nested too deeply (at most {JSON_MAX_DEPTH} levels)")
    return data


def check_source_file(path: str | os.PathLike, what: str) -> None:
    """A plugin's module file must be a regular file of bounded size before Python imports it
    (importing a FIFO would wait for a writer forever)."""
    open_input(path, what, PLUGIN_SOURCE_MAX_BYTES).close()


# -- outputs ---------------------------------------------------------------------------------------
def open_in_place(path: str | os.PathLike, mode: str, **kwargs) -> BinaryIO:
    """Open a file the program writes in place (`"w"` truncates, `"a"` appends, `"r+"` updates; add
    `b` for bytes), never through a symbolic link and never anything but a regular file (a FIFO
    would block, a device would be written). Refusals are OSErrors, reported like any failed write."""
    base = mode.replace("b", "")
    flags = {"w": os.O_WRONLY | os.O_CREAT, "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND, "r+": os.O_RDWR}[base]
    flags |= os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, f"{path} is a symbolic link; it is never written through") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{path} is {_kind(st.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
        if base == "w":
            os.ftruncate(fd, 0)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def check_tree(base: Path, path: Path, what: str, *, leaf: str = "dir") -> None:
    """`path`, inside `base`, can be written without following a link: each part of it below `base`
    that exists is a real folder (the last one a folder for `leaf="dir"`, a regular file for
    `leaf="file"`), none a symbolic link. A PathError names the part."""
    base, path = Path(base), Path(path)
    parts = path.relative_to(base).parts
    p = base
    for i, part in enumerate(parts):
        p = p / part
        try:
            st = os.lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise PathError(f"{what}: {p} cannot be used ({_reason(exc)})") from None
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            raise PathError(f"{what}: {p} is a symbolic link (to {os.readlink(p)}); nothing is written through "
                            "a link: remove it, or give another folder")
        want_file = last and leaf == "file"
        if want_file and not stat.S_ISREG(st.st_mode):
            raise PathError(f"{what}: {p} is {_kind(st.st_mode)}, not a regular file")
        if not want_file and not stat.S_ISDIR(st.st_mode):
            raise PathError(f"{what}: {p} is {_kind(st.st_mode)}, not a folder")


def check_run_entries(folder: Path, what: str = "--out") -> None:
    """No file a run writes in its folder may be a symbolic link (the run would write through it)
    or of another kind than the run makes (a folder where a file goes, a FIFO, a device)."""
    for name in (*RUN_FILES, *WORK_FILES, LOCK_FILE):
        check_tree(folder, folder / name, f"{what} {folder}", leaf="dir" if name in RUN_DIRS else "file")


def _stat(p: Path, what: str) -> os.stat_result | None:
    try:
        return os.stat(p)
    except (FileNotFoundError, NotADirectoryError):  # a path through a file does not exist either
        return None
    except OSError as exc:
        raise PathError(f"{what}: {p} cannot be used ({_reason(exc)})") from None


def check_writable_dir(directory: Path, what: str) -> None:
    st = _stat(directory, what)
    if st is None:
        raise PathError(f"{what}: directory {directory} does not exist")
    if not stat.S_ISDIR(st.st_mode):
        raise PathError(f"{what}: {directory} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".calf-ecs-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PathError(f"{what}: cannot write in {directory} ({_reason(exc)})") from None


def check_output_file(path: str | os.PathLike, what: str, *, overwrite: bool = True) -> Path:
    """A file the run will write: a usable name in an existing writable folder; if it exists it
    must be a regular file, and replacing it needs `overwrite`."""
    p = check_name(path, what)
    st = _stat(p, what)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise PathError(f"{what}: {p} is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise PathError(f"{what}: {p} is {_kind(st.st_mode)}, not a regular file")
        if not overwrite:
            raise PathError(f"{what}: {p} exists; give another name, or --overwrite to replace it")
    check_writable_dir(p.parent if str(p.parent) else Path("."), what)
    return p


def earlier_run_files(folder: Path) -> list[str]:
    """The files of an earlier run in `folder` (its run files, working files and temp files)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise PathError(f"--out: {folder} cannot be listed ({_reason(exc)})") from None
    found = [n for n in names if n in RUN_FILES or n in WORK_FILES]
    found += [n for n in names if any(is_temp_of(n, target) for target in RUN_FILES)]
    return sorted(found)


def check_out_dir(out: Path, *, overwrite: bool = False) -> None:
    """The run folder: a usable name, an existing writable directory or one that can be created,
    and (without `overwrite`) no earlier run in it. Checked with a probe that is removed again."""
    out = check_name(out, "--out")
    st = _stat(out, "--out")
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise PathError(f"--out: {out} exists and is not a directory")
    base = out
    while _stat(base, "--out") is None:
        base = base.parent
    if not stat.S_ISDIR(os.stat(base).st_mode):
        raise PathError(f"--out: cannot create {out}: {base} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".calf-ecs-probe-", dir=base))
    except OSError as exc:
        verb = "write in" if base == out else "create"
        raise PathError(f"--out: cannot {verb} {out} ({_reason(exc)})") from None
    if st is not None:
        check_run_entries(out)
    if st is not None and not overwrite:
        refuse_earlier_run(out)


def refuse_earlier_run(out: Path) -> None:
    found = earlier_run_files(out)
    if found:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise PathError(f"--out {out} holds an earlier run ({shown}); give another folder, or --overwrite "
                        "to replace it (with --resume of its checkpoint: to continue it there)")


# -- aliasing --------------------------------------------------------------------------------------
def _identity(p: Path) -> tuple:
    """What makes two names the same file: (device, inode) for an existing file (hard links and
    symbolic links included), else the resolved path."""
    try:
        st = os.stat(p)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", str(p.resolve()))


def check_aliasing(outputs: Mapping[str, Path], inputs: Mapping[str, Path], *,
                   replaceable: Iterable[str] = ()) -> None:
    """No output may be the same file as an input or as another output.

    `outputs` and `inputs` map a label ("--profile p.json", "the run's checkpoint.pt") to a path;
    outputs labelled in `replaceable` (the run folder's own files, with --overwrite) may replace
    an input, because every input is read in full before the first file is written."""
    replaceable = set(replaceable)
    seen: dict[tuple, str] = {}
    for label, path in inputs.items():
        seen.setdefault(_identity(path), label)
    input_ids = set(seen)
    for label, path in outputs.items():
        ident = _identity(path)
        other = seen.get(ident)
        if other is not None and not (label in replaceable and ident in input_ids):
            raise PathError(f"{label} would overwrite {other}")
        seen.setdefault(ident, label)
