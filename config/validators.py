"""attrs validators that fail with one readable line (the loader prefixes the section name).

Every validator carries its `Rule` (kind, range, options) as `validator.rule`, so code can ask
the schema what a key accepts: tests/bad_input.py generates its bad-input table from these rules,
which keeps every new key covered without editing the table.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs
from attrs import define


class ConfigError(ValueError):
    """A configuration value, file or flag is invalid; the message names the problem."""


@define(frozen=True)
class Rule:
    """What one key accepts: kind is integer, number, choice, boolean or string."""

    kind: str  # integer, number, choice, boolean, string, environment or table
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    options: tuple[str, ...] = ()
    optional: bool = False  # None (unset) is allowed
    nonempty: bool = False  # strings: blank is refused


def _with_rule(check: Any, rule: Rule) -> Any:
    check.rule = rule
    return check


def rule_of(validator: Any) -> Rule | None:
    """The Rule of a validator made here, or None for any other validator."""
    return getattr(validator, "rule", None)


def _fmt(value: Any) -> str:
    return repr(value)


def integer(lo: int | None = None, hi: int | None = None):
    def check(_inst: Any, attr: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{attr.name} must be an integer, got {_fmt(value)}")
        if lo is not None and value < lo:
            raise ConfigError(f"{attr.name} must be >= {lo}, got {value}")
        if hi is not None and value > hi:
            raise ConfigError(f"{attr.name} must be <= {hi}, got {value}")

    return _with_rule(check, Rule("integer", lo, hi))


def _optional(inner: Any) -> Any:
    def check(inst: Any, attr: Any, value: Any) -> None:
        if value is not None:
            inner(inst, attr, value)

    rule = inner.rule
    return _with_rule(check, attrs.evolve(rule, optional=True))


def optional_integer(lo: int | None = None, hi: int | None = None):
    return _optional(integer(lo, hi))


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False):
    def check(_inst: Any, attr: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{attr.name} must be a number, got {_fmt(value)}")
        if not math.isfinite(value):
            raise ConfigError(f"{attr.name} must be finite, got {value}")
        if lo is not None and (value <= lo if lo_open else value < lo):
            raise ConfigError(f"{attr.name} must be {'>' if lo_open else '>='} {lo}, got {value}")
        if hi is not None and (value >= hi if hi_open else value > hi):
            raise ConfigError(f"{attr.name} must be {'<' if hi_open else '<='} {hi}, got {value}")

    return _with_rule(check, Rule("number", lo, hi, lo_open, hi_open))


def optional_number(lo: float | None = None, hi: float | None = None, **kw: bool):
    return _optional(number(lo, hi, **kw))


def choice(options: Iterable[str]):
    opts = tuple(options)

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if value not in opts:
            raise ConfigError(f"{attr.name} must be one of {', '.join(opts)}; got {_fmt(value)}")

    return _with_rule(check, Rule("choice", options=opts))


def environment_name(builtins: Iterable[str]):
    """A registered environment's name or 'package.module:ClassName': imported and its class
    checked (envs/registry.py), so the error names what is wrong with it."""
    names = tuple(builtins)

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, str):
            raise ConfigError(f"{attr.name} must be a string, got {_fmt(value)}")
        from envs.registry import resolve

        try:
            resolve(value)
        except ConfigError as exc:
            raise ConfigError(f"{attr.name}: {exc}") from None

    return _with_rule(check, Rule("environment", options=names))


def table():
    """A TOML table (a dict of settings), checked further by whoever owns its keys."""

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, dict):
            raise ConfigError(f"{attr.name} must be a table of settings, got {_fmt(value)}")

    return _with_rule(check, Rule("table"))


def boolean():
    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, bool):
            raise ConfigError(f"{attr.name} must be true or false, got {_fmt(value)}")

    return _with_rule(check, Rule("boolean"))


def string(nonempty: bool = False):
    """A string; with `nonempty`, also not blank (an empty path would silently mean "none")."""

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, str):
            raise ConfigError(f"{attr.name} must be a string, got {_fmt(value)}")
        if nonempty and not value.strip():
            raise ConfigError(f"{attr.name} must not be empty")

    return _with_rule(check, Rule("string", nonempty=nonempty))


def optional_string(nonempty: bool = True):
    return _optional(string(nonempty))


def to_float(value: Any) -> Any:
    """Let TOML integers fill float fields (1 -> 1.0); leave anything else for the validator."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
