"""Evaluation without noise: a policy rolled out from a fixed, seeded set of start states.

Every policy (the CALF filter, the bare actor, the nominal policy, or anything else that maps a
batch of states to actions) is judged on the *same* starts, so their numbers compare directly.
A rollout is one vectorised pass per step over all starts at once; rows whose episode has ended
keep their final state and stop accumulating.

An episode ends exactly as in training (envs.base.Environment.outcomes): the goal, the boundary, or
the step budget; a non-finite state or action ends it as NONFINITE (a failure). Returns are the
training rewards (scaled by `env.reward_scale`), so evaluation and training returns share a scale.
"""
from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from attrs import asdict, define

from components.modes import Mode
from envs.base import Environment, Outcome


def evaluation_starts(env: Environment, count: int, seed: int) -> np.ndarray:
    """`count` start states drawn with the environment's own reset distribution from `seed` alone
    (independent of the run's seed, so every run and every policy gets the same starts)."""
    if count < 1:
        raise ValueError(f"evaluation needs at least one start, got {count}")
    return np.ascontiguousarray(env.sample_states(np.random.default_rng(seed), count), dtype=np.float64)


class EvalPolicy(Protocol):
    """What a rollout needs from a policy."""

    name: str

    def reset(self, count: int) -> None:
        """Forget per-episode memory (a certificate, say) for `count` fresh episodes."""

    def act(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Actions (n, action_dim) for every row, and each row's components.Mode (or None)."""


class NominalPolicy:
    """The environment's stabilising nominal policy."""

    name = "nominal"

    def __init__(self, env: Environment) -> None:
        self.env = env

    def reset(self, count: int) -> None:
        pass

    def act(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self.env.nominal(states), None


class CallablePolicy:
    """Any function states -> actions (the bare actor, a Stable-Baselines3 model's predict, ...)."""

    def __init__(self, name: str, fn) -> None:  # noqa: ANN001 - Callable[[np.ndarray], np.ndarray]
        self.name = name
        self.fn = fn

    def reset(self, count: int) -> None:
        pass

    def act(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return np.asarray(self.fn(states), dtype=np.float64).reshape(len(states), -1), None


class FilterPolicy:
    """The actor through the CALF filter without exploration noise, each row with its own certificate.

    `p_relax = 0` is CALF as evaluated: every uncertified step falls back to the nominal policy,
    which then keeps control for the fallback dwell (`CalfParams.dwell_steps`), and from step
    `CalfParams.deadline_steps` of the rollout on (if set) the nominal policy acts, as it does for a
    row the reach check (`CalfParams.reach_check_steps`, rl.reach_check) handed over.
    `p_relax = 1` is the bare actor, still judged by the certificate (uncertified steps are RELAX),
    so its certified share can be read too."""

    def __init__(self, name: str, env: Environment, nets, params, p_relax: float) -> None:  # noqa: ANN001
        self.name = name
        self.env = env
        self.nets = nets  # rl.networks.Networks
        self.params = params  # rl.calf.CalfParams
        self.p_relax = float(p_relax)
        self.reset(0)

    def reset(self, count: int) -> None:
        sd, ad = self.env.state_dim, self.env.action_dim
        self.s_cert, self.a_cert = np.zeros((count, sd)), np.zeros((count, ad))
        self.q_cert, self.has_cert = np.full(count, np.nan), np.zeros(count, dtype=bool)
        self.hold = np.zeros(count, dtype=np.int32)
        self.handed = np.zeros(count, dtype=bool)  # rows the reach check gave the nominal policy to the end
        self.step = 0  # every row of a rollout starts together: one step count is each row's episode step

    def act(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        from rl.calf import (advance_dwell, certificate_test, choose_modes, filtered_actions, held_rows,
                             unusable_rows, update_certificates)

        a = self.nets.act(states)
        q = self.nets.certificate_q(states, a, self.params.certified_value)
        test = certificate_test(q, self.q_cert, self.has_cert, self.env.state_norm(states), self.params)
        unusable = unusable_rows(a, q) if self.p_relax < 1.0 else None
        # the coin is never below 0 and always below 1: P_relax 0 never relaxes, 1 always does
        coin = np.full(len(states), 0.0 if self.p_relax >= 1.0 else 1.0)
        filtering = self.p_relax < 1.0  # the bare actor (P_relax 1) is judged, never held back
        if filtering and self.params.reach_check_steps > 0:
            self._check_reach(states)
        held = None
        if filtering:
            held = held_rows(self.hold, self.step, self.params.deadline_steps)
            if self.handed.any():
                held = self.handed if held is None else held | self.handed
        modes = choose_modes(test.certified, coin, self.p_relax, unusable, held)
        self.step += 1
        if filtering:
            advance_dwell(modes, self.hold, self.params.dwell_steps)
        actions = filtered_actions(modes, a, self.env.nominal(states))
        update_certificates(modes, states, a, q, self.s_cert, self.a_cert, self.q_cert, self.has_cert,
                            self.params.relax_updates_certificate)
        return actions, modes


    def _check_reach(self, states: np.ndarray) -> None:
        """calf.nominal_reach_check, as in the frame: every period, rows the actor still drives and from
        which the nominal policy would no longer reach the goal in time are held to the episode's end."""
        from rl.reach_check import FilterLookAhead, hand_over, look_ahead_drivers

        period = self.params.reach_check_steps
        deadline = self.params.deadline_steps
        if self.step % period or (deadline > 0 and self.step >= deadline):
            return
        rows = np.flatnonzero(~self.handed)  # (rows inside a dwell too, as in the frame)
        if rows.size == 0:
            return
        steps_left = self.env.cfg.max_steps_per_episode - self.step
        drive = look_ahead_drivers(self.params.reach_lookahead, self.nets, lambda: FilterLookAhead(
            self.nets, self.params, self.q_cert[rows], self.has_cert[rows], self.hold[rows],
            np.full(rows.size, self.step), self.env.state_norm, self.env.nominal))
        self.handed[rows] = hand_over(self.env, states[rows], np.full(rows.size, steps_left), period,
                                      self.params.reach_margin_steps, drive)


@define
class RolloutResult:
    """Per-start results of one rollout (arrays of length `starts`) and the step counts by mode."""

    outcomes: np.ndarray  # envs.Outcome per start (never RUNNING)
    returns: np.ndarray  # scaled return of each episode
    lengths: np.ndarray  # steps taken
    mode_steps: np.ndarray  # steps per components.Mode over all episodes (len(Mode),), zeros if no modes

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.outcomes == Outcome.GOAL))

    @property
    def certified_share(self) -> float:
        """Share of all evaluation steps on which the actor's action was certified (NaN: no modes)."""
        total = self.mode_steps.sum()
        return float(self.mode_steps[Mode.CERTIFIED] / total) if total else math.nan

    @property
    def fallback_share(self) -> float:
        total = self.mode_steps.sum()
        return float(self.mode_steps[Mode.FALLBACK] / total) if total else math.nan

    def rate(self, outcome: Outcome) -> float:
        return float(np.mean(self.outcomes == outcome))


def rollout(env: Environment, policy: EvalPolicy, starts: np.ndarray, max_steps: int) -> RolloutResult:
    """Run `policy` from every start at once until each episode ends (goal, boundary, budget, NaN)."""
    n = len(starts)
    s = np.array(starts, dtype=np.float64, copy=True)
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    outcomes = np.zeros(n, dtype=np.int8)
    mode_steps = np.zeros(len(Mode), dtype=np.int64)
    alive = np.arange(n)
    s_next = np.empty_like(s)
    policy.reset(n)
    scale = env.cfg.reward_scale
    for _ in range(max_steps):
        if alive.size == 0:
            break
        # the policy sees every row, so a stateful policy (a certificate per row) keeps its rows aligned;
        # rows that have ended are frozen and their actions ignored
        actions, modes = policy.act(s)
        a = actions[alive]
        if modes is not None:
            mode_steps += np.bincount(modes[alive].astype(np.int64), minlength=len(Mode))[: len(Mode)]
        sa = s[alive]
        nxt = env.rk4_step(sa, a, out=s_next[: alive.size])
        with np.errstate(invalid="ignore", over="ignore"):
            r = env.reward(sa, a) * scale
        lengths[alive] += 1
        bad = ~(np.isfinite(nxt).all(axis=1) & np.isfinite(r) & np.isfinite(a).all(axis=1))
        r[bad] = 0.0
        returns[alive] += r
        out = env.outcomes(nxt, lengths[alive])
        out[bad] = Outcome.NONFINITE
        keep = ~bad
        s[alive[keep]] = nxt[keep]
        done = out != Outcome.RUNNING
        outcomes[alive[done]] = out[done]
        alive = alive[~done]
    outcomes[alive] = Outcome.TIMEOUT  # only when max_steps < the environment's own budget
    return RolloutResult(outcomes, returns, lengths, mode_steps)


@define
class EvalResult:
    """One evaluation of a training run: its policy and the references, on the same starts.

    Emitted as the world event `evaluation_done(result)` and written as a row of `eval.csv`.
    `nominal_*` is the nominal policy and `actor_*` the bare actor without the filter (NaN when the
    run has no actor to judge), both on the same starts, so every row carries its own comparison.
    """

    episode: int  # the training agent's finished episodes (all time) when evaluated
    total_steps: int  # the training agent's environment steps (all time)
    collected: int  # transitions that entered the replay buffer (all time, every collecting agent)
    wall_time: float  # seconds since this session started
    policy: str  # calf | actor | nominal: what the run trains and acts with
    starts: int
    success_rate: float
    mean_return: float
    mean_length: float
    certified_share: float  # share of evaluation steps the actor acted certified (NaN without a filter)
    fallback_share: float
    boundary_rate: float
    timeout_rate: float
    nominal_success_rate: float
    nominal_mean_return: float
    actor_success_rate: float
    actor_mean_return: float

    def as_row(self) -> dict:
        return asdict(self)

    @property
    def return_gain(self) -> float:
        """(mean return - the nominal's) / |the nominal's|: > 0 means cheaper than the nominal policy."""
        ref = self.nominal_mean_return
        return (self.mean_return - ref) / abs(ref) if ref else math.nan


#: eval.csv's columns, in order
EVAL_COLUMNS = tuple(f.name for f in EvalResult.__attrs_attrs__) + ("return_gain",)
