"""ControlSystem: the CALF filter, batched over every agent (training row and visual rows).

Per frame: one actor forward and one critic forward for all agents, then the certificate test,
the relax coin and the nominal fallback as whole-array operations (rl.calf). Every agent keeps
its own certified triple (`s_cert`, `a_cert`, `q_cert`, `has_cert` columns), cleared when its
episode ends. The training row draws from the training streams (explore, relax); P_relax
advances once per frame. With `training.collect = "training"` only the training row gets
exploration noise (visual rows show the noiseless policy); with `"all"` every learner has its own
noise (stream `visual_explore`) and relax coin (stream `visual`).

Exploration (`td3.explore = "actor"`): the noise goes on the actor's proposal, before the
certificate, so what a learner executes is always the filter's output, and a fallback executes
the nominal action exactly as the nominal policy computes it. Each learner's std (`explore_std`)
is drawn from `td3.exploration_range` at the start of each of its episodes, in action units or
as a fraction of each action bound (`td3.exploration_unit`). With `calf.noiseless_retry` a
learner whose noisy proposal fails is tested again with its noiseless action before falling
back. `td3.explore = "executed"` also puts the noise on fallback actions: exploration outside
the filter, an explicit opt-in.

The policy cohort (components.agent_groups) never explores and never relaxes: it is the filter
exactly as evaluated, warm-up included.

`training.policy` chooses who acts: `calf` (the filter), `actor` (the bare actor: uncertified
steps are RELAX, P_relax is not used) or `nominal` (the nominal policy alone, no network calls).
For the first `td3.start_training_step` steps the learners act with the nominal policy (the
training agent, or every agent with `collect = "all"`).

A row whose actor action or Q is NaN or inf (a diverging network) is counted in
`nonfinite_actions`; with the CALF filter it falls back to the nominal policy (a NaN Q is never
certified), with the bare actor it acts and PhysicsSystem respawns it.
"""
from __future__ import annotations

import math

import numpy as np

from components.agent_groups import Group
from components.agent_table import AgentTable, ColumnSpec
from components.modes import Mode
from components.resources import Counters, Rngs
from components.training_stats import TrainingStats
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment
from rl.calf import (
    CalfParams,
    advance_dwell,
    held_rows,
    certificate_test,
    choose_modes,
    filtered_actions,
    reset_certificates,
    retry_noiseless,
    unusable_rows,
    update_certificates,
)
from rl.calf_state import CalfState
from rl.learning import install_control_state, install_networks
from rl.reach_check import (REACH_CLEAR, REACH_HANDED_OVER, REACH_UNCHECKED, FilterLookAhead, hand_over,
                            look_ahead_drivers)
from rl.networks import Networks


class ControlSystem(System):
    phase = "simulation"
    reads = ("state", "group", "s_cert", "a_cert", "q_cert", "has_cert", "fallback_hold", "reach_state", "reach_phase",
             "explore_std",
             "explore_z", "episode_step", "Networks",
             "CalfState", "TrainingStats", "Environment", "Rngs", "Counters")
    writes = ("action", "mode", "proposal", "q", "s_cert", "a_cert", "q_cert", "has_cert", "fallback_hold", "reach_state",
              "reach_phase",
              "explore_std", "explore_z", "CalfState")

    def setup(self, world) -> None:  # noqa: ANN001
        env = world.resource(Environment)
        table = world.resource(AgentTable)
        sd, ad = env.state_dim, env.action_dim
        table.add_columns(
            [
                ColumnSpec("action", (ad,), np.float64, 0.0, owner=self.name, doc="action applied this step"),
                ColumnSpec("mode", (), np.int8, int(Mode.FALLBACK), owner=self.name, doc="components.Mode of this step"),
                ColumnSpec("proposal", (ad,), np.float64, 0.0, owner=self.name,
                           doc="the actor's proposal the filter decided on this step (the learner's noisy one, or its "
                               "noiseless action where the noiseless retry certified that)",
                           nonfinite="owner"),  # a diverging actor's NaN: counted as nonfinite_actions, never imagined
                ColumnSpec("q", (), np.float64, np.nan, owner=self.name,
                           doc="critic value of the actor's action used by the certificate this step"),
                ColumnSpec("q_cert", (), np.float64, np.nan, owner=self.name, doc="certified critic value (NaN: none)"),
                ColumnSpec("s_cert", (sd,), np.float64, 0.0, owner=self.name, doc="certified state"),
                ColumnSpec("a_cert", (ad,), np.float64, 0.0, owner=self.name, doc="certified action"),
                ColumnSpec("has_cert", (), np.bool_, False, owner=self.name, doc="the row holds a certified triple"),
                ColumnSpec("fallback_hold", (), np.int32, 0, owner=self.name,
                           doc="steps the nominal policy keeps control after a fallback (calf.fallback_dwell)"),
                ColumnSpec("reach_state", (), np.int8, REACH_UNCHECKED, owner=self.name,
                           doc="calf.nominal_reach_check: 0 not checked yet this episode (the nominal policy acts), "
                               "1 the nominal policy can still finish in time, 2 handed to it to the episode's end"),
                ColumnSpec("reach_phase", (), np.int16, 0, owner=self.name,
                           doc="the step of each reach-check period on which this agent is checked "
                               "(calf.nominal_reach_rows spreads large populations over the period)"),
                ColumnSpec("explore_std", (), np.float64, 0.0, owner=self.name,
                           doc="this episode's exploration std (td3.exploration_unit; 0: no exploration)"),
                ColumnSpec("explore_z", (ad,), np.float64, 0.0, owner=self.name,
                           doc="the exploration noise's standard-normal state (td3.noise_correlation > 0)"),
            ]
        )
        cfg = world.resource(AppConfig)
        self.cfg = cfg
        self.params = CalfParams.from_config(cfg.calf, cfg.env.dt)
        self.policy = cfg.training.policy
        self.collect_all = cfg.training.collect == "all"
        self.explore_executed = cfg.td3.explore == "executed"
        self.retry = cfg.calf.noiseless_retry and self.policy == "calf"
        self.episode_decay = cfg.calf.relax_episode_decay
        self.noise_range = cfg.td3.exploration_range
        tau = cfg.td3.noise_correlation
        self.noise_rho = math.exp(-cfg.env.dt / tau) if tau > 0 else 0.0  # AR(1) coefficient per step
        bound = np.asarray(env.action_high, dtype=np.float64).reshape(ad)
        self.noise_unit = bound if cfg.td3.exploration_unit == "bound" else np.ones(ad)
        install_networks(world)
        install_control_state(world)
        world.events.subscribe("episodes_ended", self._on_episodes_ended)
        world.events.subscribe("agents_spawned", self._on_agents_spawned)
        self._world = world
        self._reach_frames = 0  # frames since setup: the reach check runs on every calf.nominal_reach_check-th
        if table.n:  # agents spawned before this system joined
            self._draw_std(table, np.arange(table.n))
            self._assign_reach_phase(table, np.arange(table.n))

    # -- per-agent exploration ---------------------------------------------------------------------
    def _explorers(self, table: AgentTable, rows: np.ndarray) -> np.ndarray:
        """Which of `rows` explore: the training agent, and with collect = all every learner."""
        if self.policy == "nominal":
            return np.zeros(len(rows), dtype=bool)
        if self.collect_all:
            return table.group[rows] == Group.LEARNER
        return rows == table.training_row

    def _draw_std(self, table: AgentTable, rows: np.ndarray) -> None:
        """A fresh exploration std for each learner of `rows` (0 for the others): the training
        agent's from its own stream, the others' from `visual_explore`."""
        lo, hi = self.noise_range
        explore = self._explorers(table, rows)
        std = np.where(explore, hi, 0.0)
        if lo != hi and explore.any():
            rngs = self._world.resource(Rngs)
            tr = table.training_row
            others = explore & (rows != tr)
            if others.any():
                std[others] = rngs.visual_explore.uniform(lo, hi, int(others.sum()))
            train = explore & (rows == tr)
            if train.any():
                std[train] = rngs.explore.uniform(lo, hi)
        table.explore_std[rows] = std

    def _on_agents_spawned(self, rows: np.ndarray, *_: object) -> None:
        table = self._world.resource(AgentTable)
        self._draw_std(table, rows)
        self._assign_reach_phase(table, rows)

    def _assign_reach_phase(self, table: AgentTable, rows: np.ndarray) -> None:
        """calf.nominal_reach_rows: a population larger than that is checked in groups of about that
        size on evenly spaced steps of the period (one look-ahead per group, not one frame holding
        them all); new agents fill the smallest groups first. The phase is a column, so it moves with
        its agent when rows are compacted, and every agent is still checked once per period."""
        period, per = self.params.reach_check_steps, self.cfg.calf.nominal_reach_rows
        if period <= 1 or per <= 0 or len(rows) == 0:
            return
        groups = min(period, -(-table.n // per))
        if groups <= 1:
            table.reach_phase[rows] = 0
            return
        phases = (np.arange(groups) * period) // groups
        others = np.ones(table.n, dtype=bool)
        others[rows] = False
        have = np.bincount(table.reach_phase[: table.n][others], minlength=period)[phases]
        want = -(-(int(have.sum()) + len(rows)) // groups)  # each group's size once these join
        # water-filling: the free places of every group up to `want`, lowest level first
        free = np.maximum(want - have, 0)
        group_of = np.repeat(np.arange(groups), free)
        level = np.concatenate([np.arange(h, h + f) for h, f in zip(have, free)])
        table.reach_phase[rows] = phases[group_of[np.argsort(level, kind="stable")[: len(rows)]]]

    def _on_episodes_ended(self, rows: np.ndarray, *_: object) -> None:
        table = self._world.resource(AgentTable)
        reset_certificates(rows, table.s_cert, table.a_cert, table.q_cert, table.has_cert, table.fallback_hold)
        if self.noise_range[0] != self.noise_range[1]:
            self._draw_std(table, rows)

    # -- the frame -------------------------------------------------------------------------------------
    def process(self, world, dt: float) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        n = table.n
        if n == 0:
            return
        env = world.resource(Environment)
        calf = world.resource(CalfState)
        rngs = world.resource(Rngs)
        cfg = self.cfg
        tr = table.training_row
        s = table.state
        a_nominal = env.nominal(s)
        # random draws happen every frame whatever is decided, so the streams stay in step
        z_train = rngs.explore.standard_normal(env.action_dim) if tr >= 0 else None
        train_coin = rngs.relax.random() if tr >= 0 else 1.0
        warmup = tr >= 0 and world.resource(TrainingStats).total_steps < cfg.td3.start_training_step

        if self.policy == "nominal":
            table.action[:] = a_nominal
            table.mode[:] = Mode.FALLBACK
            table.q[:] = np.nan
            if tr >= 0:
                self._record(calf, filtered=False, mode=int(Mode.FALLBACK), norm=float(env.state_norm(s[tr:tr + 1])[0]))
            return

        nets = world.resource(Networks)
        counters = world.resource(Counters)
        z = None
        if self.collect_all:  # every learner explores, each with its own noise (the training row's from its own stream)
            z = rngs.visual_explore.standard_normal((n, env.action_dim))
            if tr >= 0:
                z[tr] = z_train
        noise = self._noise(table, tr, z_train, z)
        a_clean, a_actor, q = self._actor_and_value(nets, counters, s, tr, noise, env)

        norms = env.state_norm(s)
        test = certificate_test(q, table.q_cert, table.has_cert, norms, self.params)
        if self.retry:
            self._retry(nets, counters, table, test, q, a_actor, a_clean, norms)
        cohort = table.group == Group.COHORT
        any_cohort = bool(cohort.any())
        if self.policy == "calf":
            p_relax = calf.schedule.per_agent(calf.p_relax, norms)
            if self.episode_decay < 1.0:
                p_relax = p_relax * np.power(self.episode_decay, table.episode_step)
        else:  # the bare actor acts on every step: uncertified steps are relax steps
            p_relax = 1.0
        coin = rngs.visual.random(n)
        if tr >= 0:
            coin[tr] = train_coin
        if any_cohort:  # the cohort never relaxes under the filter; the bare actor always acts
            coin[cohort] = 1.0 if self.policy == "calf" else 0.0
        unusable = unusable_rows(a_actor, q)
        if unusable is not None:
            counters.add("nonfinite_actions", int(unusable.sum()))
            if self.policy != "calf":
                unusable = None  # the bare actor acts whatever it outputs
        deadline = self.params.deadline_steps if self.policy == "calf" else 0
        dwell = self.policy == "calf" and self.params.dwell_steps > 0
        reach = self.policy == "calf" and self.params.reach_check_steps > 0
        held = held_rows(table.fallback_hold, table.episode_step, deadline) if dwell or deadline else None
        if reach:
            self._check_reach(table, env, counters, nets)
            unclear = table.reach_state != REACH_CLEAR
            held = unclear if held is None else held | unclear
        modes = choose_modes(test.certified, coin, p_relax, unusable, held)
        decided = None
        if warmup:
            # warm-up: the nominal acts for the learners, the filter does not decide (no certificate);
            # the cohort shows the policy as it is
            decided = np.ones(n, dtype=bool)
            learners = ~cohort if self.collect_all else (np.arange(n) == tr)
            modes[learners] = Mode.FALLBACK
            decided[learners] = False
        if dwell:
            advance_dwell(modes, table.fallback_hold, self.params.dwell_steps, decided)
        filtered_actions(modes, a_actor, a_nominal, out=table.action)
        table.proposal[:] = a_actor
        if self.explore_executed and noise is not None:
            self._explore_fallback(table, modes, noise, env)
        table.mode[:] = modes
        table.q[:] = q
        if tr >= 0:
            q_cert_before = float(table.q_cert[tr])
        update_certificates(modes, s, a_actor, q, table.s_cert, table.a_cert, table.q_cert, table.has_cert,
                            self.params.relax_updates_certificate)
        if tr >= 0:
            p_tr = p_relax if np.isscalar(p_relax) else p_relax[tr]
            self._record(calf, filtered=not warmup, mode=int(modes[tr]), q=float(q[tr]), q_cert=q_cert_before,
                         kappa_low=float(test.kappa_low[tr]), kappa_up=float(test.kappa_up[tr]),
                         norm=float(norms[tr]), certified=bool(test.certified[tr]),
                         decrease_ok=bool(test.decrease_ok[tr]), bounds_ok=bool(test.bounds_ok[tr]),
                         p_relax=float(p_tr), required=float(np.broadcast_to(test.required, (n,))[tr]))
            if self.policy == "calf" and not warmup:
                calf.advance()  # once per frame, however many agents decided

    def _check_reach(self, table: AgentTable, env: Environment, counters: Counters, nets: Networks) -> None:
        """calf.nominal_reach_check: every period, all agents of a phase together (so the look-ahead is
        simulated once per period and group, not every frame; one group unless the population exceeds
        calf.nominal_reach_rows), each agent not yet handed over is tested (rl.reach_check):
        it is clear for the next period if, after the actor drove it for that period, the nominal
        policy could still finish in time; otherwise the nominal policy keeps it to the end of its
        episode. An episode starts unchecked, under the nominal policy, until the next check."""
        # a new episode starts unchecked (reset here, not when the last one ended, so that after the
        # frame the column still says what each agent's last step acted under)
        table.reach_state[table.episode_step == 0] = REACH_UNCHECKED
        period = self.params.reach_check_steps
        phase = self._reach_frames % period
        self._reach_frames += 1
        rows = np.flatnonzero((table.reach_phase == phase) & (table.reach_state != REACH_HANDED_OVER))
        if self.params.deadline_steps > 0:
            rows = rows[table.episode_step[rows] < self.params.deadline_steps]
        if rows.size == 0:
            return
        steps_left = self.cfg.env.max_steps_per_episode - table.episode_step[rows]
        drive = look_ahead_drivers(self.params.reach_lookahead, nets, lambda: FilterLookAhead(
            nets, self.params, table.q_cert[rows], table.has_cert[rows], table.fallback_hold[rows],
            table.episode_step[rows], env.state_norm, env.nominal))
        late = hand_over(env, table.state[rows], steps_left, period, self.params.reach_margin_steps, drive)
        table.reach_state[rows] = np.where(late, REACH_HANDED_OVER, REACH_CLEAR)
        counters.add("reach_handovers", int(np.count_nonzero(late)))

    def _noise(self, table: AgentTable, tr: int, z_train: np.ndarray | None,
               z: np.ndarray | None) -> np.ndarray | None:
        """This frame's exploration noise per row: standard normals times the row's std and unit
        (None when nobody explores: no training agent and collect = training)."""
        unit = self.noise_unit
        if z is not None:
            return self._correlate(table, slice(None), z) * (table.explore_std[:, None] * unit)
        if tr < 0:
            return None
        z_tr = self._correlate(table, slice(tr, tr + 1), z_train[None, :])[0]
        return z_tr * (table.explore_std[tr] * unit)  # the training row's alone (collect = training)

    def _correlate(self, table: AgentTable, rows: slice, z: np.ndarray) -> np.ndarray:
        """td3.noise_correlation > 0: each row's noise follows an AR(1) (Ornstein-Uhlenbeck) process
        with unit variance, z_t = rho z_(t-1) + sqrt(1 - rho^2) e_t, started afresh at each episode's
        first step; 0: white noise, `z` itself."""
        rho = self.noise_rho
        if rho == 0.0:
            return z
        state = table.explore_z[rows]
        fresh = table.episode_step[rows] == 0
        state *= rho
        state += math.sqrt(1.0 - rho * rho) * z
        state[fresh] = z[fresh]
        return state

    def _retry(self, nets: Networks, counters: Counters, table: AgentTable, test, q: np.ndarray,  # noqa: ANN001
               a_actor: np.ndarray, a_clean: np.ndarray, norms: np.ndarray) -> None:
        """calf.noiseless_retry: learners whose noisy proposal failed are tested with their noiseless action
        (not those inside a fallback dwell, handed over by the reach check or past calf.nominal_after:
        the nominal policy acts there whatever the test says)."""
        free = table.fallback_hold == 0
        if self.params.reach_check_steps > 0:
            free &= table.reach_state == REACH_CLEAR
        if self.params.deadline_steps > 0:
            free &= table.episode_step < self.params.deadline_steps
        rows = np.flatnonzero(~test.certified & (table.explore_std > 0) & free)
        if rows.size == 0:
            return
        s = table.state
        q_clean = nets.certificate_q(s[rows], a_clean[rows], self.params.certified_value)
        counters.add("network_forward_calls", 1)
        clean = certificate_test(q_clean, table.q_cert[rows], table.has_cert[rows], norms[rows], self.params)
        took = retry_noiseless(test, q, a_actor, rows, q_clean, a_clean[rows], clean)
        counters.add("noiseless_certified", int(took.size))

    def _explore_fallback(self, table: AgentTable, modes: np.ndarray, noise: np.ndarray, env: Environment) -> None:
        """`td3.explore = "executed"` (opt-in): the learners' nominal actions get the same exploration noise
        as the actor's proposals, so exploration also acts where the filter fell back."""
        act = table.action
        if noise.ndim == 2:
            fb = (modes == Mode.FALLBACK) & (table.explore_std > 0)
            if fb.any():
                act[fb] = np.clip(act[fb] + noise[fb], env.action_low, env.action_high)
        else:
            tr = table.training_row
            if modes[tr] == Mode.FALLBACK:
                act[tr] = np.clip(act[tr] + noise, env.action_low, env.action_high)

    def _actor_and_value(self, nets: Networks, counters: Counters, s: np.ndarray, tr: int,
                         noise: np.ndarray | None, env: Environment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(noiseless actor actions, proposals with the learners' noise, the proposals' certified critic values).

        With `collect = "training"` the training row is also computed alone: a batched matrix
        product's last bits depend on the batch size, so this keeps the training run's numbers
        independent of how many visual agents share the frame (one extra small call)."""
        a_clean = nets.act(s)
        n = len(s)
        if noise is not None and noise.ndim == 2:
            a_actor = a_clean + noise
            np.clip(a_actor, env.action_low, env.action_high, out=a_actor)
            q = nets.certificate_q(s, a_actor, self.params.certified_value)
            counters.add("network_forward_calls", 2)
            return a_clean, a_actor, q
        a_actor = a_clean.copy()
        if tr >= 0:
            if n > 1:
                a_clean[tr] = nets.act(s[tr:tr + 1])[0]
            a_actor[tr] = np.clip(a_clean[tr] + noise, env.action_low, env.action_high)
        q = nets.certificate_q(s, a_actor, self.params.certified_value)
        calls = 2
        if tr >= 0 and n > 1:
            q[tr] = nets.certificate_q(s[tr:tr + 1], a_actor[tr:tr + 1], self.params.certified_value)[0]
            calls += 2
        counters.add("network_forward_calls", calls)
        return a_clean, a_actor, q

    @staticmethod
    def _record(calf: CalfState, *, filtered: bool, mode: int, q: float = math.nan, q_cert: float = math.nan,
                kappa_low: float = math.nan, kappa_up: float = math.nan, norm: float = math.nan,
                certified: bool = False, decrease_ok: bool = False, bounds_ok: bool = False,
                p_relax: float = math.nan, required: float = math.nan) -> None:
        d = calf.last
        d.required = required
        d.filtered, d.mode, d.q, d.q_cert = filtered, mode, q, q_cert
        d.kappa_low, d.kappa_up, d.state_norm = kappa_low, kappa_up, norm
        d.certified, d.decrease_ok, d.bounds_ok, d.p_relax = certified, decrease_ok, bounds_ok, p_relax
