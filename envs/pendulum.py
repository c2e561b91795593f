"""Inverted pendulum (swing-up): state [theta, omega], action a torque.

theta = 0 is upright and theta is kept in [-pi, pi) (the seam is the hanging position);
    theta' = omega,    omega' = (g / l) sin(theta) + (u - b omega) / (m l^2).
The torque bound (3 N m by default, under a third of m g l) is too small to lift the pendulum
straight up, so reaching upright takes a swing-up. Episodes start anywhere on the circle; one
ends at the goal (||(theta, omega)|| < goal_epsilon), when |omega| passes boundary_limit (the
pendulum spins out of the surface), or at the step budget.

The nominal policy pumps energy (u = -k E omega, saturated, with E the energy relative to resting
upright) and hands over to a PD law near upright; from the evaluation starts it reaches the goal
in every episode within the presets' budgets (docs/CONFIG.md gives the measurement).
"""
from __future__ import annotations

import math

import numpy as np
from attrs import define, field

from envs.base import Environment
from validation.validators import number, to_float

#: half-width of the critic surface in view units (the point mass's default boundary_limit)
SURFACE_HALF_WIDTH = 5.0


def _num(default: float, lo: float, hi: float, **kw: bool):  # noqa: ANN202
    return field(default=default, converter=to_float, validator=number(lo, hi, **kw))


@define(frozen=True, kw_only=True)
class PendulumOptions:
    """The pendulum's own settings (`[env.options]` when `env.system = "pendulum"`)."""

    mass: float = _num(1.0, 0.0, 1e3, lo_open=True)
    length: float = _num(1.0, 0.0, 1e3, lo_open=True)
    gravity: float = _num(9.81, 0.0, 1e3)
    damping: float = _num(0.05, 0.0, 1e3)
    torque_bound: float = _num(3.0, 0.0, 1e4, lo_open=True)
    angle_cost: float = _num(1.0, 0.0, 1e6)
    velocity_cost: float = _num(0.1, 0.0, 1e6)
    torque_cost: float = _num(0.001, 0.0, 1e6)
    energy_gain: float = _num(2.0, 0.0, 1e4)
    pd_kp: float = _num(25.0, 0.0, 1e4)
    pd_kd: float = _num(6.0, 0.0, 1e4)
    handover_angle: float = _num(0.5, 0.0, math.pi, lo_open=True)
    handover_rate: float = _num(2.0, 0.0, 1e4, lo_open=True)


class Pendulum(Environment):
    name = "pendulum"
    state_dim = 2
    action_dim = 1
    state_names = ("theta", "omega")
    surface_axes = (0, 1)
    position_axes = (1,)  # |omega| > boundary_limit ends the episode; theta cannot leave
    periodic_axes = (0,)
    Options = PendulumOptions
    # omega within +-10 rad/s is the surface's depth. Reward scale 2.5: the nominal's discounted
    # return (gamma 0.99) from the evaluation starts then has a median near the point mass's
    # (-950 against -920), so critic values share a scale (bench/pendulum_nominal.py prints both)
    config_defaults = {"boundary_limit": 10.0, "reset_range": 1.0, "goal_epsilon": 0.1, "reward_scale": 2.5}
    # the swing-up's energy controller needs uninterrupted stretches: without a dwell the actor, certified
    # on a young critic, cuts into them and the return ends 9-15 % worse than the nominal's (docs/LEARNING.md)
    calf_defaults = {"fallback_dwell": 1.0}
    preset_defaults = {
        "quick": {"max_steps_per_episode": 800},
        "standard": {"max_steps_per_episode": 1000},
        "thorough": {"max_steps_per_episode": 1500},
    }

    def __init__(self, cfg) -> None:  # noqa: ANN001
        super().__init__(cfg)
        o = self.options
        self._g_over_l = o.gravity / o.length
        self._inv_inertia = 1.0 / (o.mass * o.length**2)
        self._mgl = o.mass * o.gravity * o.length

    def action_bound(self) -> np.ndarray:
        return np.array([self.options.torque_bound])

    def derivatives(self, states: np.ndarray, actions: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.empty_like(states)
        omega = states[:, 1]
        out[:, 0] = omega
        out[:, 1] = self._g_over_l * np.sin(states[:, 0]) + (actions[:, 0] - self.options.damping * omega) * self._inv_inertia
        return out

    def reward(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        o = self.options
        th, om, u = states[:, 0], states[:, 1], actions[:, 0]
        return -(o.angle_cost * th * th + o.velocity_cost * om * om + o.torque_cost * u * u)

    def goal_reached(self, states: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", states, states) < self.cfg.goal_epsilon**2

    def sample_states(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """Anywhere on the circle, with a small spin."""
        theta = rng.uniform(-np.pi, np.pi, size=count)
        omega = rng.uniform(-self.cfg.reset_range, self.cfg.reset_range, size=count)
        return np.stack([theta, omega], axis=1)

    def energy(self, states: np.ndarray) -> np.ndarray:
        """Kinetic plus potential energy, zero when resting upright (-2 m g l hanging still)."""
        o = self.options
        th, om = states[:, 0], states[:, 1]
        return 0.5 * o.mass * o.length**2 * om * om + self._mgl * (np.cos(th) - 1.0)

    def nominal(self, states: np.ndarray) -> np.ndarray:
        """Energy pumping far from upright, PD near it; saturated at the torque bound.

        The pump's torque -k E sign(omega) (full torque from rest, sign(0) = +1) adds energy while E < 0;
        near upright (|theta| < handover_angle and |omega| < handover_rate) u = -kp theta - kd omega.
        """
        o = self.options
        th, om = states[:, 0], states[:, 1]
        direction = np.where(om >= 0.0, 1.0, -1.0)
        pump = -o.energy_gain * self.energy(states) * direction
        pd = -o.pd_kp * th - o.pd_kd * om
        near = (np.abs(th) < o.handover_angle) & (np.abs(om) < o.handover_rate)
        u = np.where(near, pd, pump)
        return np.clip(u, -o.torque_bound, o.torque_bound)[:, None]

    # -- the surface: theta across (its seam at the X edges), omega in depth up to +-boundary_limit,
    # both scaled to the view's usual half-width so the camera and markers fit as for the others
    @property
    def surface_extent(self) -> float:
        return SURFACE_HALF_WIDTH

    def surface_coords(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (states[:, 0] * (SURFACE_HALF_WIDTH / math.pi),
                states[:, 1] * (SURFACE_HALF_WIDTH / self.cfg.boundary_limit))

    def surface_state(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.stack([a * (math.pi / SURFACE_HALF_WIDTH), b * (self.cfg.boundary_limit / SURFACE_HALF_WIDTH)],
                        axis=-1)
