"""The World: one esper context, its resources, its events and its ordered systems."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, Protocol, TypeVar

import esper

from ecs.events import EventBus
from ecs.schedule import REPEATED_PHASE, Anchors, Schedule
from ecs.system import System

T = TypeVar("T")
_world_ids = itertools.count()


class FrameRecorder(Protocol):
    """What the World calls when a profiler is attached (see systems.profiler)."""

    active: bool

    def begin_schedule(self, names: list[str], repeated: int) -> list[int]:
        """The schedule changed: `names` are the enabled systems in order, the first `repeated`
        of them in the simulation phase. Return the buffer to fill (len(names) + 3)."""

    def commit(self, record: list[int]) -> None:
        """One frame is done: record = [start_ns, ns of system 1 .. m (a simulation system's summed
        over the frame's steps), end_ns, simulation steps]."""


class World:
    """Owns its esper context, so two worlds in one process never see each other's entities.

    Resources are singletons keyed by type (or by an explicit key): config, clock, RNG, agent
    table, networks, caches. One `step()` is one frame: the schedule's simulation phase
    `steps_per_frame` times (the time warp), then its view phase once.
    """

    def __init__(self, dt: float = 0.01, name: str | None = None) -> None:
        if not (isinstance(dt, (int, float)) and 0 < dt <= 1.0):
            raise ValueError(f"dt must be in (0, 1], got {dt!r}")
        self.name = name or f"calf-ecs-world-{next(_world_ids)}"
        if self.name in esper.list_worlds():
            raise ValueError(f"an esper world context named {self.name!r} already exists")
        self.dt = float(dt)
        self.frame = 0  # frames run (view phase passes)
        self.steps = 0  # simulation steps run (simulation phase passes)
        self._steps_per_frame = 1
        self.last_simulation_ns = 0  # wall time of the last frame's simulation phase (all its steps)
        self.schedule = Schedule()
        self.events = EventBus()
        self._resources: dict[Any, Any] = {}
        self._active: list[System] = []
        self._active_sim: list[System] = []
        self._active_view: list[System] = []
        self._active_version = -1
        self._recorder: FrameRecorder | None = None
        self._stamps: list[int] = []
        self._frame_end_hooks: list[Callable[[World], None]] = []
        self._step_end_hooks: list[Callable[[World], None]] = []
        self._audit = None  # an ecs.access_audit.AccessAudit while declarations are being checked
        self._closed = False
        previous = esper.current_world
        esper.switch_world(self.name)  # creates the context
        esper.switch_world(previous)

    # -- esper ---------------------------------------------------------------------------------
    @property
    def esper(self):  # noqa: ANN201 - the esper module, switched to this world's context
        """esper, switched to this world's context. Use for every entity operation."""
        if esper.current_world != self.name:
            esper.switch_world(self.name)
        return esper

    def create_entity(self, *components: Any) -> int:
        return self.esper.create_entity(*components)

    def delete_entity(self, entity: int) -> None:
        self.esper.delete_entity(entity, immediate=True)

    def entity_count(self) -> int:
        return len(self.esper._entities)

    # -- resources -----------------------------------------------------------------------------
    def insert_resource(self, value: Any, key: Any = None) -> Any:
        self._resources[key if key is not None else type(value)] = value
        return value

    def resource(self, key: type[T] | Any) -> T:
        if self._audit is not None:
            self._audit.on_resource(key)
        try:
            return self._resources[key]
        except KeyError:
            label = getattr(key, "__name__", repr(key))
            raise KeyError(f"world {self.name!r} has no resource {label}") from None

    def try_resource(self, key: type[T] | Any, default: Any = None) -> T | None:
        if self._audit is not None:
            self._audit.on_resource(key)
        return self._resources.get(key, default)

    def has_resource(self, key: Any) -> bool:
        return key in self._resources

    def remove_resource(self, key: Any) -> Any:
        return self._resources.pop(key, None)

    def resource_keys(self) -> list[Any]:
        return list(self._resources)

    # -- systems -------------------------------------------------------------------------------
    def add_system(self, system: System, *, before: Anchors = None, after: Anchors = None,
                   phase: str | None = None) -> System:
        return self.add_systems([(system, before, after, phase)])[0]

    def add_systems(self, entries: list[tuple]) -> list[System]:
        """Entries (system, before, after) or (system, before, after, phase); see ecs.schedule."""
        added = self.schedule.add_many(entries)
        try:
            for s in added:
                s.setup(self)
        except Exception:
            for s in added:
                if s.name in self.schedule:
                    self.schedule.remove(s.name)
            raise
        return added

    def remove_system(self, name: str) -> System:
        system = self.schedule.remove(name)
        system.teardown(self)
        return system

    def system(self, name: str) -> System:
        return self.schedule.get(name)

    # -- profiling hook ------------------------------------------------------------------------
    def attach_recorder(self, recorder: FrameRecorder | None) -> None:
        self._recorder = recorder
        self._active_version = -1

    def on_frame_end(self, hook: Callable[["World"], None]) -> None:
        """`hook(world)` after every frame (after the view phase)."""
        self._frame_end_hooks.append(hook)

    def on_step_end(self, hook: Callable[["World"], None]) -> None:
        """`hook(world)` after every simulation step (K times per frame at warp K)."""
        self._step_end_hooks.append(hook)

    @property
    def steps_per_frame(self) -> int:
        """Simulation steps per frame when `step()` is not told otherwise (the time warp)."""
        return self._steps_per_frame

    @steps_per_frame.setter
    def steps_per_frame(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"steps_per_frame must be a whole number >= 1, got {k!r}")
        self._steps_per_frame = k

    def _refresh_active(self) -> None:
        self._active = [s for s in self.schedule if s.enabled]
        sim = {s.name for s in self.schedule.in_phase(REPEATED_PHASE)}
        self._active_sim = [s for s in self._active if s.name in sim]
        self._active_view = [s for s in self._active if s.name not in sim]
        self._active = self._active_sim + self._active_view
        self._active_version = self.schedule.version
        if self._recorder is not None:
            self._stamps = self._recorder.begin_schedule([s.name for s in self._active], len(self._active_sim))

    # -- the frame -----------------------------------------------------------------------------
    def step(self, sim_steps: int | None = None, until: Callable[[], bool] | None = None) -> int:
        """One frame: the simulation phase `sim_steps` times (default `steps_per_frame`; fewer if
        `until()` turns true after a step), then the view phase once. Returns the steps run."""
        if self._active_version != self.schedule.version:
            self._refresh_active()
        k = self._steps_per_frame if sim_steps is None else int(sim_steps)
        dt = self.dt
        recorder = self._recorder
        sim, view, hooks = self._active_sim, self._active_view, self._step_end_hooks
        done = 0
        if self._audit is not None:
            for _ in range(k):
                for s in sim:
                    self._audit.begin(s.name)
                    try:
                        s.process(self, dt)
                    finally:
                        self._audit.end()
                done += 1
                self._end_step(hooks)
                if until is not None and until():
                    break
            for s in view:
                self._audit.begin(s.name)
                try:
                    s.process(self, dt)
                finally:
                    self._audit.end()
        elif recorder is None or not recorder.active:
            t0 = perf_counter_ns()
            for _ in range(k):
                for s in sim:
                    s.process(self, dt)
                done += 1
                self._end_step(hooks)
                if until is not None and until():
                    break
            self.last_simulation_ns = perf_counter_ns() - t0
            for s in view:
                s.process(self, dt)
        else:
            clock = perf_counter_ns
            record = self._stamps
            m = len(sim)
            for i in range(1, len(record) - 2):
                record[i] = 0
            record[0] = t = clock()
            for _ in range(k):
                i = 1
                for s in sim:
                    s.process(self, dt)
                    now = clock()
                    record[i] += now - t
                    t = now
                    i += 1
                done += 1
                self._end_step(hooks)
                if until is not None and until():
                    break
                t = clock()  # hooks and the stop test are nobody's time
            t = clock()
            self.last_simulation_ns = t - record[0]
            i = m + 1
            for s in view:
                s.process(self, dt)
                now = clock()
                record[i] = now - t
                t = now
                i += 1
            record[-2] = t
            record[-1] = done
            recorder.commit(record)
        for hook in self._frame_end_hooks:
            hook(self)
        self.frame += 1
        return done

    def _end_step(self, hooks: list[Callable[["World"], None]]) -> None:
        self.steps += 1
        for hook in hooks:
            hook(self)

    def run(self, frames: int, should_stop: Callable[[], bool] | None = None) -> int:
        """Step `frames` times (or until `should_stop()`); returns the frames run."""
        done = 0
        while done < frames:
            if should_stop is not None and should_stop():
                break
            self.step()
            done += 1
        return done

    def shutdown(self) -> None:
        """Tear systems down (last first) and delete the esper context."""
        if self._closed:
            return
        self._closed = True
        errors = []
        for s in reversed(list(self.schedule)):
            try:
                s.teardown(self)
            except Exception as exc:  # keep tearing the others down
                errors.append(exc)
        if esper.current_world == self.name:
            others = [w for w in esper.list_worlds() if w != self.name]
            esper.switch_world(others[0] if others else "default")
        if self.name in esper.list_worlds() and esper.current_world != self.name:
            esper.delete_world(self.name)
        if errors:
            raise errors[0]
