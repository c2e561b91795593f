"""The gymnasium bridge: gymnasium's environment checker for every environment, and the bridge stepped against
the batched environment directly (dynamics, rewards, termination vs truncation, same-step autoreset)."""
from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from config import SYSTEMS
from envs import Outcome, make_environment
from rl.gym_bridge import CalfEnv, CalfVectorEnv, environment_config

ALL = [*SYSTEMS, "examples.spring_mass:SpringMass"]

#: the checker's advice we do not take, on purpose: actions stay in physical units (as in the program),
#: and unbounded state components have infinite bounds; no environment spec (not in gymnasium's registry)
EXPECTED_WARNINGS = ("symmetric and normalized space", "observation space minimum value is -infinity",
                     "observation space maximum value is infinity", "not having a spec")


@pytest.mark.parametrize("system", ALL)
def test_gymnasium_checker_passes(system):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(CalfEnv(system))
    unexpected = [str(w.message) for w in caught if not any(e in str(w.message) for e in EXPECTED_WARNINGS)]
    assert unexpected == []


def test_pendulum_observation_space_bounds_theta():
    env = CalfEnv("pendulum")
    assert env.observation_space.low.tolist() == [-np.pi, -np.inf]
    assert env.observation_space.high.tolist() == [np.pi, np.inf]
    assert env.action_space.high.tolist() == [3.0]


@pytest.mark.parametrize("system", SYSTEMS)
def test_vector_bridge_equals_stepping_the_batched_environment(system):
    cfg = environment_config(system, max_steps_per_episode=40)
    env = make_environment(cfg)
    n = 16
    vec = CalfVectorEnv(cfg, num_envs=n)
    rng = np.random.default_rng(3)
    obs, _ = vec.reset(seed=9)
    starts = obs.copy()
    starts[:3] *= 1e-3  # at the goal
    starts[3:6, env.position_axes[0]] = cfg.boundary_limit - 1e-3  # at the boundary
    obs, _ = vec.reset(options={"states": starts})
    np.testing.assert_array_equal(obs, starts)
    state = obs.copy()
    steps = np.zeros(n, dtype=np.int64)
    ended = {o: 0 for o in Outcome}
    for t in range(200):
        a = rng.uniform(-1.3, 1.3, (n, env.action_dim)) * env.action_high  # some beyond the bound: clipped
        if t % 3 == 0:
            a = env.nominal(state)  # reach the goal now and then
        obs, reward, terminated, truncated, info = vec.step(a)
        ca = env.clip_actions(a)
        want_next = env.rk4_step(state.copy(), ca)
        steps += 1
        want_out = env.outcomes(want_next, steps)
        np.testing.assert_allclose(reward, env.reward(state, ca) * cfg.reward_scale, atol=1e-12)
        if not want_out.all():
            np.testing.assert_array_equal(info["outcome"][info["_outcome"]], want_out[want_out == 0])
            assert info["_outcome"].tolist() == (want_out == 0).tolist()
        np.testing.assert_array_equal(terminated, np.isin(want_out, [Outcome.GOAL, Outcome.BOUNDARY]))
        np.testing.assert_array_equal(truncated, want_out == Outcome.TIMEOUT)
        done = want_out != Outcome.RUNNING
        np.testing.assert_array_equal(obs[~done], want_next[~done])
        if done.any():  # same-step autoreset: final_obs holds the end, obs the next episode's start
            assert info["_final_obs"].tolist() == done.tolist()
            np.testing.assert_array_equal(np.stack(info["final_obs"][done]), want_next[done])
            np.testing.assert_array_equal(info["final_info"]["outcome"][done], want_out[done])
            assert vec.observation_space.contains(obs)
        else:
            assert "final_obs" not in info
        for o in want_out[done]:
            ended[Outcome(o)] += 1
        state = obs.copy()
        steps[done] = 0
    assert ended[Outcome.TIMEOUT] > 0 and ended[Outcome.GOAL] + ended[Outcome.BOUNDARY] > 0


def test_single_env_is_one_row_of_the_batched_environment():
    cfg = environment_config("pendulum", max_steps_per_episode=30)
    env = make_environment(cfg)
    single = CalfEnv(cfg)
    obs, _ = single.reset(seed=1, options={"state": [3.0, 0.5]})
    state = np.array([[3.0, 0.5]])
    for t in range(30):
        a = np.array([np.sin(t)]) * 2.0
        obs, reward, terminated, truncated, info = single.step(a)
        want = env.rk4_step(state.copy(), a[None, :])
        assert reward == pytest.approx(float(env.reward(state, a[None, :])[0] * cfg.reward_scale), abs=1e-12)
        np.testing.assert_array_equal(obs, want[0])
        state = want
    assert truncated and not terminated and info["outcome"] == Outcome.TIMEOUT


def test_same_step_autoreset_reports_like_gymnasiums_own_vector_env():
    """Our batched autoreset hands out the same info layout as gymnasium's SyncVectorEnv in SAME_STEP mode."""
    cfg = environment_config("point_mass", max_steps_per_episode=5)
    ours = CalfVectorEnv(cfg, num_envs=3)
    ref = SyncVectorEnv([lambda: CalfEnv(cfg) for _ in range(3)], autoreset_mode=AutoresetMode.SAME_STEP)
    assert ours.metadata["autoreset_mode"] == ref.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    starts = np.array([[1.0, 0.0], [-1.5, 0.5], [0.5, -0.5]])
    ours.reset(options={"states": starts})
    ref.reset(seed=0)
    for i, e in enumerate(ref.envs):
        e.reset(options={"state": starts[i]})
    ref._env_obs = list(starts)  # the reference env's batch starts from the same states
    for _ in range(5):
        a = np.zeros((3, 1))
        o1, r1, te1, tr1, i1 = ours.step(a)
        o2, r2, te2, tr2, i2 = ref.step(a)
        np.testing.assert_allclose(r1, r2, atol=1e-12)
        assert te1.tolist() == te2.tolist() and tr1.tolist() == tr2.tolist()
    assert tr1.all()
    assert set(i1) == set(i2) and set(i1["final_info"]) == set(i2["final_info"])
    assert i1["final_obs"].dtype == i2["final_obs"].dtype == object
    for a, b in zip(i1["final_obs"], i2["final_obs"]):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert i1["_final_obs"].tolist() == i2["_final_obs"].tolist()


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        CalfVectorEnv("pendulum", num_envs=0)
    vec = CalfVectorEnv("pendulum", num_envs=2)
    with pytest.raises(RuntimeError, match="reset"):
        vec.step(np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"options\['states'\] must have shape \(2, 2\)"):
        vec.reset(options={"states": np.zeros((3, 2))})
    assert isinstance(CalfEnv("pendulum"), gym.Env)


def test_the_docs_bridge_snippet_runs_as_written():
    """docs/EXTENDING.md's gymnasium example, with the doc's placeholder package replaced by the shipped example."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "EXTENDING.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", doc, flags=re.S) if "gym_bridge" in b)
    scope: dict = {}
    exec(block.replace("mylab.cart:Cart", "examples.spring_mass:SpringMass"), scope)  # noqa: S102
    vec = scope["vec"]
    assert vec.num_envs == 64 and scope["cfg"].max_steps_per_episode == 800
    obs, _ = vec.reset(seed=0)
    assert vec.step(np.zeros((64, 1)))[0].shape == (64, 2)


def test_the_single_env_refuses_a_step_before_reset_non_finite_actions_and_starts_outside_its_space():
    env = CalfEnv("pendulum")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(np.zeros(1))
    env.reset(seed=0)
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="actions must be finite"):
            env.step(np.array([bad]))
    for start, fragment in (([10.0, 0.0], "must lie in the observation space"), ([np.nan, 0.0], "must be finite"),
                            ([0.0], "must have shape")):
        with pytest.raises(ValueError, match=fragment):
            env.reset(options={"state": start})
    obs, _ = env.reset(options={"state": [3.0, 1.0]})
    assert env.observation_space.contains(obs)


def test_the_single_env_refuses_a_step_after_its_episode_ended_until_reset():
    env = CalfEnv("point_mass")
    env.reset(options={"state": [0.0, 0.0]})  # at the goal: the first step ends the episode
    *_, terminated, truncated, info = env.step(np.zeros(env.action_space.shape))
    assert terminated and not truncated
    with pytest.raises(RuntimeError, match="has ended"):
        env.step(np.zeros(env.action_space.shape))
    env.reset(seed=1)
    env.step(np.zeros(env.action_space.shape))


def test_the_vector_env_names_the_rows_of_non_finite_actions_and_refuses_starts_outside_its_space():
    env = CalfVectorEnv("pendulum", 3)
    env.reset(seed=0)
    a = np.zeros((3, 1))
    a[1] = np.nan
    with pytest.raises(ValueError, match=r"rows 1\)"):
        env.step(a)
    with pytest.raises(ValueError, match="must lie in the observation space"):
        env.reset(options={"states": [[0.0, 0.0], [7.0, 0.0], [0.0, 0.0]]})


def test_a_step_whose_dynamics_go_non_finite_hands_out_the_state_it_started_from():
    from envs.base import Outcome
    from envs.point_mass import PointMass

    class Diverging(PointMass):
        def derivatives(self, states, actions, out=None):
            out = super().derivatives(states, actions, out)
            out[:] = np.inf
            return out

    env = CalfEnv(Diverging(environment_config("point_mass")))
    start, _ = env.reset(options={"state": [1.0, 0.5]})
    obs, reward, terminated, truncated, info = env.step(np.zeros(1))
    assert terminated and reward == 0.0 and info["outcome"] == Outcome.NONFINITE
    assert np.array_equal(obs, start) and env.observation_space.contains(obs)
