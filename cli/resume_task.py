"""A resumed run keeps the task of the run it continues, unless the command line says otherwise.

A checkpoint holds its run's config. Resuming rebuilds this run's config with the checkpoint's
task settings layered under everything the user chose on this command line (`--config`, flags,
`--set`, `--train-preset`), so `--resume auto` after a `--train-preset quick` run goes on with
quick's 500 steps per episode and its 100 episodes, not the standard preset's 750 and 500.

The task is what defines the problem and the learning: the training preset, the environment (every
`[env]` key and its options), TD3 and CALF, the training's policy, budget and collection, the
evaluation, and the number of agents (every agent learns by default). How this session is watched
and where it writes (the visual preset, the view, the profiler, `[run]`, plugins) are this command
line's. The checkpoint's own values are the ones that differ from what its training preset gives
today: with another `--train-preset` the keys that preset sets follow it, the checkpoint's other
choices stay. Two notes say what was kept and what this command line overrode.
"""
from __future__ import annotations

import argparse
import tomllib
from collections.abc import Mapping
from typing import Any

import attrs

from config import ConfigError, build_config, read_toml
from config.schema import SECTIONS, AppConfig

#: section -> the keys of the task (None: every key of the section)
TASK_KEYS: dict[str, tuple[str, ...] | None] = {
    "env": None,
    "td3": tuple(f.name for f in attrs.fields(SECTIONS["td3"]) if f.name not in ("torch_threads", "device")),  # the machine's
    "calf": None,
    "training": ("episodes", "train_steps_per_frame", "policy", "collect", "boundary_exit"),
    "evaluation": None,
    "visual": ("agents",),
}


def task_items(cfg: AppConfig) -> dict[str, Any]:
    """'section.key' -> value for every task key of `cfg`, and 'train_preset'."""
    out: dict[str, Any] = {"train_preset": cfg.train_preset}
    for section, keys in TASK_KEYS.items():
        values = attrs.asdict(getattr(cfg, section))
        for key in keys or values:
            out[f"{section}.{key}"] = values[key]
    return out


def saved_config(data: Mapping[str, Any], path: object) -> AppConfig | None:
    """The config a checkpoint was written with (None for a checkpoint that holds none)."""
    text = data.get("config_toml")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"checkpoint {path}: its config cannot be read ({exc})") from None
    known = {name: {k: v for k, v in parsed.get(name, {}).items() if k in _fields(name)}
             for name in TASK_KEYS if isinstance(parsed.get(name), dict)}  # keys since removed are dropped
    try:
        return build_config(known, train_preset=str(parsed.get("train_preset", "standard")),
                            source=f"checkpoint {path}'s config")
    except ConfigError as exc:
        raise ConfigError(f"checkpoint {path}: its settings are no longer valid ({exc})") from None


def _fields(section: str) -> set[str]:
    return {f.name for f in attrs.fields(SECTIONS[section])}


def _own_values(saved: AppConfig) -> dict[str, dict[str, Any]]:
    """The checkpoint's task values that differ from what its training preset gives today."""
    baseline = build_config(train_preset=saved.train_preset, overrides={"env": {"system": saved.env.system}})
    mine, base = task_items(saved), task_items(baseline)
    layer: dict[str, dict[str, Any]] = {}
    for name, value in mine.items():
        if name != "train_preset" and value != base[name]:
            section, key = name.split(".", 1)
            layer.setdefault(section, {})[key] = value
    return layer


def resumed_config(args: argparse.Namespace, cfg: AppConfig, data: Mapping[str, Any], path: object
                   ) -> tuple[AppConfig, list[str]]:
    """This run's config with the checkpoint's task under the user's choices, and the notes saying
    what was kept and what was overridden. `cfg` is the config of this command line alone."""
    from cli.arguments import overrides_from_args

    saved = saved_config(data, path)
    if saved is None:
        return cfg, ["--resume: the checkpoint holds no config (written by an older version): "
                     "this command line's settings apply"]
    config_path = getattr(args, "config", None)
    file_data = dict(read_toml(config_path)) if config_path else {}
    for section, values in _own_values(saved).items():  # under the file's own values
        file_data[section] = {**values, **file_data.get(section, {})}
    chosen_preset = getattr(args, "train_preset", None) or file_data.get("train_preset")
    new = build_config(file_data, preset=getattr(args, "preset", None),
                       train_preset=chosen_preset or saved.train_preset, overrides=overrides_from_args(args),
                       source=f"config file {config_path}" if config_path else "config")
    new = attrs.evolve(new, plugins=cfg.plugins)
    return new, _notes(task_items(cfg), task_items(saved), task_items(new))


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _notes(plain: dict[str, Any], saved: dict[str, Any], new: dict[str, Any]) -> list[str]:
    always = ("train_preset", "env.max_steps_per_episode", "training.episodes")
    kept = [name for name in saved if new[name] == saved[name] and (name in always or plain[name] != saved[name])]
    kept_text = ", ".join(
        f"{name} = {_show(saved[name])}" + ("" if plain[name] == saved[name] else f" (instead of {_show(plain[name])})")
        for name in kept)
    notes = [f"--resume: kept the checkpoint's task: {kept_text}" if kept_text else
             "--resume: kept none of the checkpoint's task settings"]
    overridden = [name for name in saved if new[name] != saved[name]]
    if overridden:
        notes.append("--resume: overridden by this command line: " + ", ".join(
            f"{name} = {_show(new[name])} (the checkpoint's: {_show(saved[name])})" for name in overridden))
    return notes
