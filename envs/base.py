"""What every environment provides, as whole-batch numpy functions, and a vectorised RK4.

This class is the environment API a plugin implements (docs/EXTENDING.md, "Adding an
environment"): the built-in environments are subclasses registered by name in envs/registry.py,
and `--system package.module:ClassName` loads any other subclass the same way.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np

from envs.integrators import RK4


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

    #: the environment's identity: run summaries and checkpoints carry it (a checkpoint is only
    #: resumed by the same environment). The loader sets it to the registered name, or to
    #: 'package.module:ClassName' for an unregistered class.
    name: str = ""
    state_dim: int = 0
    action_dim: int = 0
    #: a name per state component, for the view's inspection panel (empty: s0, s1, ...)
    state_names: tuple[str, ...] = ()
    #: which state components the surface's two axes show (x -> X, second -> Z)
    surface_axes: tuple[int, int] = (0, 1)
    #: which state components count as position for the boundary test
    position_axes: tuple[int, ...] = (0,)
    #: state components that are angles: `wrap` keeps them in [-pi, pi), and a trail on the
    #: surface breaks where one crosses the seam instead of drawing a line across the surface
    periodic_axes: tuple[int, ...] = ()
    #: this environment's own settings: an attrs class whose fields (with validators) are the keys
    #: of the config's `[env.options]` table; None = the environment takes no options
    Options: type | None = None
    #: values of shared `[env]` keys this environment prefers over the generic defaults
    #: (applied under the presets, the config file and the command line)
    config_defaults: dict = {}
    #: training preset -> `[env]` keys for that preset (an episode budget that suits the task)
    preset_defaults: dict = {}
    #: values of `[calf]` keys this environment's filter works best with (a fallback dwell for a
    #: nominal policy that needs uninterrupted stretches, say), applied like `config_defaults`
    calf_defaults: dict = {}

    def __init__(self, cfg: Any) -> None:  # the run's [env] settings (config.schema.EnvConfig)
        self.cfg = cfg
        self.dt = cfg.dt
        options = getattr(cfg, "options", None) or {}
        self.options = self.Options(**options) if self.Options is not None else None
        self.action_high = np.asarray(self.action_bound(), dtype=np.float64)
        self.action_low = -self.action_high
        self._rk4 = RK4()

    # -- to implement --------------------------------------------------------------------------
    def action_bound(self) -> np.ndarray:
        """Largest |action| per action component, shape (action_dim,): actions lie in [-bound, bound]
        (the actor's tanh output is scaled by it). Called once, by the constructor."""
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

    # -- shared (override when the defaults do not fit) ------------------------------------------
    def wrap(self, states: np.ndarray) -> np.ndarray:
        """Bring states back to their canonical range: every periodic axis into [-pi, pi), in place."""
        for ax in self.periodic_axes:
            states[:, ax] = wrap_angle(states[:, ax])
        return states

    def state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) each state component can take (the gymnasium observation space): periodic
        axes [-pi, pi], everything else unbounded."""
        low = np.full(self.state_dim, -np.inf)
        high = np.full(self.state_dim, np.inf)
        for ax in self.periodic_axes:
            low[ax], high[ax] = -np.pi, np.pi
        return low, high

    @property
    def surface_extent(self) -> float:
        """Half-width of the square the critic surface covers, in surface coordinates."""
        return float(self.cfg.boundary_limit)

    def surface_coords(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where every state sits on the surface: (X, Z) coordinates (the inverse of `surface_state`
        on the slice the surface shows)."""
        return states[:, self.surface_axes[0]], states[:, self.surface_axes[1]]

    @property
    def surface_wraps(self) -> tuple[bool, bool]:
        """Whether the surface's X / Z axis is periodic (a trail crossing its edge breaks there)."""
        return (self.surface_axes[0] in self.periodic_axes, self.surface_axes[1] in self.periodic_axes)

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


def critic_terminals(boundary_exit: str) -> tuple[Outcome, ...]:
    """The outcomes that end the critic's cost stream (no bootstrap after them): the goal, and the
    boundary too with `training.boundary_exit = "terminal"`; a timeout never does."""
    return (Outcome.GOAL, Outcome.BOUNDARY) if boundary_exit == "terminal" else (Outcome.GOAL,)


def wrap_angle(theta: np.ndarray) -> np.ndarray:
    """Wrap to [-pi, pi)."""
    return (theta + np.pi) % (2.0 * np.pi) - np.pi
