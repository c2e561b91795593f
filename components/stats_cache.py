"""StatsCache: HUD values recomputed only when due (every k frames) or marked dirty.

Each key has its own interval in frames. `get(key, frame, compute)` returns the cached value
unless the key is dirty, was never computed, or its interval has passed. Disabled (the
`use_stats_cache = false` baseline), every `get` recomputes.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any


class StatsCache:
    def __init__(self, intervals: Mapping[str, int], enabled: bool = True) -> None:
        for key, every in intervals.items():
            if int(every) < 1:
                raise ValueError(f"interval of {key!r} must be >= 1 frame, got {every}")
        self.intervals = {k: int(v) for k, v in intervals.items()}
        self.enabled = bool(enabled)
        self._values: dict[str, Any] = {}
        self._computed_at: dict[str, int] = {}
        self._dirty: set[str] = set()
        self.computes: dict[str, int] = defaultdict(int)  # recomputations per key, for tests and the benchmark

    def mark_dirty(self, *keys: str) -> None:
        self._dirty.update(keys)

    def mark_all_dirty(self) -> None:
        self._dirty.update(self.intervals)

    def is_dirty(self, key: str) -> bool:
        return key in self._dirty

    def due(self, key: str, frame: int) -> bool:
        if not self.enabled or key in self._dirty or key not in self._computed_at:
            return True
        return frame - self._computed_at[key] >= self.intervals.get(key, 1)

    def get(self, key: str, frame: int, compute: Callable[[], Any]) -> Any:
        if self.due(key, frame):
            self._values[key] = compute()
            self._computed_at[key] = frame
            self._dirty.discard(key)
            self.computes[key] += 1
        return self._values[key]

    def peek(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)
