"""Relax-probability schedules: pluggable strategies for P_relax (docs/CALF.md).

A schedule gives the base probability after `step` filter decisions of the training agent
(`value(step)`, a pure function, so a checkpoint only needs the step count) and may change it
per agent (`per_agent(p, state_norm)`), e.g. to forbid relaxing near the goal. Visual agents use
the training agent's current value; only the training agent's steps advance it.
"""
from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from attrs import define


class RelaxSchedule(Protocol):
    name: str

    def value(self, step: int) -> float:
        """P_relax after `step` steps of the training agent through the filter."""

    def per_agent(self, p: float, state_norm: np.ndarray) -> float | np.ndarray:
        """The probability each agent's relax coin is compared with (a scalar means every agent)."""


@define(frozen=True)
class ExponentialDecay:
    """P = start * lam**step: `P_relax *= lambda_relax` every step (the default)."""

    start: float
    lam: float
    name: str = "exponential"

    def value(self, step: int) -> float:
        if self.start == 0.0 or self.lam == 1.0:
            return self.start
        if self.lam == 0.0:
            return self.start if step == 0 else 0.0
        return self.start * math.exp(step * math.log(self.lam))

    def per_agent(self, p: float, state_norm: np.ndarray) -> float:
        return p


@define(frozen=True)
class LinearRamp:
    """P moves linearly from `start` to `end` over `steps` steps, then stays (up or down)."""

    start: float
    end: float
    steps: int
    name: str = "linear"

    def value(self, step: int) -> float:
        frac = min(1.0, step / self.steps)
        return self.start + (self.end - self.start) * frac

    def per_agent(self, p: float, state_norm: np.ndarray) -> float:
        return p


@define(frozen=True)
class ZeroInGoalRegion:
    """Another schedule's value, but 0 for agents with ||s|| < radius: near the goal the nominal
    policy, which is known to reach it, takes every uncertified step."""

    inner: ExponentialDecay | LinearRamp
    radius: float
    name: str = "goal_zero"

    def value(self, step: int) -> float:
        return self.inner.value(step)

    def per_agent(self, p: float, state_norm: np.ndarray) -> np.ndarray:
        return np.where(state_norm < self.radius, 0.0, p)


def make_schedule(calf) -> RelaxSchedule:  # noqa: ANN001 - config.CalfConfig
    start = calf.p_relax_start
    if calf.relax_schedule == "exponential":
        return ExponentialDecay(start, calf.lambda_relax)
    if calf.relax_schedule == "linear":
        return LinearRamp(start, calf.relax_ramp_end, calf.relax_ramp_steps)
    if calf.relax_schedule == "goal_zero":
        return ZeroInGoalRegion(ExponentialDecay(start, calf.lambda_relax), calf.relax_goal_radius)
    raise ValueError(f"unknown relax schedule {calf.relax_schedule!r}")
