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
    from ecs.world import World


def resource_name(key: Any) -> str:
    return getattr(key, "__name__", str(key))


class AccessAudit:
    """Per system: columns accessed, columns changed, resources looked up."""

    def __init__(self, world: "World", table: Any) -> None:  # the components.agent_table.AgentTable it watches
        self.world = world
        self.table = table
        self.current: str | None = None
        self.columns: dict[str, set[str]] = defaultdict(set)
        self.written: dict[str, set[str]] = defaultdict(set)
        self.resources: dict[str, set[str]] = defaultdict(set)
        self._stack: list[tuple[str | None, int, dict[str, np.ndarray]]] = []

    # hooks called by AgentTable and World
    def on_column(self, name: str) -> None:
        if self.current is not None and name != "entity":
            self.columns[self.current].add(name)

    def on_resource(self, key: Any) -> None:
        if self.current is not None:
            self.resources[self.current].add(resource_name(key))

    # around each system (and around event handlers owned by another system, nested)
    def _snapshot(self) -> dict[str, np.ndarray]:
        t = self.table
        return {name: arr[: t.n].copy() for name, arr in t._data.items()}

    def begin(self, system_name: str) -> None:
        self._stack.append((self.current, self.table.n, self._snapshot()))
        self.current = system_name

    def end(self) -> None:
        name = self.current
        outer, n_before, before = self._stack.pop()
        self.current = outer
        t = self.table
        if t.n != n_before:
            self.written[name].add("AgentTable")
        changed = []
        for col, old in before.items():
            now = t._data[col][: t.n]
            if now.shape != old.shape:
                continue  # rows added or removed: recorded as a structural write above
            same = np.array_equal(old, now, equal_nan=True) if old.dtype.kind == "f" else np.array_equal(old, now)
            if not same:
                changed.append(col)
                if col == "entity":
                    self.written[name].add("AgentTable")
                else:
                    self.written[name].add(col)
        if self._stack and changed:
            # what a nested handler wrote belongs to it, not to the system that emitted the event
            outer_before = self._stack[-1][2]
            for col in changed:
                if col in outer_before and outer_before[col].shape == t._data[col][: t.n].shape:
                    outer_before[col] = t._data[col][: t.n].copy()

    def handler_owner(self, handler: Any) -> str | None:
        """The name of the system a handler belongs to (a bound method of a System), if any."""
        from ecs.system import System

        owner = getattr(handler, "__self__", None)
        return owner.name if isinstance(owner, System) else None

    def attach(self) -> "AccessAudit":
        object.__setattr__(self.table, "_on_access", self.on_column)
        self.world._audit = self
        self.world.events.audit = self
        return self

    def detach(self) -> None:
        object.__setattr__(self.table, "_on_access", None)
        self.world._audit = None
        self.world.events.audit = None

    def touched(self, system_name: str) -> set[str]:
        return self.columns[system_name] | self.resources[system_name] | self.written[system_name]
