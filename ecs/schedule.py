"""An explicit, printable order of systems in phases, with placement by name (`before=` / `after=`).

Two phases, as a game engine's fixed-step and per-frame stages: the `simulation` phase (PHASES[0])
runs K times per rendered frame (K = the time warp, `World.steps_per_frame`), a fixed step of
`dt` each; the `view` phase runs once per frame after it. Every system belongs to exactly one
phase and the schedule lists the simulation phase first.

Placement is predictable: a system added `after="A"` runs immediately after A (and after every
other anchor it names); one added `before="B"` runs immediately before B. A system joins its
anchors' phase unless it names one (`phase=`, or the class attribute `System.phase`); a system
with neither anchors nor phase goes to the end of the last phase (the view), as before phases
existed. A batch of systems (plugins from a config file, say) may anchor on each other; the batch
is ordered topologically first, so a cycle among them, an unknown anchor, a duplicate name, an
unknown phase or anchors in another phase are reported before anything is inserted.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from ecs.errors import ScheduleError
from ecs.system import System

Anchors = str | Sequence[str] | None

SIMULATION = "simulation"
VIEW = "view"
#: phase name -> what it means; in run order
PHASES = {
    SIMULATION: "fixed step, K steps per frame: the time warp",
    VIEW: "once per frame",
}
REPEATED_PHASE = SIMULATION


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
    phase: str | None = None  # asked for (None: the anchors' phase, else the last phase)


class Schedule:
    """The ordered systems of one World."""

    def __init__(self) -> None:
        self._systems: list[System] = []
        self._placements: dict[str, Placement] = {}
        self._phase: dict[str, str] = {}  # system name -> its phase
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

    def phase_of(self, name: str) -> str:
        self.index(name)  # a clear error for an unknown name
        return self._phase[name]

    def in_phase(self, phase: str) -> list[System]:
        """The systems of one phase, in order."""
        if phase not in PHASES:
            raise ScheduleError(f"unknown phase {phase!r} (phases: {', '.join(PHASES)})")
        return [s for s in self._systems if self._phase[s.name] == phase]

    # -- changes ------------------------------------------------------------------------------
    def add(self, system: System, *, before: Anchors = None, after: Anchors = None, phase: str | None = None) -> System:
        self.add_many([(system, before, after, phase)])
        return system

    def add_many(self, entries: Iterable[tuple]) -> list[System]:
        """Insert several systems at once; anchors may name systems of the same batch.

        Each entry is (system, before, after) or (system, before, after, phase)."""
        batch: list[Placement] = []
        for entry in entries:
            system, before, after = entry[:3]
            phase = entry[3] if len(entry) > 3 else None
            if not isinstance(system, System):
                raise ScheduleError(f"{system!r} is not a System (subclass ecs.System)")
            b = _as_tuple(before) if before is not None else tuple(type(system).before)
            a = _as_tuple(after) if after is not None else tuple(type(system).after)
            phase = phase if phase is not None else type(system).phase
            if phase is not None and phase not in PHASES:
                raise ScheduleError(f"unknown phase {phase!r} for system {system.name!r} "
                                    f"(phases: {', '.join(PHASES)})")
            batch.append(Placement(system, b, a, phase))
        self._check_names(batch)
        ordered = self._topological(batch)
        phases = self._resolve_phases(batch)
        systems = list(self._systems)  # insert into a copy: a failure changes nothing
        for placement in ordered:
            self._insert(systems, placement, phases)
        self._systems = systems
        self._phase = phases
        for p in batch:
            self._placements[p.system.name] = p
        self.version += 1
        return [p.system for p in batch]

    def remove(self, name: str) -> System:
        system = self._systems.pop(self.index(name))
        del self._placements[name]
        del self._phase[name]
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
    def describe(self, verbose: bool = False, steps_per_frame: str | None = None) -> str:
        """The order, phase by phase; `steps_per_frame` (e.g. '1', '25', 'auto') is named in the
        simulation phase's heading when given."""
        lines = []
        current = None
        for i, s in enumerate(self._systems, 1):
            phase = self._phase[s.name]
            if phase != current:
                current = phase
                doc = PHASES[phase]
                if phase == REPEATED_PHASE and steps_per_frame is not None:
                    doc += f", now K = {steps_per_frame}"
                lines.append(f"{phase} phase - {doc}:")
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
            out.append(Placement(p.system, tuple(b for b in p.before if b not in names), p.after + extra_after, p.phase))
        return out

    def _resolve_phases(self, batch: list[Placement]) -> dict[str, str]:
        """Every system's phase: the asked-for one, else its anchors' (through batch members too),
        else the last phase. Anchors must run in the same phase as the system they place."""
        phases = dict(self._phase)
        for p in batch:
            if p.phase is not None:
                phases[p.system.name] = p.phase
        pending = [p for p in batch if p.phase is None]
        while pending:
            progress = False
            for p in list(pending):
                known = {a: phases[a] for a in p.before + p.after if a in phases}
                if len(set(known.values())) > 1:
                    detail = ", ".join(f"{a!r} ({ph})" for a, ph in known.items())
                    raise ScheduleError(f"{p.system.name!r} is anchored on systems of different phases: {detail}")
                if known:
                    phases[p.system.name] = next(iter(known.values()))
                    pending.remove(p)
                    progress = True
            if not progress:  # the rest anchor on nothing placed: the end of the last phase
                p = pending.pop(0)
                phases[p.system.name] = list(PHASES)[-1]
        for p in batch:
            name = p.system.name
            mine = phases[name]
            for anchor in p.before + p.after:
                if phases[anchor] != mine:
                    why = f"asks for the {mine} phase" if p.phase is not None else f"joins the {mine} phase"
                    raise ScheduleError(f"{name!r} {why} but is anchored on {anchor!r}, which runs in the "
                                        f"{phases[anchor]} phase")
        return phases

    @staticmethod
    def _insert(systems: list[System], p: Placement, phases: dict[str, str]) -> None:
        names = [s.name for s in systems]
        phase = phases[p.system.name]
        order = list(PHASES)
        rank = order.index(phase)
        # the phase's block: systems of earlier phases come before it, later ones after
        start = sum(1 for n in names if order.index(phases[n]) < rank)
        end = sum(1 for n in names if order.index(phases[n]) <= rank)
        after_idx = [names.index(a) for a in p.after if a in names]
        before_idx = [names.index(b) for b in p.before if b in names]
        if after_idx:
            pos = max(after_idx) + 1
        elif before_idx:
            pos = min(before_idx)
        else:
            pos = end
        pos = min(max(pos, start), end)
        if before_idx and pos > min(before_idx):
            first_before = names[min(before_idx)]
            last_after = names[max(after_idx)]
            raise ScheduleError(
                f"cannot place {p.system.name!r}: it must run after {last_after!r} and before "
                f"{first_before!r}, but {first_before!r} already runs before {last_after!r} (cycle)"
            )
        systems.insert(pos, p.system)
