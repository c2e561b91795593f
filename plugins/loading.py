"""Load systems named by import path (`--plugin`, the config's `plugins` list) into a world.

A plugin is any `ecs.System` subclass named as `package.module:ClassName` (found on the Python path
or in the folder the program is started in) or `path/to/file.py:ClassName`. The whole list
is placed as one batch, so plugins may anchor on each other; an import failure, a class that
is not a System, bad options, a failing setup, an unknown anchor, a duplicate name or a cycle is
a PluginError (a one-line message and exit code 2 from app.py) before the first frame runs.
Every plugin runs behind plugins.boundary, which contains its failures during the run.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from config.schema import PluginSpec
from ecs.errors import ScheduleError
from ecs.system import System
from plugins.boundary import (
    PluginError,
    check_declarations,
    construct,
    contain,
    import_module,
)
from validation.validators import ConfigError

if TYPE_CHECKING:
    from ecs.world import World


__all__ = ["PluginError", "add_plugins", "instantiate", "parse_plugin_arg", "resolve"]


def parse_plugin_arg(text: str) -> PluginSpec:
    """`package.module:ClassName` or `path/to/file.py:ClassName`, optionally followed by `:after=Name` or
    `:before=Name` and `:phase=simulation|view`."""
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise PluginError(f"--plugin {text!r}: expected package.module:ClassName or path/to/file.py:ClassName, "
                          "then [:after=Name|:before=Name][:phase=simulation|view]")
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
    module = import_module(module_name, spec.system)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise PluginError(f"plugin {spec.system!r}: module {module_name} has no {class_name}")
    if not (inspect.isclass(cls) and issubclass(cls, System)):
        raise PluginError(f"plugin {spec.system!r}: {class_name} is not an ecs.System subclass")
    check_declarations(cls, spec.system)
    return cls


def instantiate(spec: PluginSpec) -> System:
    """The plugin, made from its options and put behind the boundary."""
    return contain(construct(resolve(spec), dict(spec.options), spec.system), spec.system)


def add_plugins(world: "World", specs: tuple[PluginSpec, ...] | list[PluginSpec]) -> list[System]:
    """Instantiate and place every plugin as one batch; nothing is added if any fails."""
    if not specs:
        return []
    entries = [(instantiate(s), s.before, s.after, s.phase) for s in specs]
    try:
        return world.add_systems(entries)
    except ScheduleError as exc:
        raise PluginError(f"plugins: {exc}") from None
