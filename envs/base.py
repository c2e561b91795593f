"""What every environment provides, as whole-batch numpy functions, and a vectorised RK4."""
from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from envs.integrators import RK4

if TYPE_CHECKING:
    from config.schema import EnvConfig


class Outcome(IntEnum):
    """How an agent's episode ended this step (0 = it goes on)."""

    RUNNING = 0
    GOAL = 1
    BOUNDARY = 2
    TIMEOUT = 3
    NONFINITE = 4  # the state or action became NaN/inf (a diverging actor, say): the agent respawns


class Environment:
    """Batched dynamics, rewards, termination tests, resets and the nominal policy.

    All methods take `states` of shape (n, state_dim) and `actions` of shape (n, action_dim)
    and work on every row at once.
    """

    name: str = ""
    state_dim: int = 0
    action_dim: int = 0
    #: which state components the surface's two axes show (x -> X, second -> Z)
    surface_axes: tuple[int, int] = (0, 1)
    #: which state components count as position for the boundary test
    position_axes: tuple[int, ...] = (0,)

    def __init__(self, cfg: "EnvConfig") -> None:
        self.cfg = cfg
        self.dt = cfg.dt
        self.action_high = self._action_high(cfg)
        self.action_low = -self.action_high
        self._rk4 = RK4()

    # -- to implement --------------------------------------------------------------------------
    def _action_high(self, cfg: "EnvConfig") -> np.ndarray:
        raise NotImplementedError

    def derivatives(self, states: np.ndarray, actions: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """ds/dt for every row (written into `out` when given)."""
        raise NotImplementedError

    def reward(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The unscaled reward r(s, a) (a negative cost) of taking `actions` in `states`."""
        raise NotImplementedError

    def goal_reached(self, states: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample_states(self, rng: np.random.Generator, count: int) -> np.ndarray:
        raise NotImplementedError

    def nominal(self, states: np.ndarray) -> np.ndarray:
        """The stabilising nominal policy, for every row at once."""
        raise NotImplementedError

    def surface_state(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The full state at surface coordinates (a, b): the slice the critic surface shows."""
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------------------
    def wrap(self, states: np.ndarray) -> np.ndarray:
        """Bring states back to their canonical range (angles); identity by default."""
        return states

    def clip_actions(self, actions: np.ndarray) -> np.ndarray:
        return np.clip(actions, self.action_low, self.action_high)

    def rk4_step(
        self, states: np.ndarray, actions: np.ndarray, dt: float | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """One classical Runge-Kutta step (action held constant), then `wrap`."""
        h = self.dt if dt is None else dt
        return self.wrap(self._rk4.step(self.derivatives, states, actions, h, out))

    def out_of_bounds(self, states: np.ndarray) -> np.ndarray:
        lim = self.cfg.boundary_limit
        axes = self.position_axes
        hit = np.abs(states[:, axes[0]]) > lim
        for ax in axes[1:]:
            hit |= np.abs(states[:, ax]) > lim
        return hit

    def outcomes(self, states: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Outcome per row after a step: goal beats boundary beats timeout."""
        out = np.zeros(states.shape[0], dtype=np.int8)
        out[steps >= self.cfg.max_steps_per_episode] = Outcome.TIMEOUT
        out[self.out_of_bounds(states)] = Outcome.BOUNDARY
        out[self.goal_reached(states)] = Outcome.GOAL
        return out

    def state_norm(self, states: np.ndarray) -> np.ndarray:
        """Euclidean norm of every row (einsum: much faster than np.linalg.norm on small rows)."""
        return np.sqrt(np.einsum("ij,ij->i", states, states))


def make_environment(cfg: "EnvConfig") -> Environment:
    from envs.differential_drive import DifferentialDrive
    from envs.point_mass import PointMass

    kinds = {"point_mass": PointMass, "differential_drive": DifferentialDrive}
    try:
        return kinds[cfg.system](cfg)
    except KeyError:
        raise ValueError(f"unknown system {cfg.system!r}: choose one of {', '.join(kinds)}") from None
