"""The starter config file (`app.py --write-config PATH`): every key with its value, range and meaning.

Keys the command line set are written as settings; every other key is a comment holding the value
it has anyway, so the file loads back to exactly the configuration of the command that wrote it,
and a user changes a setting by removing a `#` and editing the value.
"""
from __future__ import annotations

from typing import Any

import attrs

from config.key_docs import TOP_LEVEL, describe
from config.loader import _toml_key, _toml_value, build_config
from config.schema import SECTIONS, AppConfig
from validation.validators import rule_of


def accepts(rule: Any) -> str:
    """What a key accepts, from its validator's rule: `number in (0, 0.1]`, `one of a, b`, ..."""
    if rule is None:
        return ""
    if rule.kind in ("integer", "number"):
        lo = "[" if not rule.lo_open else "("
        hi = "]" if not rule.hi_open else ")"
        lo_text = "-inf" if rule.lo is None else _num(rule.lo)
        hi_text = "inf" if rule.hi is None else _num(rule.hi)
        text = f"{'whole number' if rule.kind == 'integer' else 'number'} in {lo}{lo_text}, {hi_text}{hi}"
    elif rule.kind == "choice":
        text = "one of " + ", ".join(rule.options)
    elif rule.kind == "environment":
        text = "one of " + ", ".join(rule.options) + ", or package.module:ClassName"
    elif rule.kind == "table":
        text = "a table: { key = value, ... }"
    elif rule.kind == "boolean":
        text = "true or false"
    elif rule.kind == "path":
        text = "a path"
    else:
        text = "text"
    return text + ("; may be left unset" if rule.optional else "")


def _num(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):_}".replace("_", " ") if abs(x) >= 10_000 else str(int(x))
    return f"{x:g}"


def _line(key: str, value: Any, active: bool) -> str:
    text = f"{_toml_key(key)} = {_toml_value(value)}"
    return text if active else f"# {text}"


def starter_toml(cfg: AppConfig, command: str) -> str:
    """The commented file for `cfg`; `command` is the command line that wrote it (for the header)."""
    baseline = build_config(preset=cfg.preset, train_preset=cfg.train_preset)
    default = AppConfig()
    out = [
        "# calf-ecs configuration file",
        f"# written by: {command}",
        "#",
        "# Every setting is listed with its value, what it accepts and what it does. A line starting with",
        "# '#' is not read: such a setting keeps the value shown. To change one, remove its '#' and edit",
        "# the value. Settings are layered: defaults < preset < train_preset < this file < command-line",
        "# flags (--set section.key=value, --seed, ...). Use it with: --config THIS_FILE",
        "",
    ]
    for key in ("preset", "train_preset"):
        value = getattr(cfg, key)
        out += [f"# {TOP_LEVEL[key]}", _line(key, value, value != getattr(default, key)), ""]
    out += ["# Systems of your own, placed in the frame's order (--plugin; see docs/EXTENDING.md):"]
    if cfg.plugins:
        for plugin in cfg.plugins:
            out.append("[[plugins]]")
            out.append(f"system = {_toml_value(plugin.system)}")
            for key in ("after", "before", "phase"):
                if getattr(plugin, key, None) is not None:
                    out.append(f"{key} = {_toml_value(getattr(plugin, key))}")
            if plugin.options:
                out.append(f"options = {_toml_value(dict(plugin.options))}")
            out.append("")
    else:
        out += ["# [[plugins]]", '# system = "examples.lyapunov_monitor:LyapunovMonitor"', '# after = "ControlSystem"',
                "# options = { hud_every = 30 }", ""]
    for name, cls in SECTIONS.items():
        section, base = getattr(cfg, name), getattr(baseline, name)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out += [f"[{name}]" + (f"  # {doc}" if doc else "")]
        for f in attrs.fields(cls):
            value = getattr(section, f.name)
            what = describe(name, f.name) or ""
            rule = accepts(rule_of(f.validator))
            out.append("# " + "; ".join(part for part in (what, rule) if part))
            if value is None:
                out.append(f"# {_toml_key(f.name)} =   (unset)")
            else:
                out.append(_line(f.name, value, value != getattr(base, f.name)))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
