"""PhysicsSystem: one RK4 step for every agent, termination, and respawn of finished agents.

Like a vector environment with same-step auto-reset: `next_state` keeps the state an episode
ended in (for the replay buffer), while `state` already holds the respawned agent's fresh state.
Systems that keep per-episode data (certificates, trails) reset it on `episodes_ended`.

A row whose action or new state is not finite (a diverging actor) ends its episode with
`Outcome.NONFINITE`, gets reward 0 so no return is poisoned, respawns, and is counted in the
`nonfinite_agents` counter; the frame loop never sees NaN states.

The training agent respawns from its own random stream (`train_spawn`), the other learners from
`spawn`, and the policy cohort at the next evaluation starts (components.cohort_starts), so how many
cohort agents there are never changes the learners' starts.
"""
from __future__ import annotations

import numpy as np

from components.agent_groups import Group
from components.agent_table import AgentTable, ColumnSpec
from components.cohort_starts import CohortStarts
from components.resources import Counters, Rngs
from ecs.system import System
from envs.base import Environment, Outcome


class PhysicsSystem(System):
    phase = "simulation"
    reads = ("state", "action", "episode_step", "episode_return", "group", "Environment", "Rngs", "Counters",
             "CohortStarts")
    writes = ("state", "prev_state", "next_state", "reward", "outcome", "episode_step", "episode_return")

    def setup(self, world) -> None:  # noqa: ANN001
        env = world.resource(Environment)
        d = env.state_dim
        world.resource(AgentTable).add_columns(
            [
                # NaN / inf in these is this system's to handle (the episode ends as NONFINITE, the
                # transition stays out of replay), not the finite check's (systems.finite_check)
                ColumnSpec("state", (d,), np.float64, 0.0, owner=self.name, doc="current state", nonfinite="owner"),
                ColumnSpec("prev_state", (d,), np.float64, 0.0, owner=self.name, doc="state before this step",
                           nonfinite="owner"),
                ColumnSpec("next_state", (d,), np.float64, 0.0, owner=self.name,
                           doc="state after this step (pre-respawn)", nonfinite="owner"),
                ColumnSpec("reward", (), np.float64, 0.0, owner=self.name, doc="scaled reward of this step",
                           nonfinite="owner"),
                ColumnSpec("outcome", (), np.int8, 0, owner=self.name, doc="envs.Outcome of this step"),
                ColumnSpec("episode_step", (), np.int64, 0, owner=self.name, doc="steps in the current episode"),
                ColumnSpec("episode_return", (), np.float64, 0.0, owner=self.name, doc="scaled return so far"),
            ]
        )

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        if table.n == 0:
            return
        env = world.resource(Environment)
        s = table.state
        a = table.action
        s_next = table.next_state
        table.prev_state[:] = s
        env.rk4_step(s, a, dt, out=s_next)
        reward = table.reward
        reward[:] = env.reward(s, a)
        reward *= env.cfg.reward_scale
        bad = None
        if not (np.isfinite(s_next.sum()) and np.isfinite(reward.sum())):  # one cheap test on the fast path
            bad = ~(np.isfinite(s_next).all(axis=1) & np.isfinite(reward))
            reward[bad] = 0.0
            world.resource(Counters).add("nonfinite_agents", int(bad.sum()))
        table.episode_return += reward
        table.episode_step += 1
        outcome = env.outcomes(s_next, table.episode_step)
        if bad is not None:
            outcome[bad] = Outcome.NONFINITE
        table.outcome[:] = outcome
        s[:] = s_next
        done = np.flatnonzero(outcome)
        if done.size:
            world.events.emit(
                "episodes_ended", done, outcome[done], table.episode_return[done].copy(), table.episode_step[done].copy()
            )
            rngs = world.resource(Rngs)
            tr = table.training_row
            learners = done
            cohort = table.group[done] == Group.COHORT
            if cohort.any():
                s[done[cohort]] = world.resource(CohortStarts).take(int(cohort.sum()))
                learners = done[~cohort]
            s[learners] = env.sample_states(rngs.spawn, learners.size)
            if tr >= 0 and outcome[tr]:
                # the training agent's fresh start comes from its own stream, so how many visual
                # agents finished this step never changes the training run
                s[tr] = env.sample_states(rngs.train_spawn, 1)[0]
            table.episode_step[done] = 0
            table.episode_return[done] = 0.0
