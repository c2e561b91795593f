"""rl.optimal_control on the pendulum: the batched predicted cost against a scalar per-step oracle, the MPC
within the torque bound and the same for a batch as for each start alone, never planning above the nominal's
own plan, the grid interpolation, the tabulated cost-to-go against the evaluation's rollout, value iteration
as a fixed point of a loop-computed Bellman backup, the greedy choice, and bad input refused."""
from __future__ import annotations

import math

import numpy as np
import pytest

from config import build_config
from rl.evaluation import NominalPolicy, rollout
from envs import make_environment
from rl.optimal_control import (GreedyPolicy, ShootingMPC, ShootingParams, StateGrid, held_cost, policy_cost_to_go,
                                value_iteration)
from tests import oracles


def pendulum(**env):
    cfg = build_config(overrides={"env": {"system": "pendulum", **env}})
    return make_environment(cfg.env)


@pytest.fixture(scope="module")
def env():
    return pendulum()


def oracle_held_cost(env, start, controls, penalty):
    """One row, one step at a time, with the scalar pendulum oracles."""
    o, cfg = env.options, env.cfg
    s = list(start)
    cost, running, applied = 0.0, True, []
    for u in controls:
        u = oracles.pend_nominal(o, s) if np.isnan(u).any() else [float(u[0])]
        u = [min(max(u[0], -o.torque_bound), o.torque_bound)]
        applied.append(u)
        if running:
            cost -= cfg.reward_scale * oracles.pend_reward(o, s, u)
        s = oracles.pend_rk4(o, s, u, cfg.dt)
        crossed = abs(s[1]) > cfg.boundary_limit
        if running and crossed:
            cost += penalty
        if math.hypot(*s) < cfg.goal_epsilon or crossed:
            running = False
    return cost, np.array(applied), np.array(s), running


def test_held_cost_matches_a_scalar_per_step_oracle(env):
    rng = np.random.default_rng(3)
    starts = np.array([[math.pi - 0.1, 0.0], [0.08, -0.09], [0.3, 9.6], [-1.0, 0.5], [2.0, -3.0], [0.05, 0.0]])
    controls = rng.uniform(-5.0, 5.0, (len(starts), 60, 1))  # beyond the bound: clipped
    controls[1] = np.nan  # the nominal acts: it reaches the goal within the horizon
    controls[2] = 3.0  # pushed on past the boundary
    controls[3, 10:] = np.nan  # the nominal takes over part way
    cost, applied, final, running = held_cost(env, starts, controls, boundary_penalty=500.0)
    for i, st in enumerate(starts):
        c, a, f, r = oracle_held_cost(env, st, controls[i], 500.0)
        assert cost[i] == pytest.approx(c, rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(applied[i], a, atol=1e-12)
        np.testing.assert_allclose(final[i], f, atol=1e-9)
        assert running[i] == r
    assert not running[1] and not running[2] and running[0]  # goal, boundary, neither
    assert cost[2] > 500.0


def test_held_cost_refuses_controls_of_the_wrong_shape(env):
    with pytest.raises(ValueError, match="controls must have shape"):
        held_cost(env, np.zeros((3, 2)), np.zeros((2, 5, 1)))


def run_policy(env, policy, starts, steps):
    s = np.array(starts, dtype=np.float64)
    policy.reset(len(s))
    actions = []
    for _ in range(steps):
        a, _ = policy.act(s)
        actions.append(a.copy())
        s = env.rk4_step(s, a)
    return np.array(actions)


def quadratic_terminal(x):
    return 40.0 * np.einsum("ij,ij->i", x, x)


SMALL = ShootingParams(horizon=10, hold=5, samples=8, iterations=2, elites=2, seed=11)


def test_mpc_stays_in_the_bound_and_a_batch_acts_as_each_start_alone(env):
    starts = np.array([[math.pi - 0.05, 0.3], [0.4, -1.5], [0.02, 0.03], [-2.0, 0.8]])  # the third is in the goal
    batch = run_policy(env, ShootingMPC(env, SMALL, terminal=quadratic_terminal), starts, 23)
    bound = env.options.torque_bound
    assert np.abs(batch).max() <= bound + 1e-12
    assert np.abs(batch).max() == pytest.approx(bound)  # it does use the whole range
    for i, st in enumerate(starts):
        alone = run_policy(env, ShootingMPC(env, SMALL, terminal=quadratic_terminal), st[None], 23)
        np.testing.assert_allclose(batch[:, i], alone[:, 0], rtol=0, atol=1e-9)
    # the start in the goal: its episode is over, the nominal policy holds it
    s = starts[2:3].copy()
    for t in range(3):
        np.testing.assert_allclose(batch[t, 2], env.nominal(s)[0], atol=1e-12)
        s = env.rk4_step(s, batch[t, 2:3])


def test_mpc_plans_never_cost_more_than_the_nominal_acting_alone(env):
    rng = np.random.default_rng(8)
    starts = np.stack([rng.uniform(-math.pi, math.pi, 12), rng.uniform(-2.0, 2.0, 12)], axis=1)
    policy = ShootingMPC(env, SMALL, terminal=quadratic_terminal)
    policy.reset(len(starts))
    a, _ = policy.act(starts)
    nominal = np.full((len(starts), SMALL.horizon, 1), np.nan)
    cost, applied, final, running = held_cost(env, starts, nominal, boundary_penalty=SMALL.boundary_penalty)
    cost[running] += quadratic_terminal(final[running])
    assert np.all(policy.planned_cost <= cost + 1e-9)
    assert np.any(policy.planned_cost < cost - 1.0)  # and the search finds cheaper plans
    assert policy.model_steps == len(starts) * (2 + SMALL.samples * SMALL.iterations) * SMALL.horizon


def test_mpc_refuses_a_batch_of_another_size(env):
    policy = ShootingMPC(env, SMALL)
    policy.reset(3)
    with pytest.raises(ValueError, match="act got 2 states after reset\\(3\\)"):
        policy.act(np.zeros((2, 2)))


@pytest.mark.parametrize("kwargs, message", [
    ({"horizon": 12, "hold": 5}, "horizon \\(12\\) must be a multiple of hold \\(5\\)"),
    ({"samples": 4, "elites": 5}, "elites \\(5\\) cannot exceed samples \\(4\\)"),
    ({"samples": 0}, "samples must be >= 1"),
])
def test_shooting_params_refuse_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShootingParams(**kwargs)


def test_grid_interpolates_bilinearly_wraps_theta_and_clamps_omega(env):
    grid = StateGrid(env, (8, 5))
    assert grid.axes[0][0] == -math.pi and grid.axes[0][-1] < math.pi  # the seam once
    np.testing.assert_allclose(grid.axes[1], np.linspace(-10, 10, 5))
    nodes = grid.nodes()
    values = np.random.default_rng(1).normal(size=grid.size)
    from rl.optimal_control import GridValue

    table = GridValue(grid, values)
    np.testing.assert_allclose(table(nodes), values, atol=1e-12)  # exact on nodes
    # linear in omega: reproduced exactly between nodes and clamped beyond the edge
    linear = GridValue(grid, 3.0 * nodes[:, 1] + 1.0)
    probe = np.array([[0.3, -7.3], [1.1, 2.5], [-2.9, 9.99], [0.0, 14.0], [0.0, -30.0]])
    np.testing.assert_allclose(linear(probe), [3 * -7.3 + 1, 3 * 2.5 + 1, 3 * 9.99 + 1, 31.0, -29.0], atol=1e-9)
    # across the seam: halfway between the last theta node and the first (= pi)
    last, first = values.reshape(8, 5)[-1, 2], values.reshape(8, 5)[0, 2]
    mid = (grid.axes[0][-1] + math.pi) / 2
    assert table(np.array([[mid, 0.0]]))[0] == pytest.approx((last + first) / 2)
    assert table(np.array([[math.pi, 0.0]]))[0] == pytest.approx(first)


def test_grid_refuses_states_it_cannot_cover():
    drive = make_environment(build_config(overrides={"env": {"system": "differential_drive"}}).env)
    with pytest.raises(ValueError, match="two-dimensional state"):
        StateGrid(drive, (4, 4))
    with pytest.raises(ValueError, match="at least 2"):
        StateGrid(pendulum(), (1, 4))


def test_nominal_cost_to_go_on_nodes_is_the_evaluation_return(env):
    grid = StateGrid(env, (12, 9), bounds={1: (-6.0, 6.0)})
    table = policy_cost_to_go(env, grid, max_steps=env.cfg.max_steps_per_episode, boundary_penalty=0.0)
    res = rollout(env, NominalPolicy(env), grid.nodes(), env.cfg.max_steps_per_episode)
    assert table.info["unfinished"] == int(np.sum(res.outcomes == 3))
    reached = res.outcomes == 1
    assert reached.mean() > 0.9
    np.testing.assert_allclose(table.values[reached], -res.returns[reached], rtol=1e-12, atol=1e-9)


def oracle_bilinear(grid, values, s):
    """Bilinear interpolation written out for one state (theta periodic, omega clamped)."""
    nt, nw = grid.shape
    v = values.reshape(nt, nw)
    ft = (s[0] + math.pi) / (2 * math.pi / nt)
    i = math.floor(ft)
    a = ft - i
    w_lo, w_hi = grid.axes[1][0], grid.axes[1][-1]
    fw = (min(max(s[1], w_lo), w_hi) - w_lo) / ((w_hi - w_lo) / (nw - 1))
    j = min(math.floor(fw), nw - 2)
    b = fw - j
    i0, i1 = i % nt, (i + 1) % nt
    return ((1 - a) * (1 - b) * v[i0, j] + (1 - a) * b * v[i0, j + 1] + a * (1 - b) * v[i1, j]
            + a * b * v[i1, j + 1])


def test_value_iteration_is_a_fixed_point_of_the_bellman_backup(env):
    grid = StateGrid(env, (36, 21))
    levels = np.array([-3.0, 0.0, 3.0])
    value = value_iteration(env, grid, levels, hold=4, boundary_penalty=1e3, tol=1e-9)
    assert value.info["residual"] <= 1e-9
    nodes = grid.nodes()
    assert np.all(value.values[env.goal_reached(nodes)] == 0.0) and np.all(value.values >= 0.0)
    for k in np.random.default_rng(2).choice(grid.size, 25, replace=False):
        if env.goal_reached(nodes[k:k + 1])[0]:
            continue
        backups = []
        for u in levels:
            c, _, f, running = oracle_held_cost(env, nodes[k], np.full((4, 1), u), 1e3)
            backups.append(c + (oracle_bilinear(grid, value.values, f) if running else 0.0))
        assert value.values[k] == pytest.approx(min(backups), rel=1e-9, abs=1e-6)


def test_greedy_policy_takes_the_cheapest_level_and_hands_over_in_the_goal(env):
    levels = np.array([-3.0, -1.0, 1.0, 3.0])
    policy = GreedyPolicy(env, quadratic_terminal, levels, hold=3)
    states = np.array([[2.5, 0.4], [-0.6, 1.2], [0.01, -0.02], [-3.0, -0.1]])
    a, _ = policy.act(states)
    for i, s in enumerate(states):
        if env.goal_reached(states[i:i + 1])[0]:
            np.testing.assert_allclose(a[i], env.nominal(states[i:i + 1])[0])
            continue
        q = []
        for u in levels:
            c, _, f, running = oracle_held_cost(env, s, np.full((3, 1), u), 1e4)
            q.append(c + (quadratic_terminal(f[None])[0] if running else 0.0))
        assert a[i, 0] == levels[int(np.argmin(q))]
