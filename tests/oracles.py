"""Plain per-agent (scalar, pure Python) versions of the vectorised kernels: test oracles only."""
from __future__ import annotations

import math

from envs.base import Outcome


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def pm_derivatives(s, a):
    return [s[1], a[0]]


def dd_derivatives(s, a):
    return [a[0] * math.cos(s[2]), a[0] * math.sin(s[2]), a[1]]


def rk4(f, s, a, h, wrap_theta=False):
    k1 = f(s, a)
    k2 = f([si + 0.5 * h * ki for si, ki in zip(s, k1)], a)
    k3 = f([si + 0.5 * h * ki for si, ki in zip(s, k2)], a)
    k4 = f([si + h * ki for si, ki in zip(s, k3)], a)
    out = [si + h / 6 * (q1 + 2 * q2 + 2 * q3 + q4) for si, q1, q2, q3, q4 in zip(s, k1, k2, k3, k4)]
    if wrap_theta:
        out[2] = _wrap(out[2])
    return out


def pm_reward(s, a):
    return -math.sqrt(s[0] ** 2 + s[1] ** 2) - 0.01 * a[0] ** 2


def dd_reward(s, a):
    return -math.sqrt(s[0] ** 2 + s[1] ** 2) - 0.1 * abs(s[2]) - 0.01 * (a[0] ** 2 + a[1] ** 2)


def pm_nominal(s, cfg):
    a = -cfg.pd_kp * s[0] - cfg.pd_kd * s[1]
    return [min(max(a, -cfg.pm_action_bound), cfg.pm_action_bound)]


def dd_nominal(s, cfg):
    x, y, th = s
    rho = math.sqrt(x * x + y * y)
    if rho < cfg.dd_final_rotation_radius:
        v, w = 0.0, -cfg.dd_k_theta * th
    else:
        alpha = _wrap(math.atan2(-y, -x) - th)
        if abs(alpha) > math.pi / 2:
            v = -cfg.dd_backup_speed * cfg.dd_k_rho * rho
        else:
            v = cfg.dd_k_rho * rho
        w = cfg.dd_k_alpha * alpha
    clip = lambda val, b: min(max(val, -b), b)  # noqa: E731
    return [clip(v, cfg.dd_v_bound), clip(w, cfg.dd_omega_bound)]


def outcome(system, s, steps, cfg):
    if system == "point_mass":
        goal = math.sqrt(s[0] ** 2 + s[1] ** 2) < cfg.goal_epsilon
        out_b = abs(s[0]) > cfg.boundary_limit
    else:
        goal = math.sqrt(s[0] ** 2 + s[1] ** 2) < cfg.dd_goal_position and abs(s[2]) < cfg.dd_goal_theta
        out_b = abs(s[0]) > cfg.boundary_limit or abs(s[1]) > cfg.boundary_limit
    if goal:
        return Outcome.GOAL
    if out_b:
        return Outcome.BOUNDARY
    if steps >= cfg.max_steps_per_episode:
        return Outcome.TIMEOUT
    return Outcome.RUNNING


# -- pendulum (o: envs.pendulum.PendulumOptions) ---------------------------------------------------------
def pend_derivatives(o):
    def f(s, a):
        return [s[1], o.gravity / o.length * math.sin(s[0]) + (a[0] - o.damping * s[1]) / (o.mass * o.length ** 2)]

    return f


def pend_rk4(o, s, a, h):
    out = rk4(pend_derivatives(o), s, a, h)
    return [_wrap(out[0]), out[1]]


def pend_reward(o, s, a):
    return -(o.angle_cost * s[0] ** 2 + o.velocity_cost * s[1] ** 2 + o.torque_cost * a[0] ** 2)


def pend_nominal(o, s):
    th, w = s
    energy = 0.5 * o.mass * o.length ** 2 * w * w + o.mass * o.gravity * o.length * (math.cos(th) - 1.0)
    if abs(th) < o.handover_angle and abs(w) < o.handover_rate:
        u = -o.pd_kp * th - o.pd_kd * w
    else:
        u = -o.energy_gain * energy * (1.0 if w >= 0 else -1.0)
    return [min(max(u, -o.torque_bound), o.torque_bound)]


def pend_outcome(s, steps, cfg):
    if math.sqrt(s[0] ** 2 + s[1] ** 2) < cfg.goal_epsilon:
        return Outcome.GOAL
    if abs(s[1]) > cfg.boundary_limit:
        return Outcome.BOUNDARY
    if steps >= cfg.max_steps_per_episode:
        return Outcome.TIMEOUT
    return Outcome.RUNNING
