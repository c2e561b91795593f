"""Reading run folders: any folders, from one sweep or many, found by what they hold.

A run folder is one with an episodes.csv and a config.toml (what every run writes, headless or
not). A path given to the report may be such a folder or hold them at any depth (a sweep's
folder). Each run brings its config (as written: section -> key -> value), its run_summary.json,
its episodes and, when it has one, its evaluations (eval.csv). A last line cut short by a crash
is skipped; an empty cell is NaN.
"""
from __future__ import annotations

import csv
import json
import math
import tomllib
from pathlib import Path

import numpy as np
from attrs import define, field

EPISODES = "episodes.csv"
EVALS = "eval.csv"
CONFIG = "config.toml"
SUMMARY = "run_summary.json"


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
    if text == "":
        return math.nan
    return float(text)


def read_table(path: Path, text_columns: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """A CSV file as columns; rows with the wrong number of cells or unreadable numbers (a last
    line cut short) are skipped."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return {}
        rows = []
        for cells in reader:
            if len(cells) != len(header):
                continue
            try:
                rows.append([c if h in text_columns else _number(c) for h, c in zip(header, cells)])
            except ValueError:
                continue
    cols = {}
    for i, h in enumerate(header):
        values = [r[i] for r in rows]
        cols[h] = np.array(values, dtype=object if h in text_columns else float)
    return cols


def is_run_folder(path: Path) -> bool:
    return (path / EPISODES).is_file() and (path / CONFIG).is_file()


def find_run_folders(paths: list[str | Path]) -> list[Path]:
    """Run folders named or held (at any depth) by `paths`, each once, in a stable order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ReportError(f"{p}: no such folder")
        if not p.is_dir():
            raise ReportError(f"{p}: not a folder (give run folders or folders that hold them)")
        here = [p] if is_run_folder(p) else sorted(c.parent for c in p.rglob(EPISODES) if is_run_folder(c.parent))
        if not here:
            raise ReportError(f"{p}: holds no run folder (one with {EPISODES} and {CONFIG})")
        for f in here:
            if f.resolve() not in {x.resolve() for x in found}:
                found.append(f)
    return found


def load_run(folder: Path) -> Run:
    try:
        config = tomllib.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReportError(f"{folder / CONFIG}: cannot be read ({exc})") from None
    try:
        summary = json.loads((folder / SUMMARY).read_text())
    except (OSError, ValueError):
        summary = {}
    try:
        episodes = read_table(folder / EPISODES, ("outcome",))
        evals = read_table(folder / EVALS, ("policy",)) if (folder / EVALS).is_file() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{folder}: cannot read its tables ({exc})") from None
    if "episode" not in episodes:
        raise ReportError(f"{folder / EPISODES}: not an episodes table (no 'episode' column)")
    if evals is not None and not evals.get("total_steps", np.zeros(0)).size:
        evals = None
    return Run(folder, config, summary, episodes, evals)


def load_runs(paths: list[str | Path]) -> list[Run]:
    return [load_run(f) for f in find_run_folders(paths)]
