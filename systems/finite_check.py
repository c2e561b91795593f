"""FiniteCheckSystem: no NaN or inf in the agent table's float columns at a frame boundary.

Physics and the CALF filter handle non-finite values they make themselves (components.faults);
this check covers every other float column of the table, whoever registered it (a view system,
a plugin): at the start of every frame, before any system reads the table, and (through the
plugin boundary, plugins.boundary) right after each plugin's `process`, so what a plugin
writes is checked before a later system of the same frame, statistics or plots read it.

What happens to a NaN or inf depends on the column's `ColumnSpec.nonfinite` policy: `reset`
sets the value back to the column's fill (an episode's running return restarts at 0), `nan`
keeps NaN (it means "none" there) and turns inf into NaN, `owner` columns are left to the
system that owns them (PhysicsSystem ends the episode of an agent whose state is not finite).
Each value repaired is counted in `nonfinite_values`; the first repair in each column prints one
warning naming the column, its owner and where it was found.

Cost: a min and a max per column per check (a NaN or inf anywhere shows in them), a full scan
only when one is not finite. A wide column (the trail ring buffers: hundreds of values per agent) is looked
at `BUDGET` values per check, rotating through its rows.
"""
from __future__ import annotations

import numpy as np

from components.agent_table import AgentTable, ColumnSpec
from components.resources import Counters
from ecs.system import System
from process.messages import warning

#: values of one column looked at per check, at most (a column with fewer rows x values is whole)
BUDGET = 1 << 18


class FiniteCheck:
    """World resource: the check, shared by FiniteCheckSystem and the plugin boundary."""

    def __init__(self) -> None:
        self._next_row: dict[str, int] = {}  # wide columns: where the next check starts
        self._warned: set[str] = set()
        self._plan: list[tuple[ColumnSpec, str, int]] = []  # (spec, policy, values per row), per column
        self._planned_for = -1  # how many columns the table had when the plan was made
        self.repaired = 0

    def columns(self, table: AgentTable) -> list[ColumnSpec]:
        """The float columns this check looks after (all but `owner` ones)."""
        return [spec for spec, _, _ in self._columns(table)]

    def _columns(self, table: AgentTable) -> list[tuple[ColumnSpec, str, int]]:
        specs = table.specs()
        if len(specs) != self._planned_for:  # columns are only ever added: re-plan when one was
            self._plan = [(s, s.nonfinite_policy, int(np.prod(s.shape, dtype=np.int64))) for s in specs
                          if s.dtype.kind in "fc" and s.nonfinite_policy != "owner" and all(s.shape)]
            self._planned_for = len(specs)
        return self._plan

    def _rows(self, name: str, n: int, row_values: int) -> slice:
        per_check = max(1, BUDGET // max(1, row_values))
        if n <= per_check:
            return slice(0, n)
        start = self._next_row.get(name, 0) % n
        stop = min(n, start + per_check)
        self._next_row[name] = stop % n
        return slice(start, stop)

    def run(self, world, after: str | None = None) -> int:  # noqa: ANN001
        """Check (and repair) the table; returns the number of values repaired. `after` names the
        plugin whose writes are being checked (None: the frame boundary)."""
        table = world.try_resource(AgentTable)
        if table is None or table.n == 0:
            return 0
        audit = world._audit if after is not None else None
        if audit is None:
            return self._run(world, table, after)
        audit.begin(FiniteCheckSystem.name)  # an access audit counts these reads as the check's, not the plugin's
        try:
            return self._run(world, table, after)
        finally:
            audit.end()

    def _run(self, world, table: AgentTable, after: str | None) -> int:  # noqa: ANN001
        n = table.n
        total = 0
        for spec, policy, row_values in self._columns(table):
            rows = self._rows(spec.name, n, row_values)
            view = table.storage(spec.name)[rows]
            if policy == "nan":
                bad = np.isinf(view)
                if not bad.any():
                    continue
                view[bad] = np.nan
            else:
                if view.dtype.kind == "f" and np.isfinite(view.min()) and np.isfinite(view.max()):
                    continue  # the fast path: min and max carry any NaN or inf, and never overflow
                bad = ~np.isfinite(view)
                if not bad.any():
                    continue
                view[bad] = np.broadcast_to(np.asarray(spec.fill, dtype=view.dtype), view.shape)[bad]
            count = int(bad.sum())
            total += count
            if spec.name not in self._warned:
                self._warned.add(spec.name)
                self._warn(world, spec, bad, rows, after)
        if total:
            self.repaired += total
            world.resource(Counters).add("nonfinite_values", total)
        return total

    @staticmethod
    def _warn(world, spec: ColumnSpec, bad: np.ndarray, rows: slice, after: str | None) -> None:  # noqa: ANN001
        per_row = bad.reshape(bad.shape[0], -1).any(axis=1)
        first = rows.start + int(np.flatnonzero(per_row)[0])
        where = f"after plugin {after}" if after else f"at the start of frame {world.frame}"
        fix = ("inf set to NaN (NaN means none there)" if spec.nonfinite_policy == "nan"
               else f"reset to {spec.fill!r}")
        warning(f"column {spec.name} (owner {spec.owner or '?'}) held NaN or inf in {int(per_row.sum())} row(s), "
                f"first row {first}, {where}; {fix}; counted in nonfinite_values (further repairs are only counted)")


class FiniteCheckSystem(System):
    """Runs the finite check first in every simulation step (see the module docstring)."""

    phase = "simulation"  # before PopulationSystem in every step, whatever the time warp

    def __init__(self) -> None:
        self.check: FiniteCheck | None = None
        self._table: AgentTable | None = None

    @property
    def reads(self) -> tuple[str, ...]:  # every checked column: known only once the table has them
        return tuple(s.name for s in self.check.columns(self._table)) if self._table is not None else ()


    writes = reads  # repairs write into the same columns

    def setup(self, world) -> None:  # noqa: ANN001
        self.check = world.try_resource(FiniteCheck) or world.insert_resource(FiniteCheck())
        self._table = world.resource(AgentTable)

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        self.check.run(world)
