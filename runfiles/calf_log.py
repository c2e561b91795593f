"""The per-step CALF log of the training agent (CSV), bounded in size and never seen half-written.

One row per training-agent step: the certificate's inputs and its verdict (`mode` is certified,
relax or fallback when the filter decided, `nominal` in warm-up and with --policy nominal).

Rows are appended to a hidden working file (`.calf_log.csv.part`); `calf_log.csv` itself only
ever changes by a rename, so a reader (or a crash) sees a whole file with whole rows:
- `publish()` (with the summary, at most every `publish_every` seconds) copies the working file
  to a temp file and renames it over `calf_log.csv`;
- when the working file reaches half of `max_rows` it is renamed to `calf_log.prev.csv`
  (replacing the older one) and a new one starts, so the two files together never hold more than
  `max_rows` rows and the newest steps are always kept;
- `close()` renames the working file to `calf_log.csv`.

A write that fails (a full disk) never ends the run: the log stops (`error` holds why), counts
the rows it cannot write in `lost`, and at the next publish tries again, cutting the working file
back to whole rows first. `close()` raises an OSError naming the rows lost, so the run's exit code
says that data was lost.
"""
from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path

from components.modes import Mode
from safe_io.atomic import atomic_write_with
from safe_io.paths import open_in_place

HEADER = "step,episode,q,q_cert,delta,kappa_low,neg_q,kappa_up,certified,mode,p_relax\n"
MODE_NAMES = {int(m): m.name.lower() for m in Mode}


def _f(x: float) -> str:
    return "" if x != x else f"{x:.6g}"  # NaN (no certificate yet, or no filter) -> empty cell


class CalfLog:
    def __init__(self, path: str | Path, max_rows: int, publish_every: float = 5.0) -> None:
        self.path = Path(path)
        self.prev_path = self.path.with_name(self.path.stem + ".prev" + self.path.suffix)
        self.work_path = self.path.with_name(f".{self.path.name}.part")
        self.max_rows = int(max_rows)
        self.rotate_at = max(1, self.max_rows // 2)
        self.publish_every = float(publish_every)
        self.rows = 0
        self._file = None
        self._published = 0.0
        self.error: OSError | None = None  # the write failure the log is stopped by (None: writing)
        self.lost = 0  # rows that could not be written
        self.last_error: OSError | None = None  # why rows were lost (kept after the log writes again)
        if self.max_rows > 0:
            self._open()
            self.publish(force=True)

    def _open(self) -> None:
        self._file = open_in_place(self.work_path, "w", encoding="utf-8", buffering=1 << 16)  # never through a link
        self._file.write(HEADER)
        self.rows = 0

    def write(self, step: int, episode: int, q: float, q_cert: float, kappa_low: float, kappa_up: float,
              certified: bool, mode: int, p_relax: float, filtered: bool) -> None:
        if self._file is None:
            if self.error is not None:
                self.lost += 1
            return
        cert = ("1" if certified else "0") if filtered else ""
        mode_name = MODE_NAMES.get(mode, str(mode)) if filtered else "nominal"  # warm-up / --policy nominal
        row = (f"{step},{episode},{_f(q)},{_f(q_cert)},{_f(q - q_cert)},{_f(kappa_low)},{_f(-q)},"
               f"{_f(kappa_up)},{cert},{mode_name},{_f(p_relax)}\n")
        try:
            if self.rows >= self.rotate_at:
                self._file.close()
                os.replace(self.work_path, self.prev_path)
                self._open()
                self.publish(force=True)  # calf_log.csv must not keep rows that are now in calf_log.prev.csv
            self._file.write(row)
            self.rows += 1
        except OSError as exc:
            self._stop(exc)
            self.lost += 1

    def _stop(self, exc: OSError) -> None:
        self.error = self.last_error = exc
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def _resume(self) -> None:
        """After a failed write: cut the working file back to whole rows and append again."""
        try:
            with open_in_place(self.work_path, "r+b") as f:
                data = f.read()
                whole = data[: data.rfind(b"\n") + 1] or HEADER.encode()
                f.seek(0)
                f.write(whole)
                f.truncate(len(whole))
            kept = whole.count(b"\n") - 1
            self.lost += max(0, self.rows - kept)  # rows that were in the buffer when the write failed
            self._file = open_in_place(self.work_path, "a", encoding="utf-8", buffering=1 << 16)
            self.rows = kept
            self.error = None
        except OSError:
            self._file = None  # still failing: try again at the next publish

    def publish(self, force: bool = False) -> None:
        """Make `calf_log.csv` show every row written so far (a copy, then a rename)."""
        if self._file is None:
            if self.error is not None:
                self._resume()
            if self._file is None:
                return
            force = True
        now = time.monotonic()
        if not force and now - self._published < self.publish_every:
            return
        try:
            self._file.flush()
        except OSError as exc:
            self._stop(exc)
            raise
        with open(self.work_path, "rb") as src:
            atomic_write_with(self.path, lambda dst: shutil.copyfileobj(src, dst, 1 << 20))
        self._published = now

    def flush(self) -> None:
        self.publish()

    def close(self) -> None:
        """The working file becomes calf_log.csv; raises an OSError if rows were lost on the way."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                self.error = self.last_error = exc
                self.lost += 1
            self._file = None
            os.replace(self.work_path, self.path)
        elif self.error is not None and self.work_path.exists():
            self._resume()  # cut to whole rows
            if self._file is not None:
                self._file.close()
                self._file = None
            os.replace(self.work_path, self.path)
        if self.lost:
            last = self.last_error
            reason = last.strerror if last is not None and last.strerror else "write failed"
            code = last.errno if last is not None and last.errno else errno.EIO
            raise OSError(code, f"{self.lost} rows lost ({reason})")
