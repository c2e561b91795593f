"""Environments by name. The built-ins are registered here exactly as a user's class can be, and
'package.module:ClassName' (`--system`, `env.system`) loads any Environment subclass without
registering it. Every load goes through the same checks (envs/checks.py), so a broken
environment is a one-line error at start-up, never a traceback in the first frame.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from envs.checks import EnvironmentLoadError, bounded, check_class, smoke_check

if TYPE_CHECKING:
    from envs.base import Environment

_REGISTRY: dict[str, str] = {}


def is_target(text: object) -> bool:
    """True for 'package.module:ClassName' (one colon, both sides non-empty)."""
    return isinstance(text, str) and text.count(":") == 1 and all(part.strip() for part in text.split(":"))


def register(name: str, target: str) -> None:
    """Make `name` mean the environment class at `target` ('package.module:ClassName')."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"an environment name must be an identifier, got {name!r}")
    if not is_target(target):
        raise ValueError(f"target must look like 'package.module:ClassName', got {target!r}")
    if _REGISTRY.get(name, target) != target:
        raise ValueError(f"environment {name!r} is already registered as {_REGISTRY[name]}")
    _REGISTRY[name] = target


def registered() -> tuple[str, ...]:
    """The registered names, in registration order."""
    return tuple(_REGISTRY)


def canonical(system: str) -> str:
    """The name an environment goes by: its registered name when `system` is a registered class's
    import path, else `system` unchanged (so 'envs.pendulum:Pendulum' and 'pendulum' are one
    environment for checkpoints)."""
    for name, target in _REGISTRY.items():
        if system == target:
            return name
    return system


def _import_target(target: str, label: str) -> object:
    module_name, class_name = (part.strip() for part in target.split(":"))
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:  # as with `python -m`, the current folder is importable
        sys.path.append(cwd)
    try:
        with bounded(label, f"importing {module_name}"):
            module = importlib.import_module(module_name)
    except (EnvironmentLoadError, KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - ImportError, anything raised (or sys.exit()) while the module runs
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise EnvironmentLoadError(
            f"environment {label}: cannot import {module_name} ({type(exc).__name__}: {reason})") from None
    if not hasattr(module, class_name):
        raise EnvironmentLoadError(f"environment {label}: module {module_name} has no {class_name}")
    return getattr(module, class_name)


def resolve(system: str) -> type["Environment"]:
    """The checked class `system` names; EnvironmentLoadError (a ConfigError) when it cannot be used."""
    if not isinstance(system, str):
        raise EnvironmentLoadError(f"env.system must be a string, got {system!r}")
    label = repr(system)
    if system in _REGISTRY:
        target = _REGISTRY[system]
    elif is_target(system):
        target = system
    else:
        raise EnvironmentLoadError(
            f"unknown environment {label}: choose one of {', '.join(_REGISTRY)}, or give package.module:ClassName")
    cls = _import_target(target, label)
    check_class(cls, label)
    return cls


def load_environment(cfg: Any, *, check: bool = False) -> "Environment":
    """An instance of the environment `cfg.system` names, built from `cfg` (and smoke-tested with `check`)."""
    cls = resolve(cfg.system)
    label = repr(cfg.system)
    try:
        with bounded(label, "constructing it"):
            env = cls(cfg)
    except (EnvironmentLoadError, KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - the environment's own code: anything, sys.exit() too
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise EnvironmentLoadError(f"environment {label}: constructing it failed ({type(exc).__name__}: {reason})") from None
    env.name = canonical(cfg.system)
    if check:
        smoke_check(env, label)
    return env


def make_environment(cfg: Any, *, check: bool = False) -> "Environment":
    """The environment `cfg.system` names (a registered name or 'package.module:ClassName'), from
    the run's `[env]` settings (config.schema.EnvConfig).

    With `check`, the instance is also smoke-tested (shapes, bounds, a few finite steps; see
    envs/checks.py); the program does that once at start-up.
    """
    return load_environment(cfg, check=check)


# The built-in environments, registered like any other.
register("point_mass", "envs.point_mass:PointMass")
register("differential_drive", "envs.differential_drive:DifferentialDrive")
register("pendulum", "envs.pendulum:Pendulum")
#: the project's own environments (their calls are not guarded at run time: plugins.environment_boundary)
BUILTIN = frozenset(_REGISTRY.values())


def is_builtin(cls: type) -> bool:
    """Whether `cls` is one of the project's own environments (not a subclass of one)."""
    return f"{cls.__module__}:{cls.__qualname__}" in BUILTIN
