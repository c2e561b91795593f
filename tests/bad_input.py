"""Bad inputs generated from the program's own declarations, so a new flag or config key is covered
without editing any table.

- every command-line flag: from the argparse parser (its count ranges, choices, non-empty paths)
- every config key: from the schema's validators (`validation.validators.Rule`)

Each case is (argv or TOML text, a fragment the one-line error must contain).
"""
from __future__ import annotations

import json
import math

import attrs

from cli.arguments import build_parser
from config.schema import SECTIONS
from validation.validators import rule_of

TOML_INT_MAX = 2**63 - 1
#: names no file can have: empty, blank, a NUL byte, a newline, an escape character, a component
#: longer than 255 bytes, a path longer than 4095 bytes
BAD_PATHS = ["", "  ", "a\x00b", "a\nb", "a\x1b[2Jb", "d/" + "y" * 256, "/".join(["z" * 200] * 21)]


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes (\n, \u0000) are TOML's too
    return repr(value)


def bad_values(rule) -> list[object]:  # noqa: ANN001
    """Values a key with this rule must refuse."""
    if rule.kind == "integer":
        out: list[object] = [1.5, "many", True]
        if rule.lo is not None:
            out.append(rule.lo - 1)
        if rule.hi is not None and rule.hi + 1 <= TOML_INT_MAX:
            out.append(rule.hi + 1)
        return out
    if rule.kind == "number":
        out = [math.nan, math.inf, "high", True]
        if rule.lo is not None:
            out.append(float(rule.lo) if rule.lo_open else float(rule.lo) - 1.0)
        if rule.hi is not None:
            out.append(float(rule.hi) if rule.hi_open else 2.0 * float(rule.hi) + 1.0)
        return out
    if rule.kind == "choice":
        return ["bogus", 3]
    if rule.kind == "environment":
        return ["bogus", 3, "no_such_module_xyz:Env", "os:path", "envs.base:Environment"]
    if rule.kind == "table":
        return [3, "many"]
    if rule.kind == "boolean":
        return ["yes", 1]
    if rule.kind == "string":
        return [3] + (["", "  "] if rule.nonempty else [])
    if rule.kind == "path":
        return [3, *BAD_PATHS]
    raise AssertionError(f"no bad values for rule kind {rule.kind!r}")


def config_key_cases() -> list[tuple[str, str, str]]:
    """(case id, TOML text, expected fragment) for every bad value of every key of every section."""
    cases = []
    for section, cls in SECTIONS.items():
        for f in attrs.fields(cls):
            rule = rule_of(f.validator)
            assert rule is not None, f"{section}.{f.name} has a validator the bad-input tests cannot read"
            for value in bad_values(rule):
                text = f"[{section}]\n{f.name} = {_toml(value)}\n"
                cases.append((f"{section}.{f.name}={_toml(value)}", text, f"{section}.{f.name}"))
    return cases


def environment_option_cases() -> list[tuple[str, str, str]]:
    """Every bad value of every option of every registered environment that takes options
    (`[env.options]`, checked by the environment's Options class), and an unknown option."""
    from envs.registry import registered, resolve

    cases = []
    for name in registered():
        cls = resolve(name)
        head = f'[env]\nsystem = "{name}"\n[env.options]\n'
        if cls.Options is None:
            cases.append((f"{name}.options.any", head + "speed = 1.0\n", "env.options"))
            continue
        for f in attrs.fields(cls.Options):
            rule = rule_of(f.validator)
            assert rule is not None, f"{name} option {f.name} has a validator the bad-input tests cannot read"
            for value in bad_values(rule):
                cases.append((f"{name}.options.{f.name}={_toml(value)}", head + f"{f.name} = {_toml(value)}\n",
                              f"env.options.{f.name}"))
        cases.append((f"{name}.options.unknown", head + "no_such_option = 1.0\n", "env.options"))
    return cases


def set_key_cases() -> list[tuple[str, list[str], str]]:
    """The config-file cases again as `--set section.key=value` (the same values, the same checks)."""
    cases = []
    for section, cls in SECTIONS.items():
        for f in attrs.fields(cls):
            for value in bad_values(rule_of(f.validator)):
                text = f"{section}.{f.name}={_toml(value)}"
                cases.append((f"--set {text}", ["--set", text], f"{section}.{f.name}"))
    return cases


#: malformed --set arguments (the well-formed ones with bad values come from set_key_cases)
BAD_ASSIGNMENTS = ["nodot=1", "calf.nu_bar", "calf.bogus=1", "bogus.key=1", "calf.nu_bar=", ".nu_bar=1", "=1"]


def flag_cases(parser=None) -> list[tuple[str, list[str], str]]:  # noqa: ANN001
    """(case id, argv, expected fragment) for every bad value of every flag that takes one
    (of the run's parser, or of `parser`: a subcommand's)."""
    cases = []
    for action in (parser or build_parser())._actions:
        if not action.option_strings or action.nargs == 0:
            continue  # positional (none) or a switch (--headless): nothing to get wrong alone
        flag = max(action.option_strings, key=len)
        kind = action.type
        values: list[str] = []
        if action.choices is not None:
            values = ["bogus", ""]
        elif getattr(kind, "bounds", None) is not None:
            lo, hi = kind.bounds
            if isinstance(lo, float):
                values = [str(lo - 0.5), str(hi + 0.5), "nan", "inf", "half"]
            else:
                values = [str(lo - 1), str(hi + 1), "1.5", "many", ""]
        elif getattr(kind, "path", False):
            values = list(BAD_PATHS)
        elif getattr(kind, "nonempty", False):
            values = ["", "   "]
        elif flag == "--set":
            values = BAD_ASSIGNMENTS
        elif getattr(kind, "bad_values", None) is not None:  # a flag that names its own bad values
            values = list(kind.bad_values)
        elif flag == "--plugin":
            values = ["nocolon", "no_such_module_xyz:Sys", "os:path", "examples.lyapunov_monitor:LyapunovMonitor:after"]
        assert values, f"{flag} takes a value but the bad-input tests do not know what to feed it"
        for v in values:
            cases.append((f"{flag}={v!r}", [flag, v], "plugin" if flag == "--plugin" else flag))
    return cases
