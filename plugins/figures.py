"""The plugins' figures (`ReportExtras`) as lines under a run's summary line, so a headless run
shows what its plugins measured without opening run_summary.json."""
from __future__ import annotations

import math
from typing import Any

from process.messages import one_line

#: a figure's value longer than this is cut on the terminal (run_summary.json keeps all of it)
MAX_VALUE_CHARS = 80


def _value(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return str(x).lower() if isinstance(x, bool) else "null"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.4g}" if math.isfinite(x) else str(x)
    text = one_line(x)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def figure_lines(extensions: Any) -> list[str]:
    """One line per plugin: `Name: key value, key value, ...` (a nested table as `key.sub value`)."""
    if not isinstance(extensions, dict):
        return []
    if list(extensions) == ["error"] and isinstance(extensions["error"], str):  # ReportExtras.collect() failed
        return [one_line(f"plugin figures: not made ({extensions['error']})")]
    lines = []
    for name, figures in extensions.items():
        if isinstance(figures, dict):
            items = []
            for key, value in figures.items():
                if isinstance(value, dict):
                    items += [f"{key}.{sub} {_value(v)}" for sub, v in value.items()]
                else:
                    items.append(f"{key} {_value(value)}")
            body = ", ".join(items) if items else "(no figures)"
        else:
            body = _value(figures)
        lines.append(one_line(f"{name}: {body}"))
    return lines
