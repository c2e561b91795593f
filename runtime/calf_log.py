"""The per-step CALF log of the training agent (CSV), bounded in size.

One row per training-agent step: the certificate's inputs and its verdict (`mode` is certified,
relax or fallback when the filter decided, `nominal` in warm-up and with --policy nominal). When the file reaches
half of `max_rows` it is renamed to `calf_log.prev.csv` (replacing the older one) and a new file
starts, so the two files together never hold more than `max_rows` rows and the newest steps are
always kept.
"""
from __future__ import annotations

import os
from pathlib import Path

from components.modes import Mode

HEADER = "step,episode,q,q_cert,delta,kappa_low,neg_q,kappa_up,certified,mode,p_relax\n"
MODE_NAMES = {int(m): m.name.lower() for m in Mode}


def _f(x: float) -> str:
    return "" if x != x else f"{x:.6g}"  # NaN (no certificate yet, or no filter) -> empty cell


class CalfLog:
    def __init__(self, path: str | Path, max_rows: int) -> None:
        self.path = Path(path)
        self.prev_path = self.path.with_name(self.path.stem + ".prev" + self.path.suffix)
        self.max_rows = int(max_rows)
        self.rotate_at = max(1, self.max_rows // 2)
        self.rows = 0
        self._file = None
        if self.max_rows > 0:
            self._open()

    def _open(self) -> None:
        self._file = open(self.path, "w", encoding="utf-8", buffering=1 << 16)
        self._file.write(HEADER)
        self.rows = 0

    def write(self, step: int, episode: int, q: float, q_cert: float, kappa_low: float, kappa_up: float,
              certified: bool, mode: int, p_relax: float, filtered: bool) -> None:
        if self._file is None:
            return
        if self.rows >= self.rotate_at:
            self._file.close()
            os.replace(self.path, self.prev_path)
            self._open()
        cert = ("1" if certified else "0") if filtered else ""
        mode_name = MODE_NAMES.get(mode, str(mode)) if filtered else "nominal"  # warm-up / --policy nominal
        self._file.write(f"{step},{episode},{_f(q)},{_f(q_cert)},{_f(q - q_cert)},{_f(kappa_low)},{_f(-q)},"
                         f"{_f(kappa_up)},{cert},{mode_name},{_f(p_relax)}\n")
        self.rows += 1

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
