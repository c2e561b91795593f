"""Checks an environment class and instance must pass before the program uses them.

The class: an Environment subclass with positive dimensions, axes inside the state, the
methods the program calls implemented with the right parameters, an attrs `Options` class (or
none) and defaults that name real config keys. The instance: a smoke test on a few states it
samples itself (right shapes, finite values, actions within the bounds, `surface_coords` the
inverse of `surface_state`). Each failure is one line naming the environment and the problem.
"""
from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs
import numpy as np

from process.time_limit import TimeUp, time_limit
from validation.validators import ConfigError

if TYPE_CHECKING:
    from envs.base import Environment

#: the methods a subclass must provide, with the arguments the program passes (after self)
REQUIRED = {
    "derivatives": ("states", "actions", "out"),
    "reward": ("states", "actions"),
    "goal_reached": ("states",),
    "sample_states": ("rng", "count"),
    "nominal": ("states",),
    "surface_state": ("a", "b"),
    "action_bound": (),
}
#: overridable methods and their arguments (checked only for their parameters)
OPTIONAL = {
    "wrap": ("states",),
    "out_of_bounds": ("states",),
    "outcomes": ("states", "steps"),
    "state_norm": ("states",),
    "surface_coords": ("states",),
    "state_bounds": (),
}
SMOKE_ROWS = 8
#: seconds the smoke test may take in all: a method that never returns is refused, not waited on
SMOKE_SECONDS = 30.0


class EnvironmentLoadError(ConfigError):
    """An environment cannot be loaded or fails its checks (one line; exit code 2)."""


def _fail(label: str, what: str) -> EnvironmentLoadError:
    return EnvironmentLoadError(f"environment {label}: {what}")


def _takes(func: object, args: tuple[str, ...]) -> bool:
    try:
        inspect.signature(func).bind(None, *args)
    except TypeError:
        return False
    except ValueError:  # no signature (a builtin): cannot tell, assume it fits
        return True
    return True


def _axes(cls: type, attr: str, dim: int, label: str, exact: int | None = None) -> None:
    value = getattr(cls, attr)
    ok = isinstance(value, tuple) and all(isinstance(i, int) and not isinstance(i, bool) for i in value)
    if not ok or any(not 0 <= i < dim for i in value) or len(set(value)) != len(value) or (
            exact is not None and len(value) != exact):
        size = f"{exact} distinct" if exact else "distinct"
        raise _fail(label, f"{attr} must be a tuple of {size} state indices in [0, {dim}), got {value!r}")


def check_class(cls: object, label: str) -> None:
    from envs.base import Environment

    if not (inspect.isclass(cls) and issubclass(cls, Environment)):
        raise _fail(label, f"{getattr(cls, '__name__', cls)!r} is not an envs.base.Environment subclass")
    for attr in ("state_dim", "action_dim"):
        value = getattr(cls, attr)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(label, f"{attr} must be a positive integer, got {value!r}")
    _axes(cls, "surface_axes", cls.state_dim, label, exact=2 if cls.state_dim >= 2 else None)
    if len(cls.surface_axes) != 2:
        raise _fail(label, f"surface_axes must name two state components, got {cls.surface_axes!r} "
                    f"(a {cls.state_dim}-dimensional state)")
    _axes(cls, "position_axes", cls.state_dim, label)
    _axes(cls, "periodic_axes", cls.state_dim, label)
    for name, args in REQUIRED.items():
        if getattr(cls, name) is getattr(Environment, name):
            raise _fail(label, f"does not implement {name}({', '.join(args)})")
    for name, args in {**REQUIRED, **OPTIONAL}.items():
        if not _takes(getattr(cls, name), args):
            raise _fail(label, f"{name} must take ({', '.join(args)}), it takes {inspect.signature(getattr(cls, name))}")
    if cls.Options is not None and not (inspect.isclass(cls.Options) and attrs.has(cls.Options)):
        raise _fail(label, "Options must be an attrs class (or None)")
    if not isinstance(cls.config_defaults, dict):
        raise _fail(label, f"config_defaults must be a dict of [env] keys, got {cls.config_defaults!r}")
    if not isinstance(cls.preset_defaults, dict):
        raise _fail(label, f"preset_defaults must be a dict of training presets, got {cls.preset_defaults!r}")
    if not isinstance(cls.calf_defaults, dict):
        raise _fail(label, f"calf_defaults must be a dict of [calf] keys, got {cls.calf_defaults!r}")
    # which keys and presets those dicts may name is the config's to say (config/environment_defaults.py)


def _array(label: str, what: str, value: object, shape: tuple[int, ...], *, finite: bool = True,
           kind: str = "f") -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise _fail(label, f"{what} must return a numpy array, got {type(value).__name__}")
    if value.shape != shape:
        raise _fail(label, f"{what} returned shape {value.shape}, expected {shape}")
    if kind == "b" and value.dtype != np.bool_:
        raise _fail(label, f"{what} must return booleans, got dtype {value.dtype}")
    if kind == "f" and not np.issubdtype(value.dtype, np.number):
        raise _fail(label, f"{what} must return numbers, got dtype {value.dtype}")
    if kind == "i" and not np.issubdtype(value.dtype, np.integer):
        raise _fail(label, f"{what} must return integers (envs.Outcome), got dtype {value.dtype}")
    if finite and kind == "f" and not np.isfinite(value).all():
        raise _fail(label, f"{what} returned NaN or inf on states from sample_states")
    return value


_current = [""]  # the method the smoke test is in, for the message when its time runs out


@contextlib.contextmanager
def bounded(label: str, what: str, seconds: float | None = None) -> Iterator[None]:
    """Run the environment's own start-up code (its import, its constructor, its options' check)
    within `seconds` (SMOKE_SECONDS): code that never returns is an EnvironmentLoadError."""
    limit = SMOKE_SECONDS if seconds is None else seconds
    try:
        with time_limit(limit):
            yield
    except TimeUp:
        raise _fail(label, f"{what} did not finish within {limit:g} s") from None


def _call(label: str, what: str, func, *args):  # noqa: ANN001, ANN202
    _current[0] = what
    try:
        return func(*args)
    except EnvironmentLoadError:
        raise
    except (TimeUp, KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - anything, sys.exit() too, must not end the program silently
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise _fail(label, f"{what} raised {type(exc).__name__}: {reason}") from None


def smoke_check(env: "Environment", label: str, seconds: float | None = None) -> None:
    """A few steps on states the environment samples itself, within `seconds` (SMOKE_SECONDS) in all;
    raises EnvironmentLoadError."""
    limit = SMOKE_SECONDS if seconds is None else seconds
    _current[0] = ""
    try:
        with time_limit(limit):
            _smoke(env, label)
    except TimeUp:
        where = f" ({_current[0]} never returned)" if _current[0] else ""
        raise _fail(label, f"the start-up checks did not finish within {limit:g} s{where}") from None


def _smoke(env: "Environment", label: str) -> None:
    from envs.base import Outcome

    n, sd, ad = SMOKE_ROWS, env.state_dim, env.action_dim
    high = _array(label, "action_bound()", env.action_high, (ad,))
    if not (high > 0).all():
        raise _fail(label, f"action_bound() must be positive, got {high.tolist()}")
    low_s, high_s = _call(label, "state_bounds()", env.state_bounds)
    low_s = _array(label, "state_bounds() low", np.asarray(low_s, dtype=np.float64), (sd,), finite=False)
    high_s = _array(label, "state_bounds() high", np.asarray(high_s, dtype=np.float64), (sd,), finite=False)
    if not (low_s < high_s).all():
        raise _fail(label, "state_bounds() low must be below high in every component")
    s = _array(label, "sample_states(rng, 8)", _call(label, "sample_states", env.sample_states,
                                                      np.random.default_rng(0), n), (n, sd))
    if not ((s >= low_s) & (s <= high_s)).all():
        raise _fail(label, "sample_states returned states outside state_bounds()")
    a = _array(label, "nominal(states)", _call(label, "nominal", env.nominal, s.copy()), (n, ad))
    if not ((a >= env.action_low - 1e-9) & (a <= env.action_high + 1e-9)).all():
        raise _fail(label, "nominal(states) returned actions outside [-action_bound(), action_bound()]")
    d = _array(label, "derivatives(states, actions)", _call(label, "derivatives", env.derivatives, s.copy(), a), (n, sd))
    buf = np.full((n, sd), np.nan)
    d_out = _call(label, "derivatives", env.derivatives, s.copy(), a, buf)
    if not np.allclose(buf, d, rtol=1e-9, atol=1e-12) or d_out is not buf:
        raise _fail(label, "derivatives(states, actions, out) must write into out and return it")
    s2 = _array(label, "one RK4 step", _call(label, "derivatives", env.rk4_step, s.copy(), a), (n, sd))
    _array(label, "reward(states, actions)", np.asarray(_call(label, "reward", env.reward, s.copy(), a)), (n,))
    _array(label, "goal_reached(states)", _call(label, "goal_reached", env.goal_reached, s2.copy()), (n,), kind="b")
    _array(label, "out_of_bounds(states)", _call(label, "out_of_bounds", env.out_of_bounds, s2.copy()), (n,), kind="b")
    out = _array(label, "outcomes(states, steps)",
                 _call(label, "outcomes", env.outcomes, s2.copy(), np.ones(n, dtype=np.int64)), (n,), kind="i")
    if not np.isin(out, [int(o) for o in Outcome]).all():
        raise _fail(label, f"outcomes returned values that are not envs.Outcome: {sorted(set(out.tolist()))}")
    norm = _array(label, "state_norm(states)", _call(label, "state_norm", env.state_norm, s.copy()), (n,))
    if (norm < 0).any():
        raise _fail(label, "state_norm returned negative values")
    ext = env.surface_extent
    if not (isinstance(ext, (int, float)) and np.isfinite(ext) and ext > 0):
        raise _fail(label, f"surface_extent must be a positive number, got {ext!r}")
    grid = np.linspace(-ext, ext, 3)
    ga, gb = (g.ravel() for g in np.meshgrid(grid, grid, indexing="ij"))
    st = _array(label, "surface_state(a, b)", _call(label, "surface_state", env.surface_state, ga, gb), (9, sd))
    ca, cb = _call(label, "surface_coords", env.surface_coords, st)
    ca = _array(label, "surface_coords(states)[0]", np.asarray(ca), (9,))
    cb = _array(label, "surface_coords(states)[1]", np.asarray(cb), (9,))
    if not (np.allclose(ca, ga, atol=1e-6) and np.allclose(cb, gb, atol=1e-6)):
        raise _fail(label, "surface_coords(surface_state(a, b)) must give back (a, b)")
