"""The inverted pendulum: dynamics, rewards, nominal policy and outcomes against scalar oracles, the wrap
at the seam (theta = +-pi), the swing-up from hand-picked starts, its defaults, and the critic surface,
heights and trails over (theta, omega) with the seam handled."""
import math

import numpy as np
import pytest
from panda3d.core import NodePath

from components import AgentTable
from components.critic_surface import CriticSurface
from config import build_config
from config.loader import load_config
from envs import Environment, Outcome, make_environment
from render.trail_mesh import BatchedTrailMesh
from render.vertex_arrays import read_indices, read_positions
from runtime.build import build_world
from systems.height import bilinear_loop
from systems.trails import MARKER_LIFT, TrailChanges
from tests import oracles
from tests.view_worlds import view_world


def pendulum_config(**env):
    return build_config(overrides={"env": {"system": "pendulum", **env}})


def random_batch(env, rng, n):
    s = np.stack([rng.uniform(-math.pi, math.pi, n), rng.uniform(-12.0, 12.0, n)], axis=1)
    a = env.clip_actions(rng.uniform(-1.5, 1.5, (n, 1)) * env.action_high)
    return s, a


def test_step_reward_nominal_and_outcomes_match_scalar_oracle():
    cfg = pendulum_config().env
    env = make_environment(cfg)
    o = env.options
    rng = np.random.default_rng(5)
    s, a = random_batch(env, rng, 3000)
    s[:40] *= 1e-2  # some inside the goal
    steps = rng.integers(0, cfg.max_steps_per_episode + 2, size=len(s))
    got = env.rk4_step(s.copy(), a)
    want = np.array([oracles.pend_rk4(o, list(si), list(ai), cfg.dt) for si, ai in zip(s, a)])
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    np.testing.assert_allclose(env.reward(s, a), [oracles.pend_reward(o, si, ai) for si, ai in zip(s, a)], atol=1e-12)
    np.testing.assert_allclose(env.nominal(s), [oracles.pend_nominal(o, si) for si in s], atol=1e-12)
    want_out = [oracles.pend_outcome(si, st, cfg) for si, st in zip(s, steps)]
    np.testing.assert_array_equal(env.outcomes(s, steps), want_out)
    assert {Outcome.GOAL, Outcome.BOUNDARY, Outcome.TIMEOUT, Outcome.RUNNING} <= set(want_out)


def test_physics_system_matches_the_per_agent_loop_over_many_steps():
    cfg = build_config(overrides={"env": {"system": "pendulum", "max_steps_per_episode": 120},
                                  "visual": {"agents": 20}, "run": {"seed": 4}, "training": {"policy": "nominal"}})
    world = build_world(cfg)
    world.schedule.disable("TrainingSystem")  # the nominal acts; no need to train on the side
    table = world.resource(AgentTable)
    o = make_environment(cfg.env).options
    ended = 0
    for _ in range(160):
        before, steps_before = table.state.copy(), table.episode_step.copy()
        world.step()
        for i in range(table.n):
            a = oracles.pend_nominal(o, list(before[i]))
            want = oracles.pend_rk4(o, list(before[i]), a, cfg.env.dt)
            np.testing.assert_allclose(table.next_state[i], want, atol=1e-6)
            np.testing.assert_allclose(table.reward[i], oracles.pend_reward(o, before[i], a) * cfg.env.reward_scale,
                                       atol=1e-9)
            out = oracles.pend_outcome(want, steps_before[i] + 1, cfg.env)
            assert table.outcome[i] == out
            ended += out != Outcome.RUNNING
    assert ended > 0
    assert np.all((table.state[:, 0] >= -math.pi) & (table.state[:, 0] < math.pi))
    world.shutdown()


def test_theta_wraps_at_the_seam_and_the_dynamics_do_not_see_it():
    env = make_environment(pendulum_config().env)
    a = np.zeros((2, 1))
    s = np.array([[math.pi - 0.002, 1.0], [-math.pi + 0.002, -1.0]])
    got = env.rk4_step(s.copy(), a)
    assert -math.pi <= got[0, 0] < -math.pi + 0.02 and math.pi - 0.02 < got[1, 0] < math.pi  # across the seam
    raw = [oracles.rk4(oracles.pend_derivatives(env.options), list(si), [0.0], env.dt) for si in s]
    np.testing.assert_allclose(got[0], [raw[0][0] - 2 * math.pi, raw[0][1]], atol=1e-12)
    np.testing.assert_allclose(got[1], [raw[1][0] + 2 * math.pi, raw[1][1]], atol=1e-12)
    # the same physical state written either side of the seam steps to the same state
    d = 0.3
    left = env.rk4_step(np.array([[math.pi + d, 2.0]]), np.ones((1, 1)))
    right = env.rk4_step(np.array([[-math.pi + d, 2.0]]), np.ones((1, 1)))
    np.testing.assert_allclose(left, right, atol=1e-12)


HAND_PICKED = [
    (math.pi, 0.0),  # hanging still: the pump starts from rest
    (-math.pi, 0.0),
    (math.pi - 0.01, 0.0),
    (2.0, -1.0),
    (-1.0, 3.0),
    (0.3, 1.5),  # near upright, falling
    (0.0, 6.0),  # upright but spinning: must shed energy first
    (-2.8, 0.9),
]


@pytest.mark.parametrize("start", HAND_PICKED)
def test_nominal_swings_up_within_the_quick_budget_and_stays_upright(start):
    cfg = build_config(train_preset="quick", overrides={"env": {"system": "pendulum"}}).env
    env = make_environment(cfg)
    s = np.array([start], dtype=np.float64)
    norms = []
    for _ in range(2 * cfg.max_steps_per_episode):  # beyond the budget, without stopping at the goal
        s = env.rk4_step(s, env.nominal(s))
        assert abs(s[0, 1]) <= cfg.boundary_limit
        norms.append(float(np.hypot(*s[0])))
    norms = np.array(norms)
    first = int(np.argmax(norms < cfg.goal_epsilon))
    assert norms[first] < cfg.goal_epsilon and first < cfg.max_steps_per_episode, f"not upright in budget: {start}"
    assert norms[first:].max() < cfg.goal_epsilon, f"left the goal after reaching it: {start}"
    assert norms[-1] < 1e-3


def test_its_defaults_sit_under_presets_files_and_flags(tmp_path):
    c = pendulum_config()
    assert (c.env.boundary_limit, c.env.reward_scale, c.env.goal_epsilon, c.env.reset_range) == (10.0, 2.5, 0.1, 1.0)
    budgets = {p: build_config(train_preset=p, overrides={"env": {"system": "pendulum"}}).env.max_steps_per_episode
               for p in ("quick", "standard", "thorough")}
    assert budgets == {"quick": 800, "standard": 1000, "thorough": 1500}
    assert build_config(train_preset="quick").env.max_steps_per_episode == 500  # other environments keep theirs
    assert pendulum_config(reward_scale=4.0).env.reward_scale == 4.0
    f = tmp_path / "p.toml"
    f.write_text("[env]\nsystem = 'pendulum'\nmax_steps_per_episode = 123\n[env.options]\ntorque_bound = 2.0\n")
    c = load_config(f, train_preset="thorough")
    assert c.env.max_steps_per_episode == 123 and c.env.options == {"torque_bound": 2.0}
    assert make_environment(c.env).action_high.tolist() == [2.0]


def test_surface_spans_theta_and_omega_and_heights_follow_the_surface_coordinates():
    world = view_world(agents=12, env={"system": "pendulum"})
    world.step()
    env = world.resource(Environment)
    surface = world.resource(CriticSurface)
    assert (surface.lo, surface.hi) == (-5.0, 5.0)
    a, b = surface.grid_points()
    states = env.surface_state(a.ravel(), b.ravel())
    assert states[:, 0].min() == -math.pi and states[:, 0].max() == math.pi
    np.testing.assert_allclose([states[:, 1].min(), states[:, 1].max()], [-10.0, 10.0])
    table = world.resource(AgentTable)
    x, z = env.surface_coords(table.state)
    np.testing.assert_allclose(x, table.state[:, 0] * 5.0 / math.pi)
    np.testing.assert_allclose(z, table.state[:, 1] * 5.0 / 10.0)
    np.testing.assert_allclose(table.height, bilinear_loop(surface.heights, surface.lo, surface.hi, x, z), atol=1e-9)
    world.shutdown()


def test_trails_never_draw_across_the_seam():
    L = 60
    world = view_world(agents=24, seed=11, env={"system": "pendulum", "max_steps_per_episode": 400},
                       visual={"trail_max_length": L})
    table = world.resource(AgentTable)
    mesh = BatchedTrailMesh(NodePath("test-root"), L)
    trails: dict[int, list] = {}  # oracle: entity -> surface points, restarted at respawn and at the seam
    crossings = 0
    for _ in range(250):
        world.step()
        mesh.sync(table, world.resource(TrailChanges))
        for r in range(table.n):
            e = int(table.entity[r])
            trail = trails.setdefault(e, [])
            x, z = table.state[r, 0] * 5.0 / math.pi, table.state[r, 1] * 5.0 / 10.0
            if table.outcome[r] != 0:
                trail.clear()
            elif trail and abs(x - trail[-1][0]) > 5.0:
                trail.clear()
                crossings += 1
            trail.append((x, table.height[r] + MARKER_LIFT, z))
            del trail[: max(0, len(trail) - L)]
            n = int(table.trail_len[r])
            slots = (int(table.trail_head[r]) - n + np.arange(n)) % L
            np.testing.assert_allclose(table.trail_pos[r, slots], np.array(trail, dtype=np.float32), atol=1e-6)
        pairs = read_indices(mesh.prim).reshape(-1, 2).astype(np.int64)
        drawn = pairs[pairs[:, 0] != pairs[:, 1]]
        pos = read_positions(mesh.vdata)
        assert np.all(np.abs(pos[drawn[:, 0], 0] - pos[drawn[:, 1], 0]) < 1.0), "a segment crosses the surface"
    assert crossings > 10  # the swing-ups pass the hanging position (the seam) many times
    world.shutdown()


def test_the_pendulum_brings_its_own_dwell_under_what_the_user_chooses():
    """calf_defaults: the pendulum's filter keeps a 1 s dwell (its energy swing-up needs uninterrupted
    stretches); other environments keep the general default, and a file or --set still wins."""
    assert build_config(overrides={"env": {"system": "pendulum"}}).calf.fallback_dwell == 1.0
    assert build_config().calf.fallback_dwell == 0.0
    assert build_config(overrides={"env": {"system": "pendulum"}, "calf": {"fallback_dwell": 0.2}}).calf.fallback_dwell == 0.2
    assert build_config({"env": {"system": "pendulum"}, "calf": {"fallback_dwell": 0.0}}).calf.fallback_dwell == 0.0
