"""ImaginedTransitionSystem: the learners' rejected proposals, stepped through the model into replay.

In the schedule only with `calf.rejected_proposals = "imagine"` and the CALF filter acting. After
TrainingSystem has stored what was executed this step, each learner whose proposal the filter
rejected (it fell back, so the nominal action was executed) gets a second transition: the same
state, the proposal, and the one step the environment's dynamics give for it (rl.imagined).
Nothing imagined is executed. A proposal that is not finite (a diverging actor, already counted
as `nonfinite_actions`) is not imagined; the count is `imagined_transitions`.
"""
from __future__ import annotations

import numpy as np

from components.agent_groups import Group
from components.agent_table import AgentTable
from components.modes import Mode
from components.resources import Counters
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment, Outcome, critic_terminals
from rl.imagined import imagined_transitions
from rl.replay import ReplayBuffer


class ImaginedTransitionSystem(System):
    phase = "simulation"
    after = ("TrainingSystem",)
    reads = ("prev_state", "proposal", "mode", "outcome", "group", "Environment", "Counters")
    writes = ("ReplayBuffer",)

    def setup(self, world) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        self.collect_all = cfg.training.collect == "all"
        self.terminal_outcomes = critic_terminals(cfg.training.boundary_exit)

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        tr = table.training_row
        if table.n == 0 or tr < 0:  # no learner, nothing stored this step
            return
        rejected = (table.mode == Mode.FALLBACK) & (table.outcome != Outcome.NONFINITE)
        if self.collect_all:
            rejected &= table.group == Group.LEARNER
        else:
            rejected &= np.arange(table.n) == tr
        rows = np.flatnonzero(rejected)
        if rows.size == 0:
            return
        a = table.proposal[rows]
        finite = np.isfinite(a).all(axis=1)
        if not finite.all():
            rows, a = rows[finite], a[finite]
        s = table.prev_state[rows]
        s2, r, terminated = imagined_transitions(world.resource(Environment), s, a, dt, self.terminal_outcomes)
        dropped = world.resource(ReplayBuffer).add_batch(s, a, r, s2, terminated)
        counters = world.resource(Counters)
        counters.add("imagined_transitions", int(rows.size - dropped))
        if dropped:
            counters.add("rejected_transitions", int(dropped))
