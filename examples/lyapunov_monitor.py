"""LyapunovMonitor: does -Q really behave like a Lyapunov function along each agent's path?

CALF uses the critic as a Lyapunov candidate V(s) = -Q(s, a). For every agent this system
tracks, over the current episode, how often V decreased from one step to the next, the mean
change of V, and on how many steps the CALF certificate held (mode CERTIFIED). Finished
episodes are folded into run-wide totals, which appear as a HUD line and under
`extensions.LyapunovMonitor` in the profile JSON and run_summary.json.

Run it without editing the project:

    python app.py --headless --episodes 20 --plugin examples.lyapunov_monitor:LyapunovMonitor:after=ControlSystem

It must run after ControlSystem (which writes `q` and `mode` for the step about to be taken).
"""
from __future__ import annotations

import numpy as np

from components.agent_table import AgentTable, ColumnSpec
from components.modes import Mode
from components.resources import HudLines, ReportExtras
from ecs.system import System

COLUMNS = [
    ("lyap_prev_v", np.float64, 0.0, "V = -Q at the previous step"),
    ("lyap_has_prev", np.bool_, False, "whether lyap_prev_v is set in this episode"),
    ("lyap_steps", np.int64, 0, "steps monitored in this episode"),
    ("lyap_decreases", np.int64, 0, "steps where V fell from the previous step"),
    ("lyap_sum_dv", np.float64, 0.0, "sum of V(t) - V(t-1) in this episode"),
    ("lyap_certified", np.int64, 0, "steps where the certificate held (mode CERTIFIED)"),
]


class LyapunovMonitor(System):
    after = ("ControlSystem",)
    reads = ("q", "mode", "HudLines", "ReportExtras")
    writes = tuple(name for name, *_ in COLUMNS)

    def __init__(self, hud_every: int = 30) -> None:
        if isinstance(hud_every, bool) or not isinstance(hud_every, int) or hud_every < 1:
            raise ValueError(f"hud_every must be a whole number of frames >= 1, got {hud_every!r}")
        self.hud_every = hud_every
        self._frames = 0
        # run-wide totals over finished episodes (all agents)
        self.episodes = 0
        self.steps = 0
        self.transitions = 0  # steps that had a previous step to compare with
        self.decreases = 0
        self.sum_dv = 0.0
        self.certified = 0

    def setup(self, world) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        for needed in ("q", "mode"):
            if not table.has_column(needed):
                raise ValueError(f"{self.name} needs the {needed!r} column (the CALF ControlSystem writes it)")
        table.add_columns(ColumnSpec(n, (), dt, fill, owner=self.name, doc=doc) for n, dt, fill, doc in COLUMNS)
        self._table = table
        world.events.subscribe("episodes_ended", self._on_episodes_ended)
        world.resource(ReportExtras)[self.name] = self.summary
        self._hud = world.resource(HudLines)

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        t = world.resource(AgentTable)
        if t.n == 0:
            return
        v = -t.q
        valid = np.isfinite(v)
        compare = t.lyap_has_prev & valid
        dv = np.where(compare, v - t.lyap_prev_v, 0.0)
        t.lyap_decreases += compare & (dv < 0.0)
        t.lyap_sum_dv += dv
        t.lyap_steps += 1
        t.lyap_certified += t.mode == Mode.CERTIFIED
        t.lyap_prev_v[valid] = v[valid]
        t.lyap_has_prev |= valid
        self._frames += 1
        if self._frames % self.hud_every == 0:
            self._hud[self.name] = self.hud_line()

    def _on_episodes_ended(self, rows: np.ndarray, *_: object) -> None:
        t = self._table
        steps = t.lyap_steps[rows]
        self.episodes += len(rows)
        self.steps += int(steps.sum())
        # an episode of k monitored steps has k - 1 step-to-step comparisons (when q stayed finite)
        self.transitions += int(np.maximum(steps - 1, 0).sum())
        self.decreases += int(t.lyap_decreases[rows].sum())
        self.sum_dv += float(t.lyap_sum_dv[rows].sum())
        self.certified += int(t.lyap_certified[rows].sum())
        for name, _dt, fill, _doc in COLUMNS:
            t.column(name)[rows] = fill

    def summary(self) -> dict:
        return {
            "episodes": self.episodes,
            "steps": self.steps,
            "decrease_fraction": self.decreases / self.transitions if self.transitions else 0.0,
            "mean_dv": self.sum_dv / self.transitions if self.transitions else 0.0,
            "certified_fraction": self.certified / self.steps if self.steps else 0.0,
        }

    def hud_line(self) -> str:
        s = self.summary()
        return (f"Lyapunov monitor: -Q fell on {100 * s['decrease_fraction']:.0f}% of steps, "
                f"certificate held {100 * s['certified_fraction']:.0f}% ({s['episodes']} episodes)")
