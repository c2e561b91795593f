"""eval.csv: one row per evaluation of a run (rl.evaluation.EvalResult, columns EVAL_COLUMNS).

Small (one row every `evaluation.every` episodes), so the whole file is rewritten atomically
after each evaluation: a reader, or a crash, always sees whole rows. A run resumed into the same
folder keeps the rows already there.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from rl.evaluation import EVAL_COLUMNS, EvalResult
from safe_io.atomic import atomic_write_text

FILENAME = "eval.csv"


def _cell(x: object) -> str:
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.6g}"
    return str(x)


def read_eval_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of an eval.csv as dicts of strings (empty cells are NaN)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class EvalLog:
    def __init__(self, path: str | Path, keep_existing: bool = False) -> None:
        self.path = Path(path)
        self.lines: list[list[str]] = []
        if keep_existing and self.path.is_file():
            try:
                rows = read_eval_csv(self.path)
            except (OSError, csv.Error, UnicodeDecodeError):
                rows = []
            self.lines = [[r.get(c, "") or "" for c in EVAL_COLUMNS] for r in rows]

    def append(self, result: EvalResult) -> None:
        row = result.as_row()
        row["return_gain"] = result.return_gain
        self.lines.append([_cell(row[c]) for c in EVAL_COLUMNS])
        self.write()

    def write(self) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(EVAL_COLUMNS)
        w.writerows(self.lines)
        atomic_write_text(self.path, buf.getvalue())
