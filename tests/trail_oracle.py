"""A per-agent Python model of what every trail must hold, and a reader for the trail mesh's segments."""
from __future__ import annotations

import numpy as np

from components.agent_table import AgentTable
from systems.trails import MARKER_LIFT


class TrailOracle:
    """entity -> list of (point, mode); cleared when the agent respawns, capped at L points."""

    def __init__(self, length: int, axes=(0, 1)) -> None:
        self.L = length
        self.axes = axes
        self.trails: dict[int, list] = {}

    def after_step(self, table: AgentTable) -> None:
        live = set()
        for r in range(table.n):
            e = int(table.entity[r])
            live.add(e)
            trail = self.trails.setdefault(e, [])
            if table.outcome[r] != 0:  # the episode ended this frame: the row holds the respawned state
                trail.clear()
            s = table.state[r]
            point = (s[self.axes[0]], table.height[r] + MARKER_LIFT, s[self.axes[1]])
            trail.append((np.array(point, dtype=np.float32), int(table.mode[r])))
            del trail[: max(0, len(trail) - self.L)]
        for e in list(self.trails):
            if e not in live:
                del self.trails[e]

    def points(self, entity: int) -> np.ndarray:
        return np.array([p for p, _ in self.trails[entity]], dtype=np.float32).reshape(-1, 3)

    def modes(self, entity: int) -> np.ndarray:
        return np.array([m for _, m in self.trails[entity]], dtype=np.int64)


def table_trail(table: AgentTable, row: int) -> tuple[np.ndarray, np.ndarray]:
    """(points, modes) of a row's ring buffer, oldest first."""
    L = table.trail_pos.shape[1]
    n = int(table.trail_len[row])
    slots = (int(table.trail_head[row]) - n + np.arange(n)) % L
    return table.trail_pos[row, slots], table.trail_mode[row, slots].astype(np.int64)


#: the policy cohort's dashes, stated again for the oracle: of every 4 ring slots, a segment starting
#: at the first 2 is drawn (render.cohort_style)
DASH_PERIOD, DASH_ON = 4, 2


def dashed_segments(table: AgentTable, row: int) -> set[tuple[int, int]]:
    """The (slot, next slot) segments a dashed (cohort) row must draw: consecutive points of its live
    trail whose first slot is not a gap. A per-row Python loop, the oracle of the vectorised mesh."""
    L = table.trail_pos.shape[1]
    n = int(table.trail_len[row])
    slots = [(int(table.trail_head[row]) - n + i) % L for i in range(n)]
    return {(a, b) for a, b in zip(slots, slots[1:]) if a % DASH_PERIOD < DASH_ON}


def row_segments(pairs: np.ndarray, L: int, row: int) -> set[tuple[int, int]]:
    """The drawn segments of one row's vertex block, as (slot, slot) pairs."""
    pairs = pairs.reshape(-1, 2).astype(np.int64)
    drawn = pairs[(pairs[:, 0] != pairs[:, 1]) & (pairs[:, 0] // L == row)]
    return {(int(a) % L, int(b) % L) for a, b in drawn}


def chains(pairs: np.ndarray, L: int, rows: int, dashed=()) -> list[list[int]]:  # noqa: ANN001
    """The drawn segments (non-degenerate index pairs) of each row's vertex block, as one ordered chain per row.

    Asserts that no segment leaves its row's block and that each block's segments form a single path;
    `dashed` rows (the policy cohort's) are not one path: their chain is [] (check them with
    dashed_segments / row_segments).
    """
    pairs = pairs.reshape(-1, 2).astype(np.int64)
    drawn = pairs[pairs[:, 0] != pairs[:, 1]]
    out: list[list[int]] = [[] for _ in range(rows)]
    if drawn.size:
        assert np.all(drawn // L == drawn[:, :1] // L), "a segment joins two agents"
        assert np.all(drawn < rows * L), "a segment uses a row that is not live"
    skip = set(int(r) for r in dashed)
    for r in range(rows):
        seg = drawn[drawn[:, 0] // L == r]
        if seg.size == 0 or r in skip:
            continue
        nxt = {int(a): int(b) for a, b in seg}
        assert len(nxt) == len(seg), "two segments start at one vertex"
        starts = set(nxt) - set(nxt.values())
        assert len(starts) == 1, f"row {r}: segments do not form one path"
        v = starts.pop()
        chain = [v]
        while v in nxt:
            v = nxt[v]
            chain.append(v)
        assert len(chain) == len(seg) + 1, f"row {r}: segments form a cycle or a fork"
        out[r] = chain
    return out
