"""attrs validators that fail with one readable line (the loader prefixes the section name)."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


class ConfigError(ValueError):
    """A configuration value, file or flag is invalid; the message names the problem."""


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

    return check


def optional_integer(lo: int | None = None, hi: int | None = None):
    inner = integer(lo, hi)

    def check(inst: Any, attr: Any, value: Any) -> None:
        if value is not None:
            inner(inst, attr, value)

    return check


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

    return check


def optional_number(lo: float | None = None, hi: float | None = None, **kw: bool):
    inner = number(lo, hi, **kw)

    def check(inst: Any, attr: Any, value: Any) -> None:
        if value is not None:
            inner(inst, attr, value)

    return check


def choice(options: Iterable[str]):
    opts = tuple(options)

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if value not in opts:
            raise ConfigError(f"{attr.name} must be one of {', '.join(opts)}; got {_fmt(value)}")

    return check


def boolean():
    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, bool):
            raise ConfigError(f"{attr.name} must be true or false, got {_fmt(value)}")

    return check


def string():
    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, str):
            raise ConfigError(f"{attr.name} must be a string, got {_fmt(value)}")

    return check


def to_float(value: Any) -> Any:
    """Let TOML integers fill float fields (1 -> 1.0); leave anything else for the validator."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
