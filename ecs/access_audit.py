"""Record which agent-table columns and resources each system really touches in a frame.

Systems declare `reads` and `writes` (column names and resource class names) for
`--list-systems --verbose`. `AccessAudit` checks those declarations against behaviour: while
it is attached, every column view and resource lookup is logged under the running system, and
each column is compared before and after the system to see what it wrote. It copies every
column around every system, so it is for tests and debugging, never for normal frames.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from components.agent_table import AgentTable
    from ecs.world import World


def resource_name(key: Any) -> str:
    return getattr(key, "__name__", str(key))


class AccessAudit:
    """Per system: columns accessed, columns changed, resources looked up."""

    def __init__(self, world: "World", table: "AgentTable") -> None:
        self.world = world
        self.table = table
        self.current: str | None = None
        self.columns: dict[str, set[str]] = defaultdict(set)
        self.written: dict[str, set[str]] = defaultdict(set)
        self.resources: dict[str, set[str]] = defaultdict(set)
        self._before: dict[str, np.ndarray] = {}
        self._n_before = 0

    # hooks called by AgentTable and World
    def on_column(self, name: str) -> None:
        if self.current is not None and name != "entity":
            self.columns[self.current].add(name)

    def on_resource(self, key: Any) -> None:
        if self.current is not None:
            self.resources[self.current].add(resource_name(key))

    # around each system
    def begin(self, system_name: str) -> None:
        self.current = system_name
        t = self.table
        self._n_before = t.n
        self._before = {name: arr[: t.n].copy() for name, arr in t._data.items()}

    def end(self) -> None:
        name = self.current
        self.current = None
        t = self.table
        if t.n != self._n_before:
            self.written[name].add("AgentTable")
        for col, before in self._before.items():
            if col == "entity":
                if t.n == self._n_before and not np.array_equal(before, t._data[col][: t.n]):
                    self.written[name].add("AgentTable")
                continue
            now = t._data[col][: t.n]
            if now.shape != before.shape:
                continue  # rows added or removed: recorded as a structural write above
            if before.dtype.kind == "f":
                same = np.array_equal(before, now, equal_nan=True)
            else:
                same = np.array_equal(before, now)
            if not same:
                self.written[name].add(col)

    def attach(self) -> "AccessAudit":
        object.__setattr__(self.table, "_on_access", self.on_column)
        self.world._audit = self
        return self

    def detach(self) -> None:
        object.__setattr__(self.table, "_on_access", None)
        self.world._audit = None

    def touched(self, system_name: str) -> set[str]:
        return self.columns[system_name] | self.resources[system_name] | self.written[system_name]
