"""The program's name as the user typed it: `calf-ecs` (the installed script) or `app.py`.

Usage lines, error and warning prefixes and the examples in --help all use it, so what the program
prints can be typed back as it is.
"""
from __future__ import annotations

import sys
from pathlib import Path

#: the console script pyproject.toml installs (`[project.scripts]`)
SCRIPT = "calf-ecs"


def installed_script() -> bool:
    """Whether the program was started as the installed `calf-ecs` script."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    name = Path(argv0).name.lower()
    return name in (SCRIPT, f"{SCRIPT}.exe", f"{SCRIPT}-script.py")


def prog() -> str:
    """The name in usage lines and message prefixes: `calf-ecs` or `app.py`."""
    return SCRIPT if installed_script() else "app.py"


def command() -> str:
    """What to type to run the program again: `calf-ecs` or `python app.py`."""
    return SCRIPT if installed_script() else "python app.py"
