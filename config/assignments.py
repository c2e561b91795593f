"""`section.key=value` assignments (the `--set` flag, the sweep's variants) turned into config overrides.

A value is read as a TOML value (`1`, `0.5`, `true`, `"text"`); anything that is not one is taken
as a bare string (`env.system=point_mass`). A value is one line of printable text, read whole:
a newline, a control character, a comment or anything after the value is refused (it would be
cut silently), and so is nesting deeper than a config file may have. Each value then goes through the very converter and
validator its key has in the schema, the ones a config file's value goes through, so a bad value
is refused with the same words; settings that only fail together (reset_range against
boundary_limit, say) are caught when the whole config is built (config.loader.build_config).
"""
from __future__ import annotations

import tomllib
from typing import Any

import attrs

from config.loader import MAX_DEPTH, _check_keys
from config.schema import SECTIONS
from validation.validators import ConfigError, nesting_depth

#: an assignment longer than this is quoted cut short in messages, so the reason is never cut off
QUOTED = 120


def _quoted(text: str) -> str:
    return text if len(text) <= QUOTED else f"{text[:QUOTED]}... ({len(text)} characters)"


def parse_value(text: str) -> Any:
    """A TOML value if `text` is one (numbers, booleans, quoted strings), else the text itself; a
    ConfigError for text that is not one line, nests too deeply, or has more after the value."""
    bad = next((ch for ch in text if not (ch.isprintable() or ch == " ")), None)
    if bad is not None:
        what = "a newline" if bad in "\n\r" else f"the control character {bad!r}"
        raise ConfigError(f"the value holds {what}; a value is one line")
    try:
        data = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ConfigError(f"the value is nested too deeply (at most {MAX_DEPTH} levels)") from None
    if nesting_depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise ConfigError(f"the value is nested too deeply (at most {MAX_DEPTH} levels)")
    try:  # a comment after the value hides the closing bracket; anything else after it is a syntax error
        whole = tomllib.loads(f"v = [{text}, 0]")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        whole = None
    if set(data) != {"v"} or not isinstance(whole, list) or len(whole) != 2:
        raise ConfigError(f"there is more after the value {_quoted(repr(data['v']))} (a comment?); give the value alone")
    return data["v"]


def split_assignment(text: str, flag: str = "--set") -> tuple[str, str, str]:
    """'section.key=value' -> (section, key, value text); a malformed one is a ConfigError."""
    name, eq, value = text.partition("=")
    name = name.strip()
    if not eq:
        raise ConfigError(f"{flag} {text!r}: expected SECTION.KEY=VALUE (e.g. calf.nu_bar=1.0)")
    section, dot, key = name.partition(".")
    if not dot or not section or not key:
        raise ConfigError(f"{flag} {text!r}: the name must be SECTION.KEY (e.g. calf.nu_bar), got {name!r}")
    if not value.strip():
        raise ConfigError(f"{flag} {text!r}: no value after '='")
    _check_keys({section: {key: None}}, flag, top_level=False)
    return section, key, value.strip()


def check_value(section: str, key: str, value: Any) -> Any:
    """The value as the schema stores it (its converter applied), or a ConfigError from its validator."""
    field = attrs.fields_dict(SECTIONS[section])[key]
    if field.converter is not None:
        value = field.converter(value)
    if field.validator is not None:
        field.validator(None, field, value)
    return value


def parse_assignment(text: str, flag: str = "--set") -> tuple[str, str, Any]:
    """One 'section.key=value', checked: (section, key, value)."""
    section, key, raw = split_assignment(text, flag)
    try:
        value = parse_value(raw)
    except ConfigError as exc:
        raise ConfigError(f"{flag} {_quoted(text)}: {section}.{key}: {exc}") from None
    try:
        return section, key, check_value(section, key, value)
    except ConfigError as exc:
        raise ConfigError(f"{flag} {_quoted(text)}: {section}.{exc}") from None


def assignments_to_overrides(items: list[str], flag: str = "--set") -> dict[str, dict[str, Any]]:
    """Many assignments as config overrides; the same key twice is refused (which one was meant?)."""
    out: dict[str, dict[str, Any]] = {}
    for text in items:
        section, key, value = parse_assignment(text, flag)
        if key in out.get(section, {}):
            raise ConfigError(f"{flag} sets {section}.{key} twice")
        out.setdefault(section, {})[key] = value
    return out


def split_values(text: str) -> list[str]:
    """'1,5' -> ['1', '5']: the comma-separated values of a sweep variant (commas inside quotes or
    brackets do not split)."""
    parts, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]
