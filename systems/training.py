"""TrainingSystem: the learners' transitions into replay, TD3 updates, and the statistics.

Runs after PhysicsSystem. Each frame it stores (s = prev_state, a = action, r = reward,
s' = next_state, terminated) of the learners: the training row alone with `training.collect =
"training"`, every row with `"all"` (one batched write: N agents, N transitions per frame). Once
`td3.start_training_step` steps are done it grants every step `training.train_steps_per_frame` TD3
updates to the `Learner` (rl.background_learner: run there and then, inline, or by a worker thread
beside the frame, `training.learner`), brings the weights a background learner published into the
acting networks (between steps, never mid-step), and keeps TrainingStats (it is that resource's only writer): the training agent's counters all-time
and for this session, its current CALF decision, episode returns and successes and the
certificate timeline of the current episode, and the same counts over all agents (`all_*`).

What ends an episode for the critic: reaching the goal is terminal (nothing follows). A timeout
is not (the system would go on). Leaving the boundary is, by default (`training.boundary_exit =
"bootstrap"`), not terminal either: the target bootstraps from the critic at the exit state, so an
exit costs what continuing from out there would cost and is never cheaper than staying;
`"terminal"` is the old treatment (no cost after the exit).

A transition with a NaN or inf in it, or one that ended as `Outcome.NONFINITE` (its reward was
zeroed by physics), is kept out of the replay buffer and counted (`rejected_transitions`); TD3
steps it skipped or networks it restored are counted too (components.faults).
"""
from __future__ import annotations

import numpy as np

from components.agent_groups import Group
from components.agent_table import AgentTable
from components.halving_trace import append_halving
from components.modes import Mode
from components.resources import Counters
from components.training_stats import TrainingStats
from config.schema import AppConfig
from ecs.system import System
from envs.base import Outcome, critic_terminals
from rl.background_learner import Learner
from rl.calf_state import CalfState
from rl.learning import install_control_state, install_learner
from rl.replay import ReplayBuffer
from systems.profiler import RunMeta


class TrainingSystem(System):
    phase = "simulation"
    after = ("PhysicsSystem",)
    reads = ("prev_state", "action", "reward", "next_state", "outcome", "episode_return", "episode_step",
             "has_cert", "q_cert", "mode", "group", "CalfState", "Counters", "RunMeta")
    writes = ("ReplayBuffer", "TD3", "Networks", "TrainingStats", "Learner")

    def __init__(self) -> None:
        self._ended: tuple[int, float, int] | None = None  # (outcome, return, length) of this frame
        self._ended_by_group = np.zeros((len(Group), len(Outcome)), dtype=np.int64)  # this frame's episode ends
        self._timeline_count = 0  # steps of the current episode offered to the timeline
        self._learners = 1  # agents whose transitions the last step stored

    def setup(self, world) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        self.cfg = cfg
        install_control_state(world)
        meta = world.try_resource(RunMeta) or {}
        install_learner(world, meta.get("mode", "headless"))
        self.learner = world.resource(Learner)
        stats = world.resource(TrainingStats)
        stats.learner = self.learner.mode
        stats.policy = cfg.training.policy
        stats.exploration_noise = 0.0 if cfg.training.policy == "nominal" else cfg.td3.exploration_noise
        stats.p_relax = world.resource(CalfState).p_relax
        stats.collect = cfg.training.collect
        self.collect_all = cfg.training.collect == "all"
        self.terminal_outcomes = critic_terminals(cfg.training.boundary_exit)
        self._world = world
        world.events.subscribe("episodes_ended", self._on_episodes_ended)

    def teardown(self, world) -> None:  # noqa: ANN001
        learner = getattr(self, "learner", None)
        if learner is not None:
            learner.stop()

    def _on_episodes_ended(self, rows: np.ndarray, outcomes: np.ndarray, returns: np.ndarray,
                           lengths: np.ndarray) -> None:
        table = self._world.resource(AgentTable)
        tr = table.training_row
        k = len(Outcome)
        self._ended_by_group += np.bincount(table.group[rows].astype(np.int64) * k + outcomes,
                                            minlength=len(Group) * k).reshape(len(Group), k)
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
        stats.q, stats.q_cert, stats.delta, stats.required = decision.q, decision.q_cert, decision.delta, \
            decision.required
        stats.kappa_low, stats.kappa_up, stats.state_norm = decision.kappa_low, decision.kappa_up, decision.state_norm
        stats.certified, stats.decrease_ok, stats.bounds_ok = decision.certified, decision.decrease_ok, decision.bounds_ok
        stats.has_cert = bool(table.has_cert[tr])
        if cfg.training.policy == "calf":
            stats.p_relax = world.resource(CalfState).p_relax
        self._timeline_append(stats, float(table.q_cert[tr]), decision.mode)

        self._count_all_agents(stats, table, decision.filtered)
        self._store(world, table, tr, replay)
        stats.buffer_size = len(replay)

        # -- learning --------------------------------------------------------------------------
        # warm-up: the first start_training_step steps (nominal) only fill the buffer; updates
        # start with the first step the filter decides
        training = stats.total_steps > cfg.td3.start_training_step
        stats.phase = "TRAINING" if training else "EXPLORATION"
        learner = self.learner
        learner.sync()  # a background learner's newest weights: they act from the next step on
        if training:
            k = cfg.training.train_steps_per_frame
            batch = cfg.td3.batch_for(self._learners)
            if k and len(replay) >= batch:
                learner.step(k, batch)
        learner.report(stats, world.resource(Counters))

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

    def _store(self, world, table: AgentTable, tr: int, replay: ReplayBuffer) -> None:  # noqa: ANN001
        """The learners' transitions into replay: the training row, or every row (one batched write).

        A NONFINITE step's reward was zeroed by physics, not earned: it is never learned from."""
        if self.collect_all:
            outcome = table.outcome
            keep = (outcome != Outcome.NONFINITE) & (table.group == Group.LEARNER)  # the cohort never learns
            n = int(np.count_nonzero(table.group == Group.LEARNER))
            terminated = np.isin(outcome, self.terminal_outcomes)
            if keep.all():
                dropped = replay.add_batch(table.prev_state, table.action, table.reward, table.next_state, terminated)
            else:
                dropped = replay.add_batch(table.prev_state[keep], table.action[keep], table.reward[keep],
                                           table.next_state[keep], terminated[keep])
            self._learners = n
            refused = dropped + (n - int(np.count_nonzero(keep)))
            world.resource(TrainingStats).collected += n - refused
        else:
            outcome = int(table.outcome[tr])
            refused = outcome == Outcome.NONFINITE or not replay.add(
                table.prev_state[tr], table.action[tr], float(table.reward[tr]), table.next_state[tr],
                outcome in self.terminal_outcomes)
            if not refused:
                world.resource(TrainingStats).collected += 1
        if refused:
            world.resource(Counters).add("rejected_transitions", int(refused))

    def _count_all_agents(self, stats: TrainingStats, table: AgentTable, filtered: bool) -> None:
        """Every agent's decisions this frame and the episodes that ended, by group (`stats.learners`,
        `stats.cohort`).

        `filtered`: the filter decided the training row's step (not in warm-up, not `nominal`); in
        warm-up the learners acting nominal (all of them with collect = all) are not decided."""
        groups = (stats.learners, stats.cohort)
        per_group = np.bincount(table.group, minlength=len(Group))
        for g, counts in zip(Group, groups):
            counts.steps += int(per_group[g])
        if self.cfg.training.policy != "nominal":
            k = len(Mode)
            by = np.bincount(table.group.astype(np.int64) * k + table.mode, minlength=len(Group) * k).reshape(-1, k)
            if not filtered:  # warm-up: the learners acted nominal, undecided
                if self.collect_all:
                    by[Group.LEARNER] = 0
                else:
                    by[Group.LEARNER, table.mode[table.training_row]] -= 1
            for g, counts in zip(Group, groups):
                counts.decided += int(by[g].sum())
                counts.interventions += int(by[g, Mode.FALLBACK])
                counts.relaxes += int(by[g, Mode.RELAX])
        ended = self._ended_by_group
        if ended.any():
            for g, counts in zip(Group, groups):
                e = ended[g]
                counts.add_episodes(int(e[Outcome.GOAL]), int(e[Outcome.TIMEOUT]), int(e[Outcome.BOUNDARY]),
                                    int(e[Outcome.NONFINITE]))
            ended[:] = 0

    def _timeline_append(self, stats: TrainingStats, q_cert: float, mode: int) -> None:
        """Append one point; when full, keep every other point and double the stride (bounded)."""
        count = self._timeline_count
        self._timeline_count = count + 1
        stats.timeline_len, stats.timeline_stride, _ = append_halving(
            stats.timeline_q, stats.timeline_mode, stats.timeline_len, stats.timeline_stride, count, q_cert, mode)
