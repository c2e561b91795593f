"""Rejected proposals learned through the model (`calf.rejected_proposals = "imagine"`).

Exploring inside the filter keeps every executed action safe, but wherever the filter falls back
the replay buffer holds the nominal policy's one action per state: the critic never sees what the
actor's rejected proposal would have done there, which is exactly where the actor needs to learn.
With this option each rejected proposal is stepped once through the environment's own dynamics
(the same RK4 step, reward and termination tests PhysicsSystem uses, so an imagined transition is
the one executing the proposal would have produced) and stored beside the executed transition.
Nothing imagined is ever executed: what the agents do is untouched; like the reach check it uses
the model.
"""
from __future__ import annotations

import numpy as np

from envs.base import Environment, Outcome


def imagined_transitions(env: Environment, states: np.ndarray, actions: np.ndarray, dt: float,
                         terminal_outcomes: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(next states, scaled rewards, terminated) of taking `actions` in `states` for one step of
    `dt`. A timeout is never terminal for the critic, so the step count plays no part; rows that
    are not finite come back as they are, and the replay buffer drops them."""
    s2 = env.rk4_step(states, actions, dt)
    with np.errstate(over="ignore", invalid="ignore"):
        r = env.reward(states, actions) * env.cfg.reward_scale
        outcome = env.outcomes(s2, np.zeros(len(s2), dtype=np.int64))
    terminated = np.isin(outcome, terminal_outcomes) & (outcome != Outcome.NONFINITE)
    return s2, r, terminated
