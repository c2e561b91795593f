"""Point mass: state [x, v], action acceleration a; x' = v, v' = a."""
from __future__ import annotations

import numpy as np

from envs.base import Environment


class PointMass(Environment):
    name = "point_mass"
    state_dim = 2
    action_dim = 1
    surface_axes = (0, 1)
    position_axes = (0,)
    # its actor is certified on most steps, so there are few rejected proposals to learn from and the
    # imagined ones cost it gain: 5 seeds +13.9 to +17.9 % with them, +16.1 to +19.8 % without (docs/LEARNING.md)
    calf_defaults = {"rejected_proposals": "ignore"}

    def action_bound(self) -> np.ndarray:
        return np.array([self.cfg.pm_action_bound], dtype=np.float64)

    def derivatives(self, states: np.ndarray, actions: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.empty_like(states)
        out[:, 0] = states[:, 1]
        out[:, 1] = actions[:, 0]
        return out

    def reward(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        r = self.state_norm(states)
        r += 0.01 * np.square(actions[:, 0])
        return np.negative(r, out=r)

    def goal_reached(self, states: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", states, states) < self.cfg.goal_epsilon**2

    def sample_states(self, rng: np.random.Generator, count: int) -> np.ndarray:
        r = self.cfg.reset_range
        return rng.uniform(-r, r, size=(count, 2))

    def nominal(self, states: np.ndarray) -> np.ndarray:
        """PD control: a = clip(-kp x - kd v)."""
        a = -self.cfg.pd_kp * states[:, 0] - self.cfg.pd_kd * states[:, 1]
        return np.clip(a, self.action_low[0], self.action_high[0])[:, None]

    def surface_state(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.stack([a, b], axis=-1)
