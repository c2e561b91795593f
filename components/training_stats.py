"""TrainingStats: the learning statistics the HUD, the progress bar and run_summary.json show.

A world resource. The TrainingSystem is its only writer; the HUD (StatsSystem), the headless
progress bar and the summary only read it. Counters are kept for all time (restored from a
checkpoint) and for this session.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np
from attrs import define, field

from components.group_counts import GroupCounts


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@define
class TrainingStats:
    # episodes and steps of the training agent
    episodes: int = 0  # finished episodes, all time
    session_episodes: int = 0
    total_steps: int = 0  # training agent's environment steps, all time
    session_steps: int = 0
    train_updates: int = 0  # TD3 critic updates, all time
    successes: int = 0  # episodes that reached the goal, all time
    episode_return: float = 0.0  # current episode so far (scaled reward)
    episode_length: int = 0
    returns: deque = field(factory=lambda: deque(maxlen=1000))  # finished episodes, newest last
    lengths: deque = field(factory=lambda: deque(maxlen=1000))
    success_flags: deque = field(factory=lambda: deque(maxlen=1000))
    # learning
    phase: str = "EXPLORATION"  # EXPLORATION (before start_training_step) or TRAINING
    exploration_noise: float = 0.0
    buffer_size: int = 0
    critic_loss: float = math.nan
    actor_loss: float = math.nan
    # CALF (training agent only; visual agents never change these)
    p_relax: float = 1.0
    calf_steps: int = 0  # steps that went through the filter, all time
    interventions: int = 0  # fallback to the nominal policy, all time
    relaxes: int = 0  # uncertified but the actor acted (relax coin), all time
    session_calf_steps: int = 0
    session_interventions: int = 0
    session_relaxes: int = 0
    # the current step of the training agent, for the HUD
    mode: int = 0
    q: float = math.nan  # critic value of the actor's action (the certified convention)
    q_cert: float = math.nan  # the certificate this step was tested against (NaN: none)
    kappa_low: float = math.nan
    kappa_up: float = math.nan
    state_norm: float = math.nan
    # certificate timeline of the current episode: q_cert and mode per step (bounded)
    timeline_q: np.ndarray = field(factory=lambda: np.zeros(0))
    timeline_mode: np.ndarray = field(factory=lambda: np.zeros(0, dtype=np.int8))
    timeline_len: int = 0
    # fields added by the learning core
    policy: str = "calf"  # who acts: calf (the filter), actor (bare actor) or nominal
    session_successes: int = 0
    actor_updates: int = 0  # TD3 actor (and target) updates, all time
    delta: float = math.nan  # q - q_cert of this step
    required: float = math.nan  # the decrease delta had to reach (relative: nu_rate * dt * |q_cert|)
    certified: bool = False  # this step's actor action passed the certificate test
    decrease_ok: bool = False  # q - q_cert >= required
    bounds_ok: bool = False  # kappa_low <= -q <= kappa_up
    has_cert: bool = False  # the training agent holds a certified triple after this step
    filtered: bool = False  # the filter decided this step (False in warm-up and with --policy nominal)
    last_outcome: int = 0  # envs.Outcome of the last finished episode
    # every agent, by group (components.agent_groups): filter decisions and episode outcomes, all time
    collect: str = "training"  # whose transitions enter the replay buffer: "training" or "all"
    collected: int = 0  # transitions that entered the replay buffer, all time
    learners: GroupCounts = field(factory=GroupCounts)  # the training agent and the other learners
    cohort: GroupCounts = field(factory=GroupCounts)  # the policy cohort (no exploration, evaluation starts)
    timeline_stride: int = 1  # environment steps per timeline point (doubles when a long episode fills it)
    # the learner (rl.background_learner): who runs the updates and how far it trails the data
    learner: str = "inline"  # "inline" (inside the frame) or "background" (a worker thread)
    learning_lag: int = 0  # updates granted and not yet done
    learning_lag_s: float = 0.0  # ... in the learner's time at its recent rate
    updates_skipped: int = 0  # granted updates dropped because the learner was too far behind, all time
    learner_wait_s: float = 0.0  # the acting side's waits for the learner, this session (seconds)
    batch_size: int = 0  # the batch of the latest updates granted

    # -- derived rates ---------------------------------------------------------------------------
    @property
    def intervention_rate(self) -> float:
        return _rate(self.interventions, self.calf_steps)

    @property
    def relax_rate(self) -> float:
        return _rate(self.relaxes, self.calf_steps)

    @property
    def certification_rate(self) -> float:
        return 1.0 - self.intervention_rate - self.relax_rate if self.calf_steps else 0.0

    @property
    def session_intervention_rate(self) -> float:
        return _rate(self.session_interventions, self.session_calf_steps)

    @property
    def session_relax_rate(self) -> float:
        return _rate(self.session_relaxes, self.session_calf_steps)

    @property
    def session_certification_rate(self) -> float:
        if not self.session_calf_steps:
            return 0.0
        return 1.0 - self.session_intervention_rate - self.session_relax_rate

    @property
    def success_rate(self) -> float:
        return _rate(self.successes, self.episodes)

    @property
    def session_success_rate(self) -> float:
        return _rate(self.session_successes, self.session_episodes)

    def success_rate_last(self, k: int = 20) -> float:
        recent = list(self.success_flags)[-k:]
        return sum(recent) / len(recent) if recent else 0.0

    def mean_return_last(self, k: int = 10) -> float:
        recent = list(self.returns)[-k:]
        return float(np.mean(recent)) if recent else math.nan
