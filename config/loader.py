"""Build an AppConfig from defaults, presets, a TOML file and CLI overrides (in that order)."""
from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from config.presets import TRAINING_PRESETS, VISUAL_PRESETS
from config.schema import SECTIONS, AppConfig
from config.validators import ConfigError

TOP_LEVEL_KEYS = ("preset", "train_preset", "plugins")

Overrides = Mapping[str, Mapping[str, Any]]


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a config file; every failure is a ConfigError naming the file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {p}: not found") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {p}: is a directory") from None
    except OSError as exc:
        raise ConfigError(f"config file {p}: cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p}: malformed TOML ({exc})") from None
    _check_keys(data, f"config file {p}")
    return data


def _check_keys(data: Mapping[str, Any], source: str) -> None:
    for key, value in data.items():
        if key in TOP_LEVEL_KEYS:
            continue
        if key not in SECTIONS:
            options = list(SECTIONS) + list(TOP_LEVEL_KEYS)
            raise ConfigError(f"{source}: unknown section or key {key!r}{_suggest(key, options)}")
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: [{key}] must be a table of settings, got {value!r}")
        fields = [f.name for f in attrs.fields(SECTIONS[key])]
        for name in value:
            if name not in fields:
                raise ConfigError(f"{source}: unknown key '{key}.{name}'{_suggest(name, fields)}")


def _merge(into: dict[str, dict[str, Any]], layer: Overrides) -> None:
    for section, values in layer.items():
        into.setdefault(section, {}).update(values)


def _environment_class(file_data: Mapping[str, Any], overrides: Overrides | None, source: str) -> type | None:
    """The environment class the layers will select (command line over file over the default), so its
    defaults can go under them; None when `env.system` is not even a string (its validator says why)."""
    system = attrs.fields(SECTIONS["env"]).system.default
    for layer in (file_data, overrides or {}):
        env = layer.get("env")
        if isinstance(env, Mapping) and "system" in env:
            system = env["system"]
    if not isinstance(system, str):
        return None
    from envs.registry import resolve

    try:
        return resolve(system.strip())
    except ConfigError as exc:
        raise ConfigError(f"{source}: env.system: {exc}") from None


def build_config(
    file_data: Mapping[str, Any] | None = None,
    *,
    preset: str | None = None,
    train_preset: str | None = None,
    overrides: Overrides | None = None,
    source: str = "config",
    extra_plugins: list | None = None,
) -> AppConfig:
    """Layer defaults < visual preset < training preset < file < overrides, then validate."""
    file_data = dict(file_data or {})
    _check_keys(file_data, source)
    preset = preset or file_data.get("preset") or "medium"
    train_preset = train_preset or file_data.get("train_preset") or "standard"
    if not isinstance(preset, str) or preset not in VISUAL_PRESETS:
        raise ConfigError(f"{source}: unknown preset {preset!r}: choose one of {', '.join(VISUAL_PRESETS)}")
    if not isinstance(train_preset, str) or train_preset not in TRAINING_PRESETS:
        raise ConfigError(
            f"{source}: unknown training preset {train_preset!r}: choose one of {', '.join(TRAINING_PRESETS)}"
        )
    if overrides:
        _check_keys(overrides, "command line")
    env_cls = _environment_class(file_data, overrides, source)
    layers: dict[str, dict[str, Any]] = {}
    if env_cls is not None:  # the environment's own preferences sit under everything the user chose
        _merge(layers, {"env": dict(env_cls.config_defaults)})
    _merge(layers, VISUAL_PRESETS[preset])
    _merge(layers, TRAINING_PRESETS[train_preset])
    if env_cls is not None:
        _merge(layers, {"env": dict(env_cls.preset_defaults.get(train_preset, {}))})
    _merge(layers, {k: v for k, v in file_data.items() if k in SECTIONS})
    if overrides:
        _merge(layers, overrides)
    sections = {}
    for name, cls in SECTIONS.items():
        try:
            sections[name] = cls(**layers.get(name, {}))
        except ConfigError as exc:
            raise ConfigError(f"{source}: {name}.{exc}") from None
    plugins = file_data.get("plugins", [])
    if not isinstance(plugins, list):
        raise ConfigError(f"{source}: plugins must be a list, got {plugins!r}")
    plugins = plugins + list(extra_plugins or [])
    try:
        return AppConfig(preset=preset, train_preset=train_preset, plugins=plugins, **sections)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(
    path: str | Path | None = None,
    *,
    preset: str | None = None,
    train_preset: str | None = None,
    overrides: Overrides | None = None,
    extra_plugins: list | None = None,
) -> AppConfig:
    """`extra_plugins` (from --plugin) are appended to the file's `plugins` list."""
    data = read_toml(path) if path is not None else {}
    source = f"config file {path}" if path is not None else "config"
    return build_config(data, preset=preset, train_preset=train_preset, overrides=overrides, source=source,
                        extra_plugins=extra_plugins)


def replace(config: AppConfig, **sections: Mapping[str, Any]) -> AppConfig:
    """A copy of `config` with some fields of some sections changed (validated again)."""
    changes = {}
    for name, values in sections.items():
        try:
            changes[name] = attrs.evolve(getattr(config, name), **values)
        except ConfigError as exc:
            raise ConfigError(f"config: {name}.{exc}") from None
    return attrs.evolve(config, **changes)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # an inline table (env.options)
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {value!r} to TOML")


def to_toml(config: AppConfig) -> str:
    """The config as a TOML file that `load_config` reads back to an equal AppConfig."""
    lines = [f"preset = {_toml_value(config.preset)}", f"train_preset = {_toml_value(config.train_preset)}"]
    for plugin in config.plugins:
        lines.append("")
        lines.append("[[plugins]]")
        lines.append(f"system = {_toml_value(plugin.system)}")
        for key in ("after", "before"):
            if getattr(plugin, key) is not None:
                lines.append(f"{key} = {_toml_value(getattr(plugin, key))}")
        if plugin.options:
            opts = ", ".join(f"{k} = {_toml_value(v)}" for k, v in plugin.options.items())
            lines.append(f"options = {{ {opts} }}")
    for name in SECTIONS:
        lines.append("")
        lines.append(f"[{name}]")
        for key, value in attrs.asdict(getattr(config, name)).items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
