"""PhysicsSystem and the environments against scalar per-agent oracles."""
import math

import numpy as np
import pytest

from components import AgentTable
from config import EnvConfig, build_config
from envs import Outcome, make_environment
from runtime.build import build_world
from tests import oracles

SYSTEMS = ["point_mass", "differential_drive"]


def random_batch(env, rng, n):
    lim = env.cfg.boundary_limit * 1.2
    s = rng.uniform(-lim, lim, size=(n, env.state_dim))
    if env.name == "differential_drive":
        s[:, 2] = rng.uniform(-math.pi, math.pi, n)
    a = rng.uniform(env.action_low * 1.5, env.action_high * 1.5, size=(n, env.action_dim))
    return s, env.clip_actions(a)


@pytest.mark.parametrize("system", SYSTEMS)
def test_rk4_matches_scalar_loop(system):
    env = make_environment(EnvConfig(system=system))
    rng = np.random.default_rng(1)
    s, a = random_batch(env, rng, 2000)
    got = env.rk4_step(s.copy(), a)
    f = oracles.pm_derivatives if system == "point_mass" else oracles.dd_derivatives
    want = np.array([oracles.rk4(f, list(si), list(ai), env.dt, system != "point_mass") for si, ai in zip(s, a)])
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)


@pytest.mark.parametrize("system", SYSTEMS)
def test_reward_nominal_and_outcomes_match_scalar_loop(system):
    cfg = EnvConfig(system=system)
    env = make_environment(cfg)
    rng = np.random.default_rng(2)
    s, a = random_batch(env, rng, 3000)
    s[:50] *= 1e-3  # some inside the goal
    steps = rng.integers(0, cfg.max_steps_per_episode + 2, size=len(s))
    pm = system == "point_mass"
    want_r = [(oracles.pm_reward if pm else oracles.dd_reward)(si, ai) for si, ai in zip(s, a)]
    want_nom = [(oracles.pm_nominal if pm else oracles.dd_nominal)(si, cfg) for si in s]
    want_out = [oracles.outcome(system, si, st, cfg) for si, st in zip(s, steps)]
    np.testing.assert_allclose(env.reward(s, a), want_r, atol=1e-12)
    np.testing.assert_allclose(env.nominal(s), want_nom, atol=1e-12)
    np.testing.assert_array_equal(env.outcomes(s, steps), want_out)
    assert {Outcome.GOAL, Outcome.BOUNDARY, Outcome.TIMEOUT, Outcome.RUNNING} <= set(want_out)


@pytest.mark.parametrize("system", SYSTEMS)
def test_physics_system_equals_per_agent_loop_over_many_steps(system):
    # every agent acts with the nominal policy, so the oracle knows the actions
    cfg = build_config(overrides={"env": {"system": system}, "visual": {"agents": 40}, "run": {"seed": 3},
                                  "training": {"policy": "nominal"}})
    world = build_world(cfg)
    table = world.resource(AgentTable)
    env = make_environment(cfg.env)
    f = oracles.pm_derivatives if system == "point_mass" else oracles.dd_derivatives
    nominal = oracles.pm_nominal if system == "point_mass" else oracles.dd_nominal
    for _ in range(200):
        before = table.state.copy()
        steps_before = table.episode_step.copy()
        world.step()
        for i in range(table.n):
            a = nominal(list(before[i]), cfg.env)
            want = oracles.rk4(f, list(before[i]), a, cfg.env.dt, system != "point_mass")
            np.testing.assert_allclose(table.next_state[i], want, atol=1e-6)
            np.testing.assert_allclose(table.action[i], a, atol=1e-12)
            out = oracles.outcome(system, want, steps_before[i] + 1, cfg.env)
            assert table.outcome[i] == out
            if out == Outcome.RUNNING:
                np.testing.assert_allclose(table.state[i], want, atol=1e-6)
                assert table.episode_step[i] == steps_before[i] + 1
            else:
                assert table.episode_step[i] == 0
    world.shutdown()


def test_finished_agents_respawn_with_fresh_states_and_event():
    cfg = build_config(overrides={"visual": {"agents": 10}, "env": {"max_steps_per_episode": 5}})
    world = build_world(cfg)
    table = world.resource(AgentTable)
    ended = []
    world.events.subscribe("episodes_ended", lambda rows, out, ret, length: ended.append((rows, out, ret, length)))
    for _ in range(5):
        world.step()
    assert len(ended) == 1
    rows, out, ret, length = ended[0]
    assert list(rows) == list(range(table.n)) and (out == Outcome.TIMEOUT).all() and (length == 5).all()
    assert (ret < 0).all()
    assert (table.episode_step == 0).all() and (table.episode_return == 0).all()
    assert (np.abs(table.state) <= cfg.env.reset_range).all()
    assert not np.allclose(table.state, table.next_state)  # respawned, not continued
    world.shutdown()


def test_boundary_ends_an_episode():
    cfg = build_config(overrides={"visual": {"agents": 0}})
    world = build_world(cfg)
    table = world.resource(AgentTable)
    table.state[0] = (4.999, 50.0)
    world.step()
    assert table.outcome[0] == Outcome.BOUNDARY
    world.shutdown()


def test_pd_nominal_reaches_the_goal_from_every_start():
    """docs/PROBLEM.md: with kd = 2.0 every start in U(-2, 2)^2 reaches ||s|| < 0.05 within 750 steps."""
    env = make_environment(EnvConfig())
    s = env.sample_states(np.random.default_rng(0), 500)
    reached = np.zeros(len(s), bool)
    for _ in range(750):
        s = env.rk4_step(s, env.nominal(s))
        reached |= env.goal_reached(s)
    assert reached.all()


def test_theta_stays_wrapped():
    env = make_environment(EnvConfig(system="differential_drive"))
    s = np.array([[0.0, 0.0, math.pi - 1e-3]])
    for _ in range(100):
        s = env.rk4_step(s, np.array([[0.0, 2.0]]))
        assert -math.pi <= s[0, 2] < math.pi


def test_nonfinite_actions_or_states_respawn_and_are_counted():
    from components.resources import Counters
    from ecs import System

    class Poison(System):
        """Injects NaN and inf actions into two rows, as a diverging actor would."""

        def process(self, world, dt):
            t = world.resource(AgentTable)
            t.action[1] = np.nan
            t.action[2] = np.inf

    cfg = build_config(overrides={"visual": {"agents": 5}})
    world = build_world(cfg)
    world.add_system(Poison(), after="ControlSystem")
    table = world.resource(AgentTable)
    ended = []
    world.events.subscribe("episodes_ended", lambda rows, out, ret, ln: ended.append((rows.copy(), out.copy(), ret)))
    for _ in range(3):
        world.step()
        assert np.isfinite(table.state).all() and np.isfinite(table.episode_return).all()
        assert np.isfinite(table.reward).all()
    assert world.resource(Counters).get("nonfinite_agents") == 6
    for rows, out, ret in ended:
        assert set(rows[out == Outcome.NONFINITE]) == {1, 2} and np.isfinite(ret).all()
    world.shutdown()
