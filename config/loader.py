"""Build an AppConfig from defaults, presets, a TOML file and CLI overrides (in that order)."""
from __future__ import annotations

import datetime
import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from config.presets import TRAINING_PRESETS, VISUAL_PRESETS
from config.schema import SECTIONS, AppConfig
from validation.validators import ConfigError, nesting_depth

TOP_LEVEL_KEYS = ("preset", "train_preset", "plugins")

Overrides = Mapping[str, Mapping[str, Any]]


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


#: how deep tables and arrays may nest in a config file (a real one needs 3: plugins, a plugin's
#: options, a value in them); deeper documents are refused before anything walks them
MAX_DEPTH = 32
_BOM_UTF8 = b"\xef\xbb\xbf"
_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def decode_toml(raw: bytes, source: str) -> dict[str, Any]:
    """Parse config-file bytes; every failure is a ConfigError starting with `source`.

    A UTF-8 byte-order mark at the start is skipped (editors on Windows write one); UTF-16 and
    UTF-32 files are named as such; nesting deeper than MAX_DEPTH is refused."""
    if raw.startswith(_BOM_UTF8):
        raw = raw[len(_BOM_UTF8):]
    for bom, encoding in _BOMS.items():
        if raw.startswith(bom):
            raise ConfigError(f"{source}: encoded as {encoding} (it starts with a {encoding} byte-order mark); "
                              "save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: malformed TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{source}: values nested too deeply (at most {MAX_DEPTH} levels)") from None
    if nesting_depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise ConfigError(f"{source}: values nested too deeply (at most {MAX_DEPTH} levels)")
    return data


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a config file; every failure is a ConfigError naming the file. The file must be a
    regular file of at most 1 MiB (safe_io.paths): not a FIFO, a device or a directory."""
    from safe_io.paths import (  # runtime imports config: import late
        CONFIG_MAX_BYTES,
        PathError,
        read_input,
    )

    try:
        raw = read_input(path, "config file", CONFIG_MAX_BYTES)
    except PathError as exc:
        raise ConfigError(str(exc)) from None
    source = f"config file {path}"
    data = decode_toml(raw, source)
    _check_keys(data, source)
    return data


#: what sets each top-level key on the command line (they are not sections of settings)
TOP_LEVEL_FLAGS = {"preset": "--preset", "train_preset": "--train-preset", "plugins": "--plugin"}


def _check_keys(data: Mapping[str, Any], source: str, *, top_level: bool = True) -> None:
    """Every section and key must exist; the top-level keys (preset, train_preset, plugins) are
    allowed where `top_level` (a config file), and refused in overrides (--set: they are not
    sections of settings)."""
    for key, value in data.items():
        if key in TOP_LEVEL_KEYS:
            if not top_level:
                raise ConfigError(f"{source}: {key} is not a section of settings (it is a top-level key of the "
                                  f"config file); on the command line use {TOP_LEVEL_FLAGS[key]}")
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
    from config.environment_defaults import check_environment_defaults
    from envs.registry import resolve

    try:
        cls = resolve(system.strip())
        check_environment_defaults(cls, repr(system.strip()))
        return cls
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
        _check_keys(overrides, "command line", top_level=False)
    env_cls = _environment_class(file_data, overrides, source)
    layers: dict[str, dict[str, Any]] = {}
    if env_cls is not None:  # the environment's own preferences sit under everything the user chose
        _merge(layers, {"env": dict(env_cls.config_defaults), "calf": dict(env_cls.calf_defaults)})
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


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}

#: RunConfig keys that say where a run writes and what it continues from, not what it does
WHERE_KEYS = ("out", "profile", "resume")


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_value(value: Any) -> str:
    """Any value a TOML file can hold (plugin options can be any of them), written back exactly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} to TOML")


def to_toml(config: AppConfig, *, where: bool = True) -> str:
    """The config as a TOML file that `load_config` reads back to an equal AppConfig.

    `where=False` (a run's own config.toml) writes `run.out`, `run.profile` and `run.resume` as
    comments: they record where that run wrote and what it continued from, and loading the file
    with --config starts a new run (in a new folder) with the same settings, instead of writing
    into the old run's folder and files."""
    lines = [f"preset = {_toml_value(config.preset)}", f"train_preset = {_toml_value(config.train_preset)}"]
    for plugin in config.plugins:
        lines.append("")
        lines.append("[[plugins]]")
        lines.append(f"system = {_toml_value(plugin.system)}")
        for key in ("after", "before", "phase"):
            if getattr(plugin, key) is not None:
                lines.append(f"{key} = {_toml_value(getattr(plugin, key))}")
        if plugin.options:
            lines.append(f"options = {_toml_value(dict(plugin.options))}")
    for name in SECTIONS:
        lines.append("")
        lines.append(f"[{name}]")
        for key, value in attrs.asdict(getattr(config, name)).items():
            if value is None:
                continue
            if name == "run" and key in WHERE_KEYS and not where:
                lines.append(f"# {key} = {_toml_value(value)}  (this run's; not loaded back, see docs/CONFIG.md)")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
