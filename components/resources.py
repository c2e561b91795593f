"""World resources (singletons) shared by several systems: RNG streams, counters, population requests."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from attrs import define

#: independent random streams, so e.g. the relax coin never shifts the spawn sequence. The
#: training agent draws only from its own streams (explore, relax, train_spawn), so visual agents
#: (visual: their relax coins; spawn: their states) never change what the training agent sees.
#: New streams go at the end: SeedSequence children are positional, the old ones stay the same.
RNG_STREAMS = ("spawn", "explore", "relax", "replay", "misc", "visual", "train_spawn", "visual_explore")


class Rngs:
    """Named numpy Generators derived from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        children = np.random.SeedSequence(self.seed).spawn(len(RNG_STREAMS))
        self._gens = {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(RNG_STREAMS, children)}

    def __getattr__(self, name: str) -> np.random.Generator:
        gens = self.__dict__.get("_gens", {})
        if name in gens:
            return gens[name]
        raise AttributeError(f"no random stream {name!r} (have: {', '.join(RNG_STREAMS)})")

    def state(self) -> dict:
        return {name: g.bit_generator.state for name, g in self._gens.items()}

    def set_state(self, state: dict) -> None:
        for name, s in state.items():
            if name in self._gens:
                self._gens[name].bit_generator.state = s


class Counters:
    """Named running totals (e.g. `network_forward_calls`); the profiler reports them per frame."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = defaultdict(int)

    def add(self, name: str, amount: int = 1) -> None:
        self.totals[name] += amount

    def get(self, name: str) -> int:
        return self.totals.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        return dict(self.totals)


@define
class PopulationRequests:
    """Agent additions/removals asked for by keys, plugins or tests; applied at the frame's start."""

    add: int = 0
    remove: int = 0

    def request(self, delta: int) -> None:
        if delta > 0:
            self.add += int(delta)
        elif delta < 0:
            self.remove += int(-delta)


@define
class SimClock:
    """Simulated time of the visual world (frames x dt)."""

    dt: float
    time: float = 0.0
    frames: int = 0


class HudLines(dict):
    """Resource: extra HUD lines by name (name -> text); the StatsSystem shows them under its own.

    A plugin sets `world.resource(HudLines)["my_system"] = "..."` when its text changes. Values
    are kept as one line of text (a number or a multi-line string is made one), so whatever a
    plugin stores here, the HUD can always show it.
    """

    def __setitem__(self, key: object, value: object) -> None:
        text = str(value)
        super().__setitem__(str(key), " ".join(text.split()) if not text.isprintable() else text)


class ReportExtras(dict):
    """Resource: name -> callable returning a JSON-able dict, for plugins' own figures.

    The profile JSON and run_summary.json include `{"extensions": {name: callable(), ...}}`.
    """

    def collect(self) -> dict:
        return {name: fn() for name, fn in self.items()}
