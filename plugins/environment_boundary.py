"""An environment of the user's own behind the same boundary as a plugin system.

An environment given as `--system package.module:ClassName` (or a file) is code from outside the
project, called by the program's systems every step. Its start-up checks (envs/checks.py) find a
broken class before the run; this boundary contains what goes wrong later. Every method the
program calls on it (`derivatives`, `reward`, `goal_reached`, `sample_states`, `nominal`, `wrap`,
`out_of_bounds`, `outcomes`, `state_norm`, `surface_state`, `surface_coords`) is guarded on the
instance: whatever it raises (`sys.exit()` included; a KeyboardInterrupt is the user's Ctrl-C and
passes), and a result of the wrong shape or kind, is a contained failure, exactly as for a plugin
(plugins.boundary): recorded as a `PluginFailure` named `environment '<system>'` with the
method as its phase and the traceback for errors.log, one warning line, and the run asked to stop
after the current frame (the `StopRequest` resource); the run then saves everything and exits 1.

So that the frame can complete, the failing call gives back values that cannot pass for data:
NaN dynamics, rewards, nominal actions, norms and surface states (physics ends such episodes as
`nonfinite` with reward 0, and training keeps them out of the replay buffer), no goal and no
boundary reached, and for `sample_states` start states the environment itself gave earlier. The
built-in environments are the project's own code and are not wrapped (their calls stay direct).
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from plugins.boundary import CONTAINED, PluginFailure, PluginFailures, _passes, describe
from process.messages import warning

if TYPE_CHECKING:
    from ecs.world import World
    from envs.base import Environment

#: how many start states of its own the boundary keeps to hand out when `sample_states` fails
KEPT_STARTS = 64


class _BadResult(Exception):
    """A method returned something of the wrong shape or kind (the message says what)."""


def _rows(args: tuple, kwargs: dict, name: str = "states") -> int:
    states = args[0] if args else kwargs.get(name)
    return int(np.shape(states)[0])


def _array(value: Any, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise _BadResult(f"returned {type(value).__name__}, not a numpy array")
    if value.shape != shape:
        raise _BadResult(f"returned shape {value.shape}, expected {shape}")
    if kind == "b" and value.dtype != np.bool_:
        raise _BadResult(f"returned dtype {value.dtype}, expected booleans")
    if kind == "i" and not np.issubdtype(value.dtype, np.integer):
        raise _BadResult(f"returned dtype {value.dtype}, expected integers (envs.Outcome)")
    if kind == "f" and not np.issubdtype(value.dtype, np.number):
        raise _BadResult(f"returned dtype {value.dtype}, expected numbers")
    return value


class EnvironmentBoundary:
    """Installed on one environment instance (`contain_environment`)."""

    def __init__(self, env: "Environment", world: "World") -> None:
        self.env = env
        self.world = world
        self.name = f"environment {env.name or type(env).__name__!r}"
        self.failed = False
        self._starts: np.ndarray | None = None
        sd, ad = env.state_dim, env.action_dim
        # method -> (expected result from the call's arguments and result, substitute from the arguments)
        self.specs: dict[str, tuple[Callable, Callable]] = {
            "derivatives": (self._derivatives_ok, self._derivatives_instead),
            "reward": (lambda a, k, r: _array(np.asarray(r), (_rows(a, k),), "f"),
                       lambda a, k: np.full(_rows(a, k), np.nan)),
            "goal_reached": (lambda a, k, r: _array(r, (_rows(a, k),), "b"),
                             lambda a, k: np.zeros(_rows(a, k), dtype=bool)),
            "out_of_bounds": (lambda a, k, r: _array(r, (_rows(a, k),), "b"),
                              lambda a, k: np.zeros(_rows(a, k), dtype=bool)),
            "outcomes": (lambda a, k, r: _array(r, (_rows(a, k),), "i"),
                         lambda a, k: np.zeros(_rows(a, k), dtype=np.int8)),
            "sample_states": (self._starts_ok, self._starts_instead),
            "nominal": (lambda a, k, r: _array(r, (_rows(a, k), ad), "f"),
                        lambda a, k: np.full((_rows(a, k), ad), np.nan)),
            "wrap": (lambda a, k, r: _array(r, (_rows(a, k), sd), "f"),
                     lambda a, k: args_states(a, k)),
            "state_norm": (lambda a, k, r: _array(np.asarray(r), (_rows(a, k),), "f"),
                           lambda a, k: np.full(_rows(a, k), np.nan)),
            "surface_state": (lambda a, k, r: _array(r, (_rows(a, k, "a"), sd), "f"),
                              lambda a, k: np.full((_rows(a, k, "a"), sd), np.nan)),
            "surface_coords": (self._coords_ok,
                               lambda a, k: (np.zeros(_rows(a, k)), np.zeros(_rows(a, k)))),
        }

    # -- expected results and substitutes -----------------------------------------------------------
    def _derivatives_ok(self, args: tuple, kwargs: dict, result: Any) -> Any:
        out = args[2] if len(args) > 2 else kwargs.get("out")
        _array(result, (_rows(args, kwargs), self.env.state_dim), "f")
        if out is not None and result is not out:
            raise _BadResult("did not write into `out` and return it")
        return result

    def _derivatives_instead(self, args: tuple, kwargs: dict) -> np.ndarray:
        out = args[2] if len(args) > 2 else kwargs.get("out")
        if out is not None:
            out[...] = np.nan
            return out
        return np.full((_rows(args, kwargs), self.env.state_dim), np.nan)

    def _starts_ok(self, args: tuple, kwargs: dict, result: Any) -> Any:
        count = int(args[1] if len(args) > 1 else kwargs["count"])
        states = _array(result, (count, self.env.state_dim), "f")
        if not np.isfinite(states).all():
            raise _BadResult("returned NaN or inf start states")
        if self._starts is None or len(self._starts) < KEPT_STARTS:
            kept = states[:KEPT_STARTS].astype(np.float64, copy=True)
            self._starts = kept if self._starts is None else np.concatenate([self._starts, kept])[:KEPT_STARTS]
        return result

    def _starts_instead(self, args: tuple, kwargs: dict) -> np.ndarray:
        count = int(args[1] if len(args) > 1 else kwargs["count"])
        if self._starts is None or not len(self._starts):
            return np.zeros((count, self.env.state_dim))
        return self._starts[np.arange(count) % len(self._starts)].copy()

    def _coords_ok(self, args: tuple, kwargs: dict, result: Any) -> Any:
        n = _rows(args, kwargs)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise _BadResult(f"returned {type(result).__name__}, expected a pair of arrays")
        for part in result:
            _array(np.asarray(part), (n,), "f")
        return result

    # -- the guard ------------------------------------------------------------------------------------
    def install(self) -> "Environment":
        for name, (check, instead) in self.specs.items():
            method = getattr(self.env, name)
            object.__setattr__(self.env, name, self._guard(name, method, check, instead))
        object.__setattr__(self.env, "_environment_boundary", self)
        return self.env

    def _guard(self, name: str, method: Callable, check: Callable, instead: Callable) -> Callable:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self.failed:
                return instead(args, kwargs)
            try:
                return check(args, kwargs, method(*args, **kwargs))
            except CONTAINED as exc:
                if _passes(exc):
                    raise
                self.fail(name, exc)
                return instead(args, kwargs)

        guarded.__wrapped__ = method
        guarded.__name__ = name
        return guarded

    def fail(self, phase: str, exc: BaseException) -> None:
        """Record the failure, say so in one line and ask the run to stop after this frame."""
        from process.stop import StopRequest

        world = self.world
        text = "".join(traceback.format_exception(exc))
        error = describe(exc) if not isinstance(exc, _BadResult) else f"it {exc}"
        failure = PluginFailure(self.name, phase, world.frame, error, text,
                                consequence="its calls gave placeholder values for the rest of that frame (NaN "
                                "dynamics end those episodes as nonfinite) and the run stopped after it; everything "
                                "was saved")
        self.failed = True
        failures = world.try_resource(PluginFailures)
        if failures is None:
            failures = world.insert_resource(PluginFailures())
        failures.items.append(failure)
        request = world.try_resource(StopRequest)
        if request is not None:
            request.request(f"{self.name} failed")
        warning(f"{failure.line()}; the run stops after this frame")


def args_states(args: tuple, kwargs: dict) -> np.ndarray:
    return args[0] if args else kwargs["states"]


def contain_environment(env: "Environment", world: "World") -> "Environment":
    """Put a user's environment behind the boundary (built-in environments are left as they are)."""
    from envs.registry import is_builtin

    if is_builtin(type(env)):
        return env
    return EnvironmentBoundary(env, world).install()
