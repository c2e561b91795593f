"""A user's environment as a plugin: a mass on a damped spring, pushed by a bounded force.

Load it without touching the project: `python app.py --system examples.spring_mass:SpringMass`
(or from a folder of your own: copy the file there and name `package.module:ClassName`).
docs/EXTENDING.md ("Adding an environment") walks through it.

State [x, v], action a force u:  x' = v,  v' = (u - k x - c v) / m.
"""
from __future__ import annotations

import numpy as np
from attrs import define, field

from envs.base import Environment
from validation.validators import number, to_float


def _num(default: float, lo: float, hi: float, **kw: bool):  # noqa: ANN202
    return field(default=default, converter=to_float, validator=number(lo, hi, **kw))


@define(frozen=True, kw_only=True)
class SpringMassOptions:
    """`[env.options]` for this environment; every key is checked by its validator at start-up."""

    mass: float = _num(1.0, 0.0, 1e3, lo_open=True)
    stiffness: float = _num(1.0, 0.0, 1e3)
    friction: float = _num(0.1, 0.0, 1e3)
    force_bound: float = _num(2.0, 0.0, 1e3, lo_open=True)
    kp: float = _num(3.0, 0.0, 1e3)
    kd: float = _num(2.5, 0.0, 1e3)


class SpringMass(Environment):
    name = "spring_mass"
    state_dim = 2
    action_dim = 1
    state_names = ("x", "v")
    surface_axes = (0, 1)  # x across the surface, v in depth
    position_axes = (0,)  # |x| > boundary_limit ends an episode
    Options = SpringMassOptions
    config_defaults = {"boundary_limit": 4.0, "reset_range": 2.0, "goal_epsilon": 0.05}
    preset_defaults = {"quick": {"max_steps_per_episode": 600}}

    def action_bound(self) -> np.ndarray:
        return np.array([self.options.force_bound])

    def derivatives(self, states: np.ndarray, actions: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        o = self.options
        if out is None:
            out = np.empty_like(states)
        x, v = states[:, 0], states[:, 1]
        out[:, 0] = v
        out[:, 1] = (actions[:, 0] - o.stiffness * x - o.friction * v) / o.mass
        return out

    def reward(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return -self.state_norm(states) - 0.01 * actions[:, 0] ** 2

    def goal_reached(self, states: np.ndarray) -> np.ndarray:
        return self.state_norm(states) < self.cfg.goal_epsilon

    def sample_states(self, rng: np.random.Generator, count: int) -> np.ndarray:
        r = self.cfg.reset_range
        return rng.uniform(-r, r, size=(count, 2))

    def nominal(self, states: np.ndarray) -> np.ndarray:
        """PD on top of the spring: u = -kp x - kd v, saturated."""
        o = self.options
        u = -o.kp * states[:, 0] - o.kd * states[:, 1]
        return np.clip(u, -o.force_bound, o.force_bound)[:, None]

    def surface_state(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.stack([a, b], axis=-1)
