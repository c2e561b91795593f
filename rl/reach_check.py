"""The nominal policy's reach check (`calf.nominal_reach_check`): can the nominal still finish in time?

CALF's certificate bounds how the critic's value moves, not how long an episode takes: an actor
that keeps its certificate while it dawdles, or a relax step that carries an agent away, can leave
it where the nominal policy no longer reaches the goal before the episode's budget runs out. At
each check the actor (without noise) drives every agent for one check period in simulation, then
the nominal policy takes over there, both with the environment's own RK4 step; an agent from which
that would not reach the goal within the time left (minus `calf.nominal_reach_margin`) is handed to
the nominal policy for the rest of its episode now, while the nominal can still finish. It uses the
simulator's model: on a real system it needs one.

Vectorised over agents: one loop over simulated time, every row at once, rows leaving the arrays
as they reach the goal or leave the boundary. tests/test_reach_check.py compares it with a
one-agent-at-a-time loop.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from components.modes import Mode
from envs.base import Environment

#: an agent's standing with the check within its episode (ControlSystem's `reach_state` column)
REACH_UNCHECKED, REACH_CLEAR, REACH_HANDED_OVER = 0, 1, 2


def nominal_steps_to_goal(env: Environment, states: np.ndarray, budget: int) -> np.ndarray:
    """Steps the noiseless nominal policy needs from each state until the environment counts the
    goal reached (0: there already); `budget + 1` where it does not within `budget` steps, leaves
    the boundary or stops being finite on the way.

    Finished rows are dropped from the arrays every `_COMPACT_EVERY` steps, not every step (they
    are masked in between), and finiteness is one sum on the common path: measured on 10 000
    point-mass starts, 229 ms before and about half of that with both."""
    n = len(states)
    need = np.full(n, budget + 1, dtype=np.int64)
    at_goal = env.goal_reached(states)
    need[at_goal] = 0
    rows = np.flatnonzero(~at_goal)
    s = np.array(states[rows], dtype=np.float64, copy=True)
    going = np.ones(rows.size, dtype=bool)
    for t in range(1, budget + 1):
        if rows.size == 0:
            break
        s = env.rk4_step(s, env.nominal(s))
        with np.errstate(invalid="ignore", over="ignore"):
            if np.isfinite(s.sum()):  # every row finite: one reduction
                reached, lost = env.goal_reached(s), env.out_of_bounds(s)
            else:
                finite = np.isfinite(s).all(axis=1)
                reached = finite & env.goal_reached(s)
                lost = ~finite | env.out_of_bounds(s)
        reached &= going
        need[rows[reached]] = t
        going &= ~(reached | lost)
        if t % _COMPACT_EVERY == 0 or not going.any():
            rows, s, going = rows[going], s[going], going[going]
    return need


#: how often nominal_steps_to_goal drops finished rows from its arrays
_COMPACT_EVERY = 16


class FilterLookAhead:
    """The look-ahead's driver as CALF is evaluated: the noiseless actor where the certificate
    passes, the nominal policy where it fails (P_relax 0), inside a fallback dwell and past the
    deadline, each row with a copy of its own certificate and dwell. With it the period simulated
    is the one the noiseless filter executes (what the evaluation and the cohort run), not the bare
    actor's, so a cleared row of the evaluation arrives where the check said it would."""

    def __init__(self, nets, params, q_cert: np.ndarray, has_cert: np.ndarray,  # noqa: ANN001
                 hold: np.ndarray, episode_step: np.ndarray, state_norm: Callable[[np.ndarray], np.ndarray],
                 nominal: Callable[[np.ndarray], np.ndarray]) -> None:
        self.nets, self.params = nets, params  # rl.networks.Networks, rl.calf.CalfParams
        self.q_cert = np.array(q_cert, dtype=np.float64, copy=True)
        self.has_cert = np.array(has_cert, dtype=bool, copy=True)
        self.hold = np.array(hold, dtype=np.int32, copy=True)
        self.step = np.array(episode_step, dtype=np.int64, copy=True)
        self.state_norm, self.nominal = state_norm, nominal

    def act(self, states: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """One filter step for `rows` (indices into the arrays given at construction) at `states`."""
        from rl.calf import (advance_dwell, certificate_test, choose_modes, filtered_actions, held_rows,
                             unusable_rows)

        p = self.params
        a = self.nets.act(states)
        q = self.nets.certificate_q(states, a, p.certified_value)
        test = certificate_test(q, self.q_cert[rows], self.has_cert[rows], self.state_norm(states), p)
        held = held_rows(self.hold[rows], self.step[rows], p.deadline_steps)
        modes = choose_modes(test.certified, np.ones(len(rows)), 0.0, unusable_rows(a, q), held)
        hold = self.hold[rows]
        advance_dwell(modes, hold, p.dwell_steps)
        self.hold[rows] = hold
        self.step[rows] += 1
        took = modes == Mode.CERTIFIED
        self.q_cert[rows[took]] = q[took]
        self.has_cert[rows[took]] = True
        return filtered_actions(modes, a, self.nominal(states))


Driver = Callable[[np.ndarray], np.ndarray] | FilterLookAhead


def _drive_period(env: Environment, states: np.ndarray, period: int,
                  actor: Driver | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(states after the period, rows that left the boundary or stopped being finite, rows still
    short of the goal) with `actor` driving every row for `period` steps (None: no look-ahead)."""
    s = np.array(states, dtype=np.float64, copy=True)
    late = np.zeros(len(s), dtype=bool)
    going = np.ones(len(s), dtype=bool)  # rows whose look-ahead has not reached the goal yet
    if actor is None:
        return s, late, going
    going &= ~env.goal_reached(s)
    for _ in range(int(period)):
        rows = np.flatnonzero(going & ~late)
        if rows.size == 0:
            break
        if isinstance(actor, FilterLookAhead):
            nxt = env.rk4_step(s[rows], actor.act(s[rows], rows))
        else:
            nxt = env.rk4_step(s[rows], env.clip_actions(actor(s[rows])))
        finite = np.isfinite(nxt).all(axis=1)
        with np.errstate(invalid="ignore"):
            late[rows[~finite | env.out_of_bounds(nxt)]] = True
            going[rows[finite & env.goal_reached(nxt)]] = False
        s[rows[finite]] = nxt[finite]
    return s, late, going


def hand_over(env: Environment, states: np.ndarray, steps_left: np.ndarray, period: int, margin: int = 0,
              actor: Driver | Sequence[Driver] | None = None) -> np.ndarray:
    """Rows the nominal policy must take now. With `actor` (states -> actions: the noiseless actor,
    or a FilterLookAhead: the noiseless filter) the check looks one period ahead: it drives each row
    for `period` steps (a row that reaches the goal on the way is fine, one that leaves the boundary
    is not), then the nominal policy must reach the goal within the steps left after that period
    minus `margin`. A sequence of drivers: a row is late if it is under any of them (their nominal
    rollouts run as one). Without it, the nominal policy from the current state must need at most
    `steps_left - period - margin`."""
    left = np.asarray(steps_left, dtype=np.int64)
    if len(states) == 0:
        return np.zeros(0, dtype=bool)
    slack = left - int(period) - int(margin)
    drivers = list(actor) if isinstance(actor, (list, tuple)) else [actor]
    late = np.zeros(len(states), dtype=bool)
    ends, owners = [], []
    for drive in drivers:
        s, lost, going = _drive_period(env, states, period, drive)
        late |= lost
        rows = np.flatnonzero(going & ~lost)
        ends.append(s[rows])
        owners.append(rows)
    rows = np.concatenate(owners)
    if rows.size:
        budget = int(max(slack[rows].max(), 0))
        need = nominal_steps_to_goal(env, np.concatenate(ends), budget)
        late[rows[need > slack[rows]]] = True
    return late


def look_ahead_drivers(which: str, nets, make_filter: Callable[[], FilterLookAhead]) -> list:  # noqa: ANN001
    """calf.nominal_reach_lookahead as hand_over's drivers: "actor" (the noiseless actor, nets.act),
    "filter" (the noiseless filter, built by `make_filter`) or "both"."""
    if which == "actor":
        return [nets.act]
    if which == "filter":
        return [make_filter()]
    if which == "both":
        return [nets.act, make_filter()]
    raise ValueError(f"nominal_reach_lookahead must be 'both', 'filter' or 'actor', got {which!r}")
