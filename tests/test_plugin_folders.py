"""Plugins from any folder: a package in the folder the program is started in (however it is started),
or a Python file given by its path; and the shipped examples are part of the installed package.

tests/test_processes.py runs the real program this way: `python /elsewhere/app.py` from a folder
holding the plugin package, with a second plugin given as a file.
"""
from __future__ import annotations

import os
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import setuptools

from config.schema import PluginSpec
from ecs.system import System
from plugins.boundary import PluginError, module_key
from plugins.loading import parse_plugin_arg, resolve

ROOT = Path(__file__).resolve().parents[1]

SYSTEM_SOURCE = """
from ecs.system import System
{imports}

class {cls}(System):
    reads = ("state",)
    writes = ()
    tag = {tag!r}

    def process(self, world, dt):
        pass
"""


def write_system(path: Path, cls: str, tag: str, imports: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SYSTEM_SOURCE.format(cls=cls, tag=tag, imports=imports))
    return path


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """sys.path and sys.modules restored afterwards; the test starts in an empty folder that is not on the path."""
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != ""])  # the project stays importable
    before = set(sys.modules)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work
    for name in set(sys.modules) - before:
        if name.startswith(("nc_", "calf_ecs_plugin_")):
            del sys.modules[name]


def test_a_package_in_the_current_folder_loads_without_pythonpath(isolated):
    write_system(isolated / "nc_here" / "__init__.py", "Nothing", "pkg")
    write_system(isolated / "nc_here" / "speed.py", "TopSpeed", "here")
    assert str(isolated) not in sys.path
    cls = resolve(parse_plugin_arg("nc_here.speed:TopSpeed:after=PhysicsSystem"))
    assert issubclass(cls, System) and cls.tag == "here"
    assert sys.path[-1] == str(isolated)  # appended: the project's own modules still come first


def test_the_projects_modules_win_over_a_same_named_folder_in_the_current_folder(isolated):
    (isolated / "examples").mkdir()
    (isolated / "examples" / "__init__.py").write_text("raise RuntimeError('the wrong examples')\n")
    sys.modules.pop("examples.lyapunov_monitor", None)
    cls = resolve(PluginSpec(system="examples.lyapunov_monitor:LyapunovMonitor"))
    assert Path(sys.modules[cls.__module__].__file__).resolve().is_relative_to(ROOT)


def test_a_plugin_file_by_absolute_or_relative_path_with_its_own_imports(isolated, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "nc_helpers.py").parent.mkdir()
    (elsewhere / "nc_helpers.py").write_text("TAG = 'from a sibling module'\n")
    write_system(elsewhere / "counter.py", "FrameCounter", "file", imports="from nc_helpers import TAG")
    by_abs = resolve(parse_plugin_arg(f"{elsewhere / 'counter.py'}:FrameCounter:before=PhysicsSystem"))
    assert by_abs.tag == "file"
    assert sys.modules["nc_helpers"].TAG == "from a sibling module"
    by_rel = resolve(parse_plugin_arg("../elsewhere/counter.py:FrameCounter"))  # relative to the current folder
    assert by_rel is by_abs  # the same file is one module


def test_two_files_with_the_same_name_in_different_folders_are_different_modules(isolated, tmp_path):
    a = write_system(tmp_path / "a" / "speed.py", "TopSpeed", "a")
    b = write_system(tmp_path / "b" / "speed.py", "TopSpeed", "b")
    assert module_key(str(a)) != module_key(str(b))
    assert resolve(PluginSpec(system=f"{a}:TopSpeed")).tag == "a"
    assert resolve(PluginSpec(system=f"{b}:TopSpeed")).tag == "b"


@pytest.mark.parametrize("case, message", [
    ("missing", "its file .*missing.py: not found"),
    ("directory", "its file .*folder.py: is a directory"),
    ("fifo", "its file .*pipe.py: is a FIFO"),
    ("syntax", "SyntaxError"),
    ("module", "No module named 'nc_absent' \\(looked in the current folder and on the Python path\\)"),
])
def test_a_plugin_that_cannot_be_found_or_read_is_one_line(isolated, case, message):
    if case == "missing":
        target = "missing.py:X"
    elif case == "directory":
        (isolated / "folder.py").mkdir()
        target = "folder.py:X"
    elif case == "fifo":
        os.mkfifo(isolated / "pipe.py")
        target = "pipe.py:X"
    elif case == "syntax":
        (isolated / "broken.py").write_text("def (:\n")
        target = "broken.py:X"
    else:
        target = "nc_absent.speed:X"
    with pytest.raises(PluginError, match=message) as info:
        resolve(parse_plugin_arg(target))
    assert "\n" not in str(info.value)
    assert not [m for m in sys.modules if m.startswith("calf_ecs_plugin_broken")]  # a failed import leaves nothing


def test_the_examples_package_is_installed_with_the_program():
    """`calf-ecs --plugin examples.lyapunov_monitor:LyapunovMonitor` works outside the repository
    only if the wheel carries `examples` (setuptools' own package discovery, as pip runs it)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    found = setuptools.find_packages(where=str(ROOT), include=include)
    assert "examples" in found
    assert {"ecs", "runtime", "config", "systems", "rl"} <= set(found)
    assert not {"tests", "bench", "experiments"} & set(found)


def test_plugin_figures_are_one_line_each_under_the_summary():
    from plugins.figures import figure_lines

    lines = figure_lines({
        "LyapunovMonitor": {"episodes": 17, "decrease_fraction": 0.353812, "ok": True, "none": None},
        "Nested": {"by_mode": {"certified": 3, "relax": 0.5}},
        "Broken": {"error": "ZeroDivisionError: figures bug\nsecond line"},
        "Scalar": float("nan"),
    })
    assert lines == [
        "LyapunovMonitor: episodes 17, decrease_fraction 0.3538, ok true, none null",
        "Nested: by_mode.certified 3, by_mode.relax 0.5",
        "Broken: error ZeroDivisionError: figures bug\\nsecond line",
        "Scalar: nan",
    ]
    assert figure_lines({}) == [] and figure_lines({"error": "KeyError: 'q'"}) == ["plugin figures: not made (KeyError: 'q')"]
