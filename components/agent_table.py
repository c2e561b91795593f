"""The structure-of-arrays agent table: one dense row per live agent, one numpy column per field.

Rows are always dense (`table.state` is `state[:n]`, the live set). Spawning appends rows and
doubles every column's capacity when full; despawning swaps the last row into the hole and
rewrites the moved entity's `AgentRow`. Systems register the columns they own; a column added
after agents exist is filled with its default for them.

Column views are only valid until the next spawn (growth reallocates); take them per frame.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from attrs import define, field

from components.agent_groups import Group
from components.tags import AgentRow, CohortAgent, TrainingAgent, VisualAgent

if TYPE_CHECKING:
    from ecs.world import World


def _as_shape(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


#: what the finite check (systems.finite_check) does with NaN / inf in a float column
NONFINITE_POLICIES = ("auto", "reset", "nan", "owner")


@define(frozen=True)
class ColumnSpec:
    """One column: its per-row shape, dtype, the value new rows get, and who owns it.

    `nonfinite` (float columns): what the finite check does with a NaN or inf found in it.
    `reset`: set it back to `fill`; `nan`: NaN means "none" here, so NaN stays and inf becomes
    NaN; `owner`: the owning system deals with it itself (PhysicsSystem ends the episode of an
    agent whose state is not finite); `auto` (the default): `nan` if `fill` is NaN, else `reset`.
    """

    name: str
    shape: tuple[int, ...] = field(default=(), converter=_as_shape)
    dtype: Any = field(default=np.float64, converter=np.dtype)
    fill: Any = 0
    owner: str = ""
    doc: str = ""
    nonfinite: str = field(default="auto", validator=attrs.validators.in_(NONFINITE_POLICIES))

    @property
    def nonfinite_policy(self) -> str:
        """The policy in force: `auto` resolved from the fill value."""
        if self.nonfinite != "auto":
            return self.nonfinite
        fill = np.asarray(self.fill)
        return "nan" if fill.dtype.kind in "fc" and np.isnan(fill).any() else "reset"

    def __attrs_post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"column name {self.name!r} must be a Python identifier")
        if any(d < 0 for d in self.shape):
            raise ValueError(f"column {self.name!r} has a negative dimension in {self.shape}")

    def compatible(self, other: "ColumnSpec") -> bool:
        return self.shape == other.shape and self.dtype == other.dtype


class AgentTable:
    """Dense per-agent columns plus one esper entity per agent (its row and its role tag)."""

    MAX_AGENTS = 1_000_000

    def __init__(self, world: "World", capacity: int = 16) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        object.__setattr__(self, "_world", world)
        object.__setattr__(self, "_specs", {})
        object.__setattr__(self, "_data", {})
        object.__setattr__(self, "_on_access", None)  # set by ecs.access_audit while auditing
        self.n = 0
        self.capacity = int(capacity)
        self.training_row = -1  # row of the TrainingAgent, -1 when there is none
        self.version = 0  # bumped on every structural change (spawn, despawn)
        self.add_column(ColumnSpec("entity", (), np.int64, -1, owner="AgentTable", doc="esper entity id"))
        self.add_column(ColumnSpec("group", (), np.int8, int(Group.LEARNER), owner="AgentTable",
                                   doc="components.agent_groups.Group: learner or policy cohort"))

    # -- columns -------------------------------------------------------------------------------
    def add_column(self, spec: ColumnSpec) -> None:
        existing = self._specs.get(spec.name)
        if existing is not None:
            if not existing.compatible(spec):
                raise ValueError(
                    f"column {spec.name!r} already exists with shape {existing.shape} dtype {existing.dtype} "
                    f"(owner {existing.owner or '?'}); {spec.owner or 'caller'} asked for shape {spec.shape} "
                    f"dtype {spec.dtype}"
                )
            return
        if spec.name in type(self).__dict__ or spec.name in self.__dict__:
            raise ValueError(f"column name {spec.name!r} clashes with an AgentTable attribute")
        arr = np.empty((self.capacity, *spec.shape), dtype=spec.dtype)
        arr[...] = spec.fill
        self._specs[spec.name] = spec
        self._data[spec.name] = arr

    def add_columns(self, specs: Iterable[ColumnSpec]) -> None:
        for spec in specs:
            self.add_column(spec)

    def has_column(self, name: str) -> bool:
        return name in self._specs

    def specs(self) -> list[ColumnSpec]:
        return list(self._specs.values())

    def column(self, name: str) -> np.ndarray:
        """The live view `data[:n]` of a column."""
        if self._on_access is not None:
            self._on_access(name)
        try:
            return self._data[name][: self.n]
        except KeyError:
            raise KeyError(f"the agent table has no column {name!r} (have: {', '.join(self._specs)})") from None

    def storage(self, name: str) -> np.ndarray:
        """The whole backing array (capacity rows); rows >= n are garbage."""
        if self._on_access is not None:
            self._on_access(name)
        return self._data[name]

    def __getattr__(self, name: str) -> np.ndarray:
        data = self.__dict__.get("_data", {})
        if name in data:
            hook = self.__dict__.get("_on_access")
            if hook is not None:
                hook(name)
            return data[name][: self.n]
        raise AttributeError(f"AgentTable has no attribute or column {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        data = self.__dict__.get("_data", {})
        if name in data:
            if isinstance(value, np.ndarray) and value.base is data[name]:
                return  # an in-place operator (`table.col += x`) already wrote into the column
            raise AttributeError(f"assign into the column instead: table.{name}[...] = value")
        object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return self.n

    # -- rows ----------------------------------------------------------------------------------
    def _grow(self, needed: int) -> None:
        if needed > self.MAX_AGENTS:
            raise ValueError(f"the agent table holds at most {self.MAX_AGENTS} agents, {needed} requested")
        cap = self.capacity
        while cap < needed:
            cap *= 2
        if cap == self.capacity:
            return
        for name, old in self._data.items():
            spec = self._specs[name]
            new = np.empty((cap, *spec.shape), dtype=spec.dtype)
            new[: self.n] = old[: self.n]
            new[self.n :] = spec.fill
            self._data[name] = new
        self.capacity = cap

    def spawn(self, count: int = 1, *, training: bool = False, group: Group = Group.LEARNER,
              values: Mapping[str, Any] | None = None) -> np.ndarray:
        """Append `count` agents of `group`; returns their rows. `values` sets columns for the new rows."""
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"spawn count must be a non-negative integer, got {count!r}")
        count = int(count)
        if count == 0:
            return np.empty(0, dtype=np.int64)
        if training and (count != 1 or self.training_row >= 0):
            raise ValueError("there can be exactly one training agent")
        group = Group(group)
        if training and group != Group.LEARNER:
            raise ValueError("the training agent is a learner")
        start = self.n
        self._grow(start + count)
        rows = np.arange(start, start + count)
        for name, arr in self._data.items():
            arr[start : start + count] = self._specs[name].fill
        tag = TrainingAgent() if training else CohortAgent() if group == Group.COHORT else VisualAgent()
        ents = self._world.esper
        entities = np.fromiter(
            (ents.create_entity(AgentRow(int(r)), tag) for r in rows), dtype=np.int64, count=count
        )
        self._data["entity"][start : start + count] = entities
        self._data["group"][start : start + count] = int(group)
        self.n = start + count
        if training:
            self.training_row = start
        if values:
            for name, value in values.items():
                if name in ("entity", "group"):
                    raise ValueError(f"the {name} column is managed by the table")
                self.column(name)[start : start + count] = value
        self.version += 1
        self._world.events.emit("agents_spawned", rows, entities)
        return rows

    def row_of(self, entity: int) -> int:
        comp = self._world.esper.try_component(int(entity), AgentRow)
        if comp is None:
            raise KeyError(f"entity {entity} is not an agent of this table")
        return comp.row

    def entity_of(self, row: int) -> int:
        if not 0 <= row < self.n:
            raise IndexError(f"row {row} is out of range (n = {self.n})")
        return int(self._data["entity"][row])

    def is_training(self, entity: int) -> bool:
        return self._world.esper.has_component(int(entity), TrainingAgent)

    def despawn(self, entity: int) -> None:
        """Remove one agent: the last row moves into its row (swap-remove)."""
        row = self.row_of(entity)
        last = self.n - 1
        esp = self._world.esper
        if row != last:
            for arr in self._data.values():
                arr[row] = arr[last]
            moved = int(self._data["entity"][row])
            esp.component_for_entity(moved, AgentRow).row = row
            if self.training_row == last:
                self.training_row = row
        if self.training_row == row and esp.has_component(int(entity), TrainingAgent):
            self.training_row = -1
        self._data["entity"][last] = -1
        self.n = last
        esp.delete_entity(int(entity), immediate=True)
        self.version += 1
        if row != last:
            self._world.events.emit("row_moved", last, row)
        self._world.events.emit("agent_despawned", int(entity), row)

    def despawn_many(self, entities: Iterable[int]) -> None:
        for e in list(entities):
            self.despawn(int(e))

    def visual_entities(self) -> list[int]:
        """Entities tagged VisualAgent (learners other than the training agent), newest first (what `-` removes)."""
        ents = [int(e) for e, _ in self._world.esper.get_component(VisualAgent)]
        return sorted(ents, reverse=True)

    def cohort_entities(self) -> list[int]:
        """Entities of the policy cohort (tagged CohortAgent), newest first."""
        ents = [int(e) for e, _ in self._world.esper.get_component(CohortAgent)]
        return sorted(ents, reverse=True)

    # -- invariants ----------------------------------------------------------------------------
    def check_consistency(self) -> None:
        """Raise AssertionError if rows, entities and tags disagree (used by tests and soak runs)."""
        esp = self._world.esper
        live = self._data["entity"][: self.n]
        assert len(set(live.tolist())) == self.n, "duplicate entity ids in the table"
        agent_entities = {int(e) for e, _ in esp.get_component(AgentRow)}
        assert agent_entities == set(live.tolist()), "esper agents and table rows differ"
        for r, e in enumerate(live.tolist()):
            assert esp.component_for_entity(e, AgentRow).row == r, f"entity {e} thinks it is not row {r}"
        trainers = [int(e) for e, _ in esp.get_component(TrainingAgent)]
        assert len(trainers) <= 1, "more than one training agent"
        if trainers:
            assert self.training_row == esp.component_for_entity(trainers[0], AgentRow).row, "stale training_row"
        else:
            assert self.training_row == -1, "training_row set without a training agent"
        cohort = {int(e) for e, _ in esp.get_component(CohortAgent)}
        groups = self._data["group"][: self.n]
        for r, e in enumerate(live.tolist()):
            assert (groups[r] == Group.COHORT) == (e in cohort), f"row {r}'s group disagrees with its tag"
        for name, arr in self._data.items():
            assert arr.shape[0] == self.capacity, f"column {name} has the wrong capacity"
