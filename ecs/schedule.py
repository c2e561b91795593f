"""An explicit, printable order of systems, with placement by name (`before=` / `after=`).

Placement is predictable: a system added `after="A"` runs immediately after A (and after every
other anchor it names); one added `before="B"` runs immediately before B. A batch of systems
(plugins from a config file, say) may anchor on each other; the batch is ordered topologically
first, so a cycle among them, an unknown anchor or a duplicate name is reported before anything
is inserted.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from ecs.errors import ScheduleError
from ecs.system import System

Anchors = str | Sequence[str] | None


def _as_tuple(anchors: Anchors) -> tuple[str, ...]:
    if anchors is None:
        return ()
    if isinstance(anchors, str):
        return (anchors,)
    return tuple(anchors)


class Placement(NamedTuple):
    system: System
    before: tuple[str, ...]
    after: tuple[str, ...]


class Schedule:
    """The ordered systems of one World."""

    def __init__(self) -> None:
        self._systems: list[System] = []
        self._placements: dict[str, Placement] = {}
        self.version = 0  # bumped on every change so the profiler can re-key its columns

    # -- queries -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[System]:
        return iter(self._systems)

    def __len__(self) -> int:
        return len(self._systems)

    def __contains__(self, name: object) -> bool:
        return any(s.name == name for s in self._systems)

    def names(self) -> list[str]:
        return [s.name for s in self._systems]

    def index(self, name: str) -> int:
        for i, s in enumerate(self._systems):
            if s.name == name:
                return i
        raise ScheduleError(f"no system named {name!r} in the schedule (have: {', '.join(self.names())})")

    def get(self, name: str) -> System:
        return self._systems[self.index(name)]

    def placement(self, name: str) -> Placement:
        return self._placements[name]

    # -- changes ------------------------------------------------------------------------------
    def add(self, system: System, *, before: Anchors = None, after: Anchors = None) -> System:
        self.add_many([(system, before, after)])
        return system

    def add_many(self, entries: Iterable[tuple[System, Anchors, Anchors]]) -> list[System]:
        """Insert several systems at once; anchors may name systems of the same batch."""
        batch: list[Placement] = []
        for system, before, after in entries:
            if not isinstance(system, System):
                raise ScheduleError(f"{system!r} is not a System (subclass ecs.System)")
            b = _as_tuple(before) if before is not None else tuple(type(system).before)
            a = _as_tuple(after) if after is not None else tuple(type(system).after)
            batch.append(Placement(system, b, a))
        self._check_names(batch)
        ordered = self._topological(batch)
        systems = list(self._systems)  # insert into a copy: a failure changes nothing
        for placement in ordered:
            self._insert(systems, placement)
        self._systems = systems
        for p in batch:
            self._placements[p.system.name] = p
        self.version += 1
        return [p.system for p in batch]

    def remove(self, name: str) -> System:
        system = self._systems.pop(self.index(name))
        del self._placements[name]
        self.version += 1
        return system

    def set_enabled(self, name: str, enabled: bool) -> None:
        self.get(name).enabled = bool(enabled)
        self.version += 1

    def enable(self, name: str) -> None:
        self.set_enabled(name, True)

    def disable(self, name: str) -> None:
        self.set_enabled(name, False)

    # -- printing -----------------------------------------------------------------------------
    def describe(self, verbose: bool = False) -> str:
        lines = []
        for i, s in enumerate(self._systems, 1):
            flag = "" if s.enabled else "  [disabled]"
            lines.append(f"{i:2d}. {s.name}{flag}")
            if verbose:
                lines.append(f"      reads:  {', '.join(s.reads) or '-'}")
                lines.append(f"      writes: {', '.join(s.writes) or '-'}")
        return "\n".join(lines)

    # -- internals ----------------------------------------------------------------------------
    def _check_names(self, batch: list[Placement]) -> None:
        seen = set(self.names())
        for p in batch:
            name = p.system.name
            if not name or not isinstance(name, str):
                raise ScheduleError(f"{type(p.system).__name__} has no name")
            if name in seen:
                raise ScheduleError(f"duplicate system name {name!r}: a system of that name is already scheduled")
            seen.add(name)
        for p in batch:
            for anchor in p.before + p.after:
                if anchor == p.system.name:
                    raise ScheduleError(f"{anchor!r} cannot be ordered relative to itself")
                if anchor not in seen:
                    raise ScheduleError(
                        f"unknown anchor {anchor!r} for system {p.system.name!r} "
                        f"(known: {', '.join(sorted(seen))})"
                    )

    def _topological(self, batch: list[Placement]) -> list[Placement]:
        """Order the batch so each system's anchors inside the batch are placed first."""
        names = {p.system.name: p for p in batch}
        # Turn intra-batch `before` into `after` on the target so insertion order suffices.
        implied: dict[str, set[str]] = {n: set() for n in names}
        for p in batch:
            for a in p.after:
                if a in names:
                    implied[p.system.name].add(a)
            for b in p.before:
                if b in names:
                    implied[b].add(p.system.name)
        ordered: list[str] = []
        remaining = dict(implied)
        while remaining:
            ready = [n for n in names if n in remaining and not (remaining[n] - set(ordered))]
            if not ready:
                cycle = ", ".join(sorted(remaining))
                raise ScheduleError(f"ordering cycle among systems: {cycle}")
            for n in ready:
                ordered.append(n)
                del remaining[n]
        out = []
        for n in ordered:
            p = names[n]
            extra_after = tuple(sorted(implied[n] - set(p.after)))
            out.append(Placement(p.system, tuple(b for b in p.before if b not in names), p.after + extra_after))
        return out

    @staticmethod
    def _insert(systems: list[System], p: Placement) -> None:
        names = [s.name for s in systems]
        after_idx = [names.index(a) for a in p.after if a in names]
        before_idx = [names.index(b) for b in p.before if b in names]
        if after_idx:
            pos = max(after_idx) + 1
        elif before_idx:
            pos = min(before_idx)
        else:
            pos = len(names)
        if before_idx and pos > min(before_idx):
            first_before = names[min(before_idx)]
            last_after = names[max(after_idx)]
            raise ScheduleError(
                f"cannot place {p.system.name!r}: it must run after {last_after!r} and before "
                f"{first_before!r}, but {first_before!r} already runs before {last_after!r} (cycle)"
            )
        systems.insert(pos, p.system)
