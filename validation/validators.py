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
    """What one key accepts: kind is integer, number, choice, boolean, string or path."""

    kind: str  # integer, number, choice, boolean, string, environment or table
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    options: tuple[str, ...] = ()
    optional: bool = False  # None (unset) is allowed
    nonempty: bool = False  # strings: blank is refused


def with_rule(check: Any, rule: Rule) -> Any:
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

    return with_rule(check, Rule("integer", lo, hi))


def _optional(inner: Any) -> Any:
    def check(inst: Any, attr: Any, value: Any) -> None:
        if value is not None:
            inner(inst, attr, value)

    rule = inner.rule
    return with_rule(check, attrs.evolve(rule, optional=True))


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

    return with_rule(check, Rule("number", lo, hi, lo_open, hi_open))


def optional_number(lo: float | None = None, hi: float | None = None, **kw: bool):
    return _optional(number(lo, hi, **kw))


def choice(options: Iterable[str]):
    opts = tuple(options)

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if value not in opts:
            raise ConfigError(f"{attr.name} must be one of {', '.join(opts)}; got {_fmt(value)}")

    return with_rule(check, Rule("choice", options=opts))


def table():
    """A TOML table (a dict of settings), checked further by whoever owns its keys."""

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, dict):
            raise ConfigError(f"{attr.name} must be a table of settings, got {_fmt(value)}")

    return with_rule(check, Rule("table"))


def boolean():
    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, bool):
            raise ConfigError(f"{attr.name} must be true or false, got {_fmt(value)}")

    return with_rule(check, Rule("boolean"))


def string(nonempty: bool = False):
    """A string; with `nonempty`, also not blank (an empty path would silently mean "none")."""

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, str):
            raise ConfigError(f"{attr.name} must be a string, got {_fmt(value)}")
        if nonempty and not value.strip():
            raise ConfigError(f"{attr.name} must not be empty")

    return with_rule(check, Rule("string", nonempty=nonempty))


def optional_string(nonempty: bool = True):
    return _optional(string(nonempty))


def to_float(value: Any) -> Any:
    """Let TOML integers fill float fields (1 -> 1.0); leave anything else for the validator."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


#: a file name (one path component) longer than this many bytes is refused by Linux file systems
NAME_MAX_BYTES = 255
#: and a whole path longer than this
PATH_MAX_BYTES = 4095


def path_problem(text: str) -> str | None:
    """Why `text` cannot name a file, or None. Checked before the path is used, so a bad name is a
    one-line error instead of an OSError deep inside a run: an empty name, a NUL byte, a control
    character (a newline in a file name breaks logs and one-line messages), text that is not UTF-8
    (the run's config.toml must be able to record it), a component longer than 255 bytes or a path
    longer than 4095 bytes."""
    if not text.strip():
        return "must not be empty"
    if "\x00" in text:
        return "must not contain a NUL byte"
    bad = next((ch for ch in text if ord(ch) < 0x20 or ord(ch) == 0x7F), None)
    if bad is not None:
        return f"must not contain control characters (found {bad!r})"
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 text"
    if len(encoded) > PATH_MAX_BYTES:
        return f"is {len(encoded)} bytes long, more than the {PATH_MAX_BYTES} a path may have"
    longest = max(text.split("/"), key=lambda part: len(part.encode("utf-8")))
    if len(longest.encode("utf-8")) > NAME_MAX_BYTES:
        return (f"has a name of {len(longest.encode('utf-8'))} bytes ({longest[:20]}...), more than the "
                f"{NAME_MAX_BYTES} a file name may have")
    return None


def optional_path():
    """None, or a string that can name a file (`path_problem`)."""

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, str):
            raise ConfigError(f"{attr.name} must be a string (a path), got {_fmt(value)}")
        problem = path_problem(value)
        if problem is not None:
            raise ConfigError(f"{attr.name} {problem}")

    return _optional(with_rule(check, Rule("path", nonempty=True)))


def nesting_depth(data: Any, limit: int) -> int:
    """How deeply parsed TOML or JSON nests (tables/objects and arrays), found without recursion;
    the walk stops once it passes `limit`, so a hostile document costs no more than the limit."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > limit:
            break
        children = value.values() if isinstance(value, dict) else value
        stack.extend((v, depth + 1) for v in children if isinstance(v, (dict, list)))
    return deepest
