"""Every batched environment as a gymnasium `VectorEnv` and as a single `gymnasium.Env`.

Both step the very functions the program steps (`Environment.rk4_step`, `reward`, `outcomes`),
so an agent trained here (Stable-Baselines3's TD3, say) meets the same dynamics, rewards, episode
ends and start distribution as ours. Needs the optional `gymnasium` package (the `gym` extra).

Episode ends, as gymnasium splits them:
- terminated: the goal, the boundary, or a non-finite state or action (`Outcome.NONFINITE`, reward 0);
- truncated: the step budget (`env.max_steps_per_episode`) ran out (`Outcome.TIMEOUT`).
`info["outcome"]` holds the `envs.Outcome` of the step (0 = running) for `CalfEnv`.

The vector environment resets finished rows in the same step, like the program's PhysicsSystem
(`metadata["autoreset_mode"] = AutoresetMode.SAME_STEP`): the observation returned for such a
row is already its next episode's first state; the state it ended in is `info["final_obs"][i]`
(with `info["_final_obs"][i]` True), and its outcome `info["final_info"]["outcome"][i]`; as in
gymnasium's own vector environments, the top-level info of a reset row is its reset's (empty), so
`info["outcome"]` covers the rows that go on (`info["_outcome"]`).

Observations are the state as float64 in `Environment.state_bounds()`, always inside the
observation space: a step whose dynamics give a non-finite state ends the episode (`NONFINITE`)
and returns the state it started from. Actions are float64 in [-action_bound, action_bound] and
are clipped to it, as the program clips every action it applies; a NaN or inf action is a
ValueError (there is nothing to clip it to), and so is a start state given to `reset` that is not
finite or lies outside the observation space. `step` before the first `reset` is a RuntimeError.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from config.schema import EnvConfig
from envs.base import Environment, Outcome
from envs.registry import make_environment

TERMINAL = (Outcome.GOAL, Outcome.BOUNDARY, Outcome.NONFINITE)


def environment_config(system: str = "point_mass", train_preset: str = "standard", **env: Any) -> EnvConfig:
    """The `[env]` section a run of `system` with this training preset would use (with the
    environment's own defaults), plus any `env` keys given."""
    from config.loader import build_config

    return build_config(train_preset=train_preset, overrides={"env": {"system": system, **env}}).env


def _build(env: Environment | EnvConfig | str) -> Environment:
    if isinstance(env, Environment):
        return env
    if isinstance(env, str):
        env = environment_config(env)
    return make_environment(env, check=True)


def _spaces(env: Environment) -> tuple[spaces.Box, spaces.Box]:
    low, high = env.state_bounds()
    obs = spaces.Box(low=np.asarray(low, np.float64), high=np.asarray(high, np.float64), dtype=np.float64)
    act = spaces.Box(low=env.action_low.astype(np.float64), high=env.action_high.astype(np.float64), dtype=np.float64)
    return obs, act


class BatchStepper:
    """One step of many rows: the program's physics step without the ECS (shared by both bridges)."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.scale = env.cfg.reward_scale
        self.budget = env.cfg.max_steps_per_episode

    def step(self, states: np.ndarray, actions: np.ndarray, steps: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(next states, scaled rewards, outcomes); `steps` (the rows' step counts) is advanced in place."""
        a = self.env.clip_actions(actions)
        with np.errstate(invalid="ignore", over="ignore"):
            nxt = self.env.rk4_step(states, a)  # a new array: `states` is left as it was
            reward = self.env.reward(states, a) * self.scale
        steps += 1
        bad = ~(np.isfinite(nxt).all(axis=1) & np.isfinite(reward) & np.isfinite(a).all(axis=1))
        reward[bad] = 0.0
        outcome = self.env.outcomes(nxt, steps)
        outcome[bad] = Outcome.NONFINITE
        return nxt, reward, outcome


def _finite_actions(a: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        where = "" if len(a) == 1 else f" (rows {', '.join(map(str, rows[:8].tolist()))}{', ...' if len(rows) > 8 else ''})"
        raise ValueError(f"actions must be finite: NaN or inf in the action{where}")
    return a


def _start_states(value: Any, shape: tuple[int, ...], space: spaces.Box, what: str) -> np.ndarray:
    starts = np.array(value, dtype=np.float64)
    if starts.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {starts.shape}")
    rows = starts.reshape(-1, shape[-1])
    if not np.isfinite(rows).all():
        raise ValueError(f"{what} must be finite, got NaN or inf")
    outside = ~((rows >= space.low) & (rows <= space.high)).all(axis=1)
    if outside.any():
        raise ValueError(f"{what} must lie in the observation space [{space.low.tolist()}, {space.high.tolist()}]; "
                         f"{rows[outside][0].tolist()} does not")
    return starts


def _observable(nxt: np.ndarray, before: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """The states to hand out: a row whose step went non-finite keeps the state it started from."""
    bad = outcome == Outcome.NONFINITE
    if bad.any():
        nxt = nxt.copy()
        nxt[bad] = before[bad]
    return nxt


def _split(outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    terminated = np.isin(outcome, TERMINAL)
    return terminated, (outcome == Outcome.TIMEOUT) & ~terminated


class CalfVectorEnv(VectorEnv):
    """`num_envs` rows of one batched environment, stepped in one vectorised pass (same-step autoreset)."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, env: Environment | EnvConfig | str = "point_mass", num_envs: int = 1) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.env = _build(env)
        self.num_envs = num_envs
        self.single_observation_space, self.single_action_space = _spaces(self.env)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._stepper = BatchStepper(self.env)
        self._states = np.zeros((num_envs, self.env.state_dim))
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """New episodes for every row; `options={"states": array (num_envs, state_dim)}` starts them there."""
        if seed is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
        starts = (options or {}).get("states")
        if starts is None:
            self._states = self.env.sample_states(self.np_random, self.num_envs).astype(np.float64)
        else:
            self._states = _start_states(starts, (self.num_envs, self.env.state_dim), self.single_observation_space,
                                         "options['states']")
        self._steps[:] = 0
        self._needs_reset = False
        return self._states.copy(), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._needs_reset:
            raise RuntimeError("call reset() before step(): the episode has not started or has ended")
        a = _finite_actions(np.asarray(actions, dtype=np.float64).reshape(self.num_envs, self.env.action_dim))
        nxt, reward, outcome = self._stepper.step(self._states, a, self._steps)
        nxt = _observable(nxt, self._states, outcome)
        terminated, truncated = _split(outcome)
        ended = terminated | truncated
        done = np.flatnonzero(ended)
        infos: dict[str, Any] = {}
        if done.size < self.num_envs:  # rows that go on; a reset row's info is its reset's (empty)
            infos.update(outcome=np.where(ended, 0, outcome).astype(outcome.dtype), _outcome=~ended)
        self._states = nxt
        if done.size:
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in done:  # one small array per finished row, as gymnasium's vector envs hand them out
                final_obs[i] = nxt[i].copy()
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[done] = True
            final_outcome = np.zeros(self.num_envs, dtype=outcome.dtype)
            final_outcome[done] = outcome[done]
            infos.update(final_obs=final_obs, _final_obs=mask,
                         final_info={"outcome": final_outcome, "_outcome": mask.copy()}, _final_info=mask.copy())
            self._states[done] = self.env.sample_states(self.np_random, done.size)
            self._steps[done] = 0
        return self._states.copy(), reward, terminated, truncated, infos


class CalfEnv(gym.Env):
    """One row of a batched environment as a plain gymnasium environment (no autoreset)."""

    metadata = {"render_modes": []}

    def __init__(self, env: Environment | EnvConfig | str = "point_mass") -> None:
        self.env = _build(env)
        self.observation_space, self.action_space = _spaces(self.env)
        self._stepper = BatchStepper(self.env)
        self._state = np.zeros((1, self.env.state_dim))
        self._steps = np.zeros(1, dtype=np.int64)
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """A new episode; `options={"state": array (state_dim,)}` starts it there."""
        super().reset(seed=seed)
        start = (options or {}).get("state")
        if start is None:
            self._state = self.env.sample_states(self.np_random, 1).astype(np.float64)
        else:
            start = _start_states(start, (self.env.state_dim,), self.observation_space, "options['state']")
            self._state = start[None, :]
        self._steps[:] = 0
        self._needs_reset = False
        return self._state[0].copy(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise RuntimeError("call reset() before step(): the episode has not started or has ended")
        a = _finite_actions(np.asarray(action, dtype=np.float64).reshape(1, self.env.action_dim))
        nxt, reward, outcome = self._stepper.step(self._state, a, self._steps)
        nxt = _observable(nxt, self._state, outcome)
        terminated, truncated = _split(outcome)
        self._state = nxt
        self._needs_reset = bool(terminated[0] or truncated[0])  # an ended episode is not stepped on
        return nxt[0].copy(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), {"outcome": int(outcome[0])}
