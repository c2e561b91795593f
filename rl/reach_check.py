"""The nominal policy's reach check (`calf.nominal_reach_check`): can the nominal still finish in time?

CALF's certificate bounds how the critic's value moves, not how long an episode takes: an actor
that keeps its certificate while it dawdles, or a relax step that carries an agent away, can leave
it where the nominal policy no longer reaches the goal before the episode's budget runs out. The
check simulates the nominal policy forward from each agent's current state with the environment's
own RK4 step and hands the agent to the nominal policy for the rest of its episode once the nominal
policy would need more than the time left minus one check period (the actor keeps control for at
most one more period before the next check) minus a margin (`calf.nominal_reach_margin`: within one
period the actor can make the nominal policy's task longer by more than the period itself). It uses the simulator's model: on a real system it
needs one.

Vectorised over agents: one loop over simulated time, every row at once, rows leaving the arrays
as they reach the goal or leave the boundary. tests/test_reach_check.py compares it with a
one-agent-at-a-time loop.
"""
from __future__ import annotations

import numpy as np

from envs.base import Environment

#: an agent's standing with the check within its episode (ControlSystem's `reach_state` column)
REACH_UNCHECKED, REACH_CLEAR, REACH_HANDED_OVER = 0, 1, 2


def nominal_steps_to_goal(env: Environment, states: np.ndarray, budget: int) -> np.ndarray:
    """Steps the noiseless nominal policy needs from each state until the environment counts the
    goal reached (0: there already); `budget + 1` where it does not within `budget` steps, leaves
    the boundary or stops being finite on the way."""
    n = len(states)
    need = np.full(n, budget + 1, dtype=np.int64)
    at_goal = env.goal_reached(states)
    need[at_goal] = 0
    rows = np.flatnonzero(~at_goal)
    s = np.array(states[rows], dtype=np.float64, copy=True)
    for t in range(1, budget + 1):
        if rows.size == 0:
            break
        s = env.rk4_step(s, env.nominal(s))
        finite = np.isfinite(s).all(axis=1)
        with np.errstate(invalid="ignore"):
            reached = finite & env.goal_reached(s)
            lost = ~finite | env.out_of_bounds(s)
        need[rows[reached]] = t
        keep = ~(reached | lost)
        rows, s = rows[keep], s[keep]
    return need


def hand_over(env: Environment, states: np.ndarray, steps_left: np.ndarray, period: int, margin: int = 0) -> np.ndarray:
    """Rows the nominal policy must take now: from their state it needs more than `steps_left -
    period - margin` steps (the actor would act for up to `period` more steps before the next check,
    and `margin` more steps are kept in reserve for what those steps may undo)."""
    slack = np.asarray(steps_left, dtype=np.int64) - int(period) - int(margin)
    if len(states) == 0:
        return np.zeros(0, dtype=bool)
    budget = int(max(slack.max(), 0))
    return nominal_steps_to_goal(env, states, budget) > slack
