"""Per-system frame timing with almost no per-frame cost.

The World reads `perf_counter_ns` after each system and writes the system's duration into a
reused list (a simulation-phase system's durations summed over the frame's K steps), plus the
frame's start, end and step count; `commit` appends those ints to a flat C int64 array, and only
every `chunk` frames are they viewed as numpy and written into a rolling window (ms per system
per frame, steps per frame). That keeps the profiler's own cost to roughly one clock read and
one list store per system per step.
"""
from __future__ import annotations

from array import array

import numpy as np


class FrameTimes:
    """Rolling window of frame periods and per-system durations, keyed by system name."""

    def __init__(self, window: int = 1000, chunk: int = 512) -> None:
        if window < 1 or chunk < 1:
            raise ValueError("window and chunk must be >= 1")
        self.window = int(window)
        self.chunk = int(chunk)
        self.active = True
        self._col: dict[str, int] = {}
        self._ring = np.full((self.window, 8), np.nan)  # ms, columns by name
        self._frame_ring = np.full(self.window, np.nan)  # ms, frame period (start to start)
        self._steps_ring = np.zeros(self.window)  # simulation steps per frame
        self._head = 0
        self.count = 0  # valid rows in the window
        self._flushed_frames = 0  # since the last reset
        self._names: list[str] = []
        self._repeated = 0  # the first `_repeated` names are simulation-phase systems
        self.phase: dict[str, str] = {}  # name -> "simulation" | "view", as last scheduled
        self._cols_now = np.zeros(0, dtype=np.int64)
        self._flat = array("q")  # pending stamps, C int64s: numpy reads them without conversion
        self._pending = 0
        # the newest flushed frame's period is provisional (its own span) until the next frame starts
        self._open_row: int | None = None
        self._open_start = 0
        # whole-run totals since reset: per column sum and max (ms) and frames present
        self._sum = np.zeros(8)
        self._max = np.zeros(8)
        self._n = np.zeros(8, dtype=np.int64)
        self._steps_total = 0  # simulation steps since reset

    @property
    def frames_recorded(self) -> int:
        """Frames timed since the last reset (including ones not yet flushed)."""
        return self._flushed_frames + self._pending

    # -- the two calls the World makes ---------------------------------------------------------
    def begin_schedule(self, names: list[str], repeated: int = 0) -> list[int]:
        """The enabled systems in order, the first `repeated` of them in the simulation phase; returns
        the record to fill: [start_ns, duration_ns per system, end_ns, simulation steps]."""
        self.flush()
        self._names = list(names)
        self._repeated = int(repeated)
        for i, name in enumerate(names):
            if name not in self._col:
                self._add_column(name)
            self.phase[name] = "simulation" if i < self._repeated else "view"
        self._cols_now = np.array([self._col[n] for n in names], dtype=np.int64)
        return [0] * (len(names) + 3)

    def commit(self, record: list[int]) -> None:
        self._flat.extend(record)
        self._pending += 1
        if self._pending >= self.chunk:
            self.flush()

    # -- storage -------------------------------------------------------------------------------
    def _add_column(self, name: str) -> None:
        idx = len(self._col)
        if idx >= self._ring.shape[1]:
            grow = self._ring.shape[1]
            self._ring = np.concatenate([self._ring, np.full((self.window, grow), np.nan)], axis=1)
            self._sum = np.concatenate([self._sum, np.zeros(grow)])
            self._max = np.concatenate([self._max, np.zeros(grow)])
            self._n = np.concatenate([self._n, np.zeros(grow, dtype=np.int64)])
        self._col[name] = idx

    def flush(self) -> None:
        """Turn the pending stamps into durations in the window (a handful of numpy calls)."""
        m = self._pending
        if m == 0:
            return
        k = len(self._names) + 3
        block = np.frombuffer(self._flat, dtype=np.int64).reshape(m, k).copy()
        del self._flat[:]
        self._pending = 0
        durations = block[:, 1:-2] * 1e-6
        steps = block[:, -1].astype(np.float64)
        starts = block[:, 0]
        # A frame's period runs from its start to the next frame's start, so it always contains
        # the frame's own system times (shares sum to at most 1). The newest frame's period is
        # not known yet: it gets its own span now and is corrected when the next block arrives.
        if self._open_row is not None:
            self._frame_ring[self._open_row] = (starts[0] - self._open_start) * 1e-6
        periods = np.empty(m)
        periods[:-1] = np.diff(starts) * 1e-6
        periods[-1] = (block[-1, -2] - block[-1, 0]) * 1e-6
        cols = self._cols_now
        if len(cols):
            self._sum[cols] += durations.sum(axis=0)
            self._max[cols] = np.maximum(self._max[cols], durations.max(axis=0))
            self._n[cols] += m
        self._steps_total += int(steps.sum())
        m_keep = min(m, self.window)  # a chunk longer than the window keeps its newest rows
        durations, periods, steps = durations[-m_keep:], periods[-m_keep:], steps[-m_keep:]
        rows = (self._head + np.arange(m_keep)) % self.window
        if len(cols) < len(self._col):
            self._ring[rows] = np.nan  # systems not in this schedule did not run in these frames
        if len(cols):
            self._ring[rows[:, None], cols] = durations
        self._frame_ring[rows] = periods
        self._steps_ring[rows] = steps
        self._open_row, self._open_start = int(rows[-1]), int(starts[-1])
        self._head = int((self._head + m_keep) % self.window)
        self.count = min(self.window, self.count + m_keep)
        self._flushed_frames += m

    def reset(self) -> None:
        """Forget everything measured so far (warm-up, F3)."""
        del self._flat[:]
        self._pending = 0
        self._open_row = None
        self._ring[:] = np.nan
        self._frame_ring[:] = np.nan
        self._steps_ring[:] = 0
        self._steps_total = 0
        self._head = 0
        self.count = 0
        self._flushed_frames = 0
        self._sum[:] = 0
        self._max[:] = 0
        self._n[:] = 0

    # -- statistics ----------------------------------------------------------------------------
    @staticmethod
    def _summary(values: np.ndarray) -> dict[str, float]:
        v = values[np.isfinite(values)]
        if v.size == 0:
            return {"mean_ms": 0.0, "median_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
        return {
            "mean_ms": float(v.mean()),
            "median_ms": float(np.median(v)),
            "p95_ms": float(np.percentile(v, 95)),
            "max_ms": float(v.max()),
        }

    def _window(self, ring: np.ndarray) -> np.ndarray:
        return ring[: self.count] if self.count < self.window else ring

    @property
    def steps_recorded(self) -> int:
        """Simulation steps timed since the last reset (flushed frames only)."""
        return self._steps_total

    def frame_stats(self) -> dict[str, float]:
        """The frame period, plus the simulation steps per frame and the two phases' time."""
        self.flush()
        out = self._summary(self._window(self._frame_ring))
        out["fps"] = 1000.0 / out["mean_ms"] if out["mean_ms"] > 0 else 0.0
        out["frames_in_window"] = int(self.count)
        steps = self._window(self._steps_ring)
        rows = self._window(self._ring)
        sim_cols = [self._col[n] for n in self._names[: self._repeated]]
        view_cols = [self._col[n] for n in self._names[self._repeated:]]
        total_steps = float(steps.sum())
        sim_ms = float(np.nansum(rows[:, sim_cols])) if sim_cols else 0.0
        frames = max(int(self.count), 1)
        out["steps_per_frame"] = total_steps / frames if self.count else 0.0
        out["steps_in_window"] = int(total_steps)
        out["simulation_ms"] = sim_ms / frames if self.count else 0.0  # the simulation phase, per frame
        out["step_ms"] = sim_ms / total_steps if total_steps else 0.0  # the simulation phase, per step
        out["view_ms"] = float(np.nansum(rows[:, view_cols])) / frames if view_cols and self.count else 0.0
        out["steps_per_second"] = 1000.0 * out["steps_per_frame"] / out["mean_ms"] if out["mean_ms"] > 0 else 0.0
        return out

    def system_stats(self) -> dict[str, dict[str, float]]:
        """Stats per system seen since the last reset, in the current schedule's order first."""
        self.flush()
        rows = self._window(self._ring)
        steps = self._window(self._steps_ring)
        frame = self.frame_stats()
        order = self._names + [n for n in self._col if n not in self._names]
        out = {}
        for name in order:
            c = self._col[name]
            if self._n[c] == 0:
                continue
            s = self._summary(rows[:, c])
            s["share"] = s["mean_ms"] / frame["mean_ms"] if frame["mean_ms"] > 0 else 0.0
            s["frames"] = int(np.isfinite(rows[:, c]).sum())
            s["total_ms"] = float(self._sum[c])
            s["phase"] = self.phase.get(name, "view")
            if s["phase"] == "simulation":  # time per simulation step: its frame time over the frame's steps
                ran = np.isfinite(rows[:, c]) & (steps > 0)
                n_steps = float(steps[ran].sum())
                s["per_step_ms"] = float(rows[ran, c].sum()) / n_steps if n_steps else 0.0
            out[name] = s
        return out

    def slowest(self, k: int = 5) -> list[tuple[str, float]]:
        """The k systems with the highest mean time in the window: (name, mean_ms)."""
        stats = self.system_stats()
        ranked = sorted(((n, s["mean_ms"]) for n, s in stats.items()), key=lambda t: -t[1])
        return ranked[:k]
