"""Load systems named by import path (`--plugin`, the config's `plugins` list) into a world.

A plugin is any `ecs.System` subclass importable as `package.module:ClassName`. The whole list
is placed as one batch, so plugins may anchor on each other; an import failure, a class that
is not a System, bad options, an unknown anchor, a duplicate name or a cycle is a PluginError
(a one-line message and exit code 2 from app.py) before the first frame runs.
"""
from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING

from config.schema import PluginSpec
from config.validators import ConfigError
from ecs.errors import ScheduleError
from ecs.system import System

if TYPE_CHECKING:
    from ecs.world import World


class PluginError(ConfigError):
    """A plugin could not be loaded or placed."""


def parse_plugin_arg(text: str) -> PluginSpec:
    """`package.module:ClassName`, optionally followed by `:after=Name` or `:before=Name` and
    `:phase=simulation|view`."""
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise PluginError(f"--plugin {text!r}: expected package.module:ClassName[:after=Name|:before=Name]"
                          "[:phase=simulation|view]")
    kwargs: dict[str, str] = {}
    for extra in parts[2:]:
        key, sep, value = extra.partition("=")
        if not sep or key not in ("after", "before", "phase") or not value or key in kwargs:
            raise PluginError(f"--plugin {text!r}: position must be ':after=Name', ':before=Name' or "
                              f"':phase=simulation|view', got {extra!r}")
        kwargs[key] = value
    try:
        return PluginSpec(system=f"{parts[0]}:{parts[1]}", **kwargs)
    except ConfigError as exc:
        raise PluginError(f"--plugin {text!r}: {exc}") from None


def resolve(spec: PluginSpec) -> type[System]:
    module_name, class_name = spec.system.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or an error raised while importing the module
        raise PluginError(f"plugin {spec.system!r}: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise PluginError(f"plugin {spec.system!r}: module {module_name} has no {class_name}")
    if not (inspect.isclass(cls) and issubclass(cls, System)):
        raise PluginError(f"plugin {spec.system!r}: {class_name} is not an ecs.System subclass")
    return cls


def instantiate(spec: PluginSpec) -> System:
    cls = resolve(spec)
    try:
        return cls(**spec.options)
    except TypeError as exc:
        raise PluginError(f"plugin {spec.system!r}: bad options {spec.options!r} ({exc})") from None


def add_plugins(world: "World", specs: tuple[PluginSpec, ...] | list[PluginSpec]) -> list[System]:
    """Instantiate and place every plugin as one batch; nothing is added if any fails."""
    if not specs:
        return []
    entries = [(instantiate(s), s.before, s.after, s.phase) for s in specs]
    try:
        return world.add_systems(entries)
    except ScheduleError as exc:
        raise PluginError(f"plugins: {exc}") from None
