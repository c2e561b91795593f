"""TrainingSystem: the training agent's transition into replay, TD3 updates, and the statistics.

Runs after PhysicsSystem. Each frame it stores (s = prev_state, a = action, r = reward,
s' = next_state, terminated = goal or boundary, not timeout) of the training row only, runs
`training.train_steps_per_frame` TD3 updates once `td3.start_training_step` steps are done,
and keeps TrainingStats (it is that resource's only writer): counters all-time and for this
session, the training agent's current CALF decision, episode returns and successes, and the
certificate timeline of the current episode. Visual rows are never read here.

A transition with a NaN or inf in it, or one that ended as `Outcome.NONFINITE` (its reward was
zeroed by physics), is kept out of the replay buffer and counted (`rejected_transitions`); TD3
steps it skipped or networks it restored are counted too (components.faults).
"""
from __future__ import annotations

import numpy as np

from components.agent_table import AgentTable
from components.modes import Mode
from components.resources import Counters
from components.training_stats import TrainingStats
from config.schema import AppConfig
from ecs.system import System
from envs.base import Outcome
from rl.calf_state import CalfState
from rl.learning import install_control_state, install_learner
from rl.replay import ReplayBuffer
from rl.td3 import TD3


class TrainingSystem(System):
    phase = "simulation"
    after = ("PhysicsSystem",)
    reads = ("prev_state", "action", "reward", "next_state", "outcome", "episode_return", "episode_step",
             "has_cert", "q_cert", "CalfState", "Counters")
    writes = ("ReplayBuffer", "TD3", "Networks", "TrainingStats")

    def __init__(self) -> None:
        self._ended: tuple[int, float, int] | None = None  # (outcome, return, length) of this frame
        self._timeline_count = 0  # steps of the current episode offered to the timeline

    def setup(self, world) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        self.cfg = cfg
        install_control_state(world)
        install_learner(world)
        stats = world.resource(TrainingStats)
        stats.policy = cfg.training.policy
        stats.exploration_noise = 0.0 if cfg.training.policy == "nominal" else cfg.td3.exploration_noise
        stats.p_relax = world.resource(CalfState).p_relax
        self._world = world
        world.events.subscribe("episodes_ended", self._on_episodes_ended)

    def _on_episodes_ended(self, rows: np.ndarray, outcomes: np.ndarray, returns: np.ndarray,
                           lengths: np.ndarray) -> None:
        tr = self._world.resource(AgentTable).training_row
        hit = np.flatnonzero(rows == tr) if tr >= 0 else ()
        if len(hit):
            i = int(hit[0])
            self._ended = (int(outcomes[i]), float(returns[i]), int(lengths[i]))

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        tr = table.training_row
        if tr < 0:
            self._ended = None
            return
        cfg = self.cfg
        stats = world.resource(TrainingStats)
        decision = world.resource(CalfState).last
        replay = world.resource(ReplayBuffer)

        # -- this step -------------------------------------------------------------------------
        stats.total_steps += 1
        stats.session_steps += 1
        stats.filtered = decision.filtered
        if decision.filtered:
            stats.calf_steps += 1
            stats.session_calf_steps += 1
            if decision.mode == Mode.FALLBACK:
                stats.interventions += 1
                stats.session_interventions += 1
            elif decision.mode == Mode.RELAX:
                stats.relaxes += 1
                stats.session_relaxes += 1
        stats.mode = decision.mode
        stats.q, stats.q_cert, stats.delta = decision.q, decision.q_cert, decision.delta
        stats.kappa_low, stats.kappa_up, stats.state_norm = decision.kappa_low, decision.kappa_up, decision.state_norm
        stats.certified, stats.decrease_ok, stats.bounds_ok = decision.certified, decision.decrease_ok, decision.bounds_ok
        stats.has_cert = bool(table.has_cert[tr])
        if cfg.training.policy == "calf":
            stats.p_relax = world.resource(CalfState).p_relax
        self._timeline_append(stats, float(table.q_cert[tr]), decision.mode)

        outcome = int(table.outcome[tr])
        # a NONFINITE step's reward was zeroed by physics, not earned: it must not be learned from either
        if outcome == Outcome.NONFINITE or not replay.add(
                table.prev_state[tr], table.action[tr], float(table.reward[tr]), table.next_state[tr],
                outcome in (Outcome.GOAL, Outcome.BOUNDARY)):
            world.resource(Counters).add("rejected_transitions")
        stats.buffer_size = len(replay)

        # -- learning --------------------------------------------------------------------------
        # warm-up: the first start_training_step steps (nominal) only fill the buffer; updates
        # start with the first step the filter decides
        training = stats.total_steps > cfg.td3.start_training_step
        stats.phase = "TRAINING" if training else "EXPLORATION"
        if training:
            k = cfg.training.train_steps_per_frame
            if k and len(replay) >= cfg.td3.batch_size:
                td3 = world.resource(TD3)
                skipped, restores = td3.skipped_updates, td3.network_restores
                for _ in range(k):
                    td3.update(replay, cfg.td3.batch_size)
                counters = world.resource(Counters)
                counters.add("train_updates", k)
                if td3.skipped_updates != skipped or td3.network_restores != restores:
                    counters.add("skipped_updates", td3.skipped_updates - skipped)
                    counters.add("network_restores", td3.network_restores - restores)
                stats.train_updates += k
                stats.actor_updates = td3.actor_updates
                stats.critic_loss, stats.actor_loss = td3.critic_loss, td3.actor_loss

        # -- episode end -----------------------------------------------------------------------
        if self._ended is not None:
            out, ret, length = self._ended
            self._ended = None
            success = out == Outcome.GOAL
            stats.episodes += 1
            stats.session_episodes += 1
            stats.successes += success
            stats.session_successes += success
            stats.returns.append(ret)
            stats.lengths.append(length)
            stats.success_flags.append(bool(success))
            stats.last_outcome = out
            stats.has_cert = False
            stats.timeline_len = 0
            stats.timeline_stride = 1
            self._timeline_count = 0
        stats.episode_return = float(table.episode_return[tr])
        stats.episode_length = int(table.episode_step[tr])

    def _timeline_append(self, stats: TrainingStats, q_cert: float, mode: int) -> None:
        """Append one point; when full, keep every other point and double the stride (bounded)."""
        count = self._timeline_count
        self._timeline_count = count + 1
        if count % stats.timeline_stride:
            return
        cap = len(stats.timeline_q)
        if cap == 0:
            return
        if stats.timeline_len >= cap:
            half = cap // 2
            stats.timeline_q[:half] = stats.timeline_q[0:cap:2][:half]
            stats.timeline_mode[:half] = stats.timeline_mode[0:cap:2][:half]
            stats.timeline_len = half
            stats.timeline_stride *= 2
            if count % stats.timeline_stride:
                return
        stats.timeline_q[stats.timeline_len] = q_cert
        stats.timeline_mode[stats.timeline_len] = mode
        stats.timeline_len += 1
