"""Reading run folders: any folders, from one sweep or many, found by what they hold.

A run folder is one with an episodes.csv and a config.toml (what every run writes, headless or
not). A path given to the report may be such a folder or hold them at any depth (a sweep's
folder; links to folders are not followed). Each run brings its config (as written: section ->
key -> value), its run_summary.json, its episodes and, when it has one, its evaluations
(eval.csv). Every file is read within bounds (safe_io.paths: a regular file, never a FIFO or a
device, of bounded size, UTF-8; JSON and TOML of bounded depth). A run whose file cannot be used
is named in one line and left out, and the others are reported. A last line cut short by a
crash is skipped; other damaged lines (NUL bytes, a huge field) are skipped and counted; an
empty cell is NaN.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
from attrs import define, field

from config.loader import TOP_LEVEL_KEYS as TOP_LEVEL
from config.loader import decode_toml
from safe_io.paths import (
    CONFIG_MAX_BYTES,
    TABLE_MAX_BYTES,
    PathError,
    read_json,
    read_text,
)
from validation.validators import ConfigError

EPISODES = "episodes.csv"
EVALS = "eval.csv"
CONFIG = "config.toml"
SUMMARY = "run_summary.json"
#: columns the report reads from every episodes.csv
EPISODE_COLUMNS = ("episode", "return", "length", "outcome", "certified_share")
#: a longer line of a table is damage, not data (a whole row is about 150 characters)
MAX_LINE = 64 * 1024
#: how many folder levels below a given folder are searched for runs (a sweep's runs are 2 down)
MAX_DEPTH = 32


class ReportError(Exception):
    """The report cannot be made from these folders (one line for the user)."""


@define
class Run:
    folder: Path
    config: dict  # section -> key -> value, as in the run's config.toml
    summary: dict  # run_summary.json ({} if missing)
    episodes: dict[str, np.ndarray]  # column -> values (numbers as float, outcome as str)
    evals: dict[str, np.ndarray] | None = None  # eval.csv's columns, if the run evaluated
    label: str = field(default="")  # its group's name, set by report.groups

    def setting(self, name: str):  # noqa: ANN201
        """A config value by 'section.key' (None if the run's config does not have it)."""
        section, _, key = name.partition(".")
        return self.config.get(section, {}).get(key)

    @property
    def system(self) -> str:
        return str(self.setting("env.system") or "?")

    @property
    def seed(self):  # noqa: ANN201
        return self.setting("run.seed")


def _number(text: str) -> float:
    """A cell as a number: empty is NaN; a run writes finite numbers only, so inf or nan is damage."""
    if text == "":
        return math.nan
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def read_table(path: Path, text_columns: tuple[str, ...] = (), damaged: list[str] | None = None
               ) -> dict[str, np.ndarray]:
    """A CSV file as columns, read within bounds (safe_io.paths.read_text: a regular file of at most
    TABLE_MAX_BYTES, UTF-8). Rows with the wrong number of cells or unreadable numbers are skipped: a
    last line cut short by a crash silently, any other such line (NUL bytes, a huge field) counted
    in `damaged`. A file that cannot be read at all is a ReportError."""
    try:
        text = read_text(path, "", TABLE_MAX_BYTES)
    except PathError as exc:
        raise ReportError(str(exc).strip()) from None
    lines = text.splitlines()
    header = next(csv.reader(lines[:1]), None) if lines and "\x00" not in lines[0] else None
    if not header:
        raise ReportError(f"{path}: empty or without a header line")
    rows, bad = [], 0
    for i, line in enumerate(lines[1:], start=2):
        try:
            if "\x00" in line or len(line) > MAX_LINE:
                raise ValueError("damaged line")
            cells = next(csv.reader([line]))
            if len(cells) != len(header):
                raise ValueError("wrong number of cells")
            rows.append([c if h in text_columns else _number(c) for h, c in zip(header, cells)])
        except (ValueError, csv.Error, StopIteration):
            if i != len(lines) or text.endswith("\n") or "\x00" in line:  # only a last line cut short is expected
                bad += 1
    if bad and damaged is not None:
        damaged.append(f"{path}: {bad} damaged line{'s' if bad > 1 else ''} skipped")
    cols = {}
    for i, h in enumerate(header):
        values = [r[i] for r in rows]
        cols[h] = np.array(values, dtype=object if h in text_columns else float)
    return cols


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def is_run_folder(path: Path) -> bool:
    """A folder that holds an episodes.csv and a config.toml (of any kind: a damaged one is named)."""
    return _exists(path / EPISODES) and _exists(path / CONFIG)


def _walk(top: Path, notes: list[str] | None) -> list[Path]:
    """Run folders below `top`, found without recursion (any tree shape), links to folders not
    followed, at most MAX_DEPTH levels down (deeper folders are named in `notes`, not searched)."""
    found, stack, deep = [], [(top, 0)], False
    while stack:
        folder, depth = stack.pop()
        if is_run_folder(folder):
            found.append(folder)
            continue
        if depth >= MAX_DEPTH:
            deep = True
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        stack.extend((Path(e.path), depth + 1) for e in entries if e.is_dir(follow_symlinks=False))
    if deep and notes is not None:
        notes.append(f"{top}: folders more than {MAX_DEPTH} levels down were not searched")
    return sorted(found)


def find_run_folders(paths: list[str | Path], notes: list[str] | None = None) -> list[Path]:
    """Run folders named or held (at most MAX_DEPTH levels down, links to folders not followed) by
    `paths`, each once, in a stable order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ReportError(f"{p}: no such folder")
        if not p.is_dir():
            raise ReportError(f"{p}: not a folder (give run folders or folders that hold them)")
        here = _walk(p, notes)
        if not here:
            raise ReportError(f"{p}: holds no run folder (one with {EPISODES} and {CONFIG})")
        for f in here:
            if f.resolve() not in {x.resolve() for x in found}:
                found.append(f)
    return found


def _config(folder: Path) -> dict:
    path = folder / CONFIG
    try:
        data = decode_toml(read_text(path, "", CONFIG_MAX_BYTES).encode("utf-8"), str(path))
    except PathError as exc:
        raise ReportError(str(exc).strip()) from None
    except ConfigError as exc:
        raise ReportError(str(exc)) from None
    for key, value in data.items():
        if key not in TOP_LEVEL and not isinstance(value, dict):
            raise ReportError(f"{path}: [{key}] is not a table of settings ({type(value).__name__})")
    return data


def load_run(folder: Path, damaged: list[str] | None = None) -> Run:
    """One run's files, each read within bounds; a ReportError names what is wrong with it."""
    config = _config(folder)
    summary: dict = {}
    if _exists(folder / SUMMARY):
        try:
            data = read_json(folder / SUMMARY, "")
        except PathError as exc:
            raise ReportError(str(exc).strip()) from None
        if not isinstance(data, dict):
            raise ReportError(f"{folder / SUMMARY}: not a JSON object")
        summary = data
    episodes = read_table(folder / EPISODES, ("outcome",), damaged)
    missing = [c for c in EPISODE_COLUMNS if c not in episodes]
    if missing:
        raise ReportError(f"{folder / EPISODES}: not an episodes table (no {', '.join(map(repr, missing))} "
                          f"column{'s' if len(missing) > 1 else ''})")
    evals = None
    if _exists(folder / EVALS):
        evals = read_table(folder / EVALS, ("policy",), damaged)
        if "total_steps" not in evals:
            raise ReportError(f"{folder / EVALS}: not an evaluations table (no 'total_steps' column)")
        if not evals["total_steps"].size:
            evals = None
    return Run(folder, config, summary, episodes, evals)


def load_runs(paths: list[str | Path], warn=None) -> list[Run]:  # noqa: ANN001
    """Every run folder in `paths`; a damaged run is named (`warn`, one line each) and left out, and
    a ReportError only when no run is left."""
    runs, skipped = [], []
    for folder in find_run_folders(paths, skipped):
        damaged: list[str] = []
        try:
            run = load_run(folder, damaged)
        except ReportError as exc:
            skipped.append(f"{folder}: skipped, damaged ({exc})")
            continue
        runs.append(run)
        skipped.extend(damaged)
    if not runs:  # one line: the error, naming the first damaged run
        raise ReportError(f"no usable run in {', '.join(map(str, paths))}" + (f" ({skipped[0]})" if skipped else ""))
    for line in skipped:
        if warn is not None:
            warn(line)
    return runs
