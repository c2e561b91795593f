"""A plugin's failure is contained wherever it happens (plugins.boundary).

Before the run (import, options, constructor, setup; `sys.exit()` included): one line, exit code 2,
nothing written. During the run (process, an event handler, its report figures): one line naming
the plugin, the phase and the frame, the plugin switched off, the frame completed, everything
saved (the final checkpoint holds the last whole frame), the traceback in errors.log, exit code 1.
At teardown: the outputs are already written, the failure is named, exit code 1.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import app
from components.agent_table import AgentTable
from config import build_config
from plugins.boundary import PluginFailures
from plugins.loading import parse_plugin_arg
from rl.checkpoint import read_checkpoint
from runtime.build import build_world

P = "tests.plugins_for_tests"
RUN = ["--headless", "--agents", "1", "--no-progress", "--out", "run", "--profile", "p.json"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("plugin,fragment", [
    (f"{P}.faulty:FailsInInit", "cannot be made with options {} (RuntimeError: constructor bug)"),
    (f"{P}.faulty:ExitsInInit", "cannot be made with options {} (SystemExit: it called sys.exit(3))"),
    (f"{P}.faulty:FailsInSetup", "setup failed (KeyError: 'setup bug')"),
    (f"{P}.exits_at_import:Anything", "cannot import tests.plugins_for_tests.exits_at_import (SystemExit: it called "
                                      "sys.exit(4))"),
    (f"{P}.raises_at_import:Anything", "(RuntimeError: import bug)"),
    ("huge_plugin:Anything", "its module file"),
    ("fifo_plugin:Anything", "No module named 'fifo_plugin'"),  # Python skips a FIFO: no hang
])
def test_a_plugin_failing_before_the_run_is_one_line_exit_2_and_nothing_written(here, capsys, monkeypatch, plugin,
                                                                               fragment):
    os.mkfifo(here / "fifo_plugin.py")
    with open(here / "huge_plugin.py", "wb") as f:  # sparse: 17 MiB of source Python would read and compile
        f.truncate(17 * 2**20)
    monkeypatch.syspath_prepend(str(here))
    code = app.main([*RUN, "--frames", "5", "--plugin", plugin])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("app.py: error: plugin "), err
    assert fragment in err, err
    assert sorted(p.name for p in here.iterdir()) == ["fifo_plugin.py", "huge_plugin.py"]


@pytest.mark.parametrize("options,fragment", [
    ("hud_every = 0", "hud_every must be a whole number of frames >= 1, got 0"),
    ("hud_every = -3", "got -3"),
    ('hud_every = "often"', "got 'often'"),
    ("hud_every = 2.5", "got 2.5"),
    ("hud_every = true", "got True"),
    ("every = 3", "unexpected keyword argument 'every'"),
])
def test_a_plugin_option_of_the_wrong_type_or_range_is_one_line(here, capsys, options, fragment):
    (here / "c.toml").write_text("[[plugins]]\nsystem = 'examples.lyapunov_monitor:LyapunovMonitor'\n"
                                 f"options = {{ {options} }}\n")
    code = app.main([*RUN, "--frames", "5", "--config", "c.toml"])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "bad options" in err and fragment in err, err
    assert sorted(p.name for p in here.iterdir()) == ["c.toml"]


@pytest.mark.parametrize("plugin,phase,frame", [
    (f"{P}.faulty:FailsAt:after=PhysicsSystem", "process", 30),
    (f"{P}.faulty:ExitsAt:after=ControlSystem", "process", 10),  # sys.exit() inside a frame
    (f"{P}.faulty:RaisesBaseException", "process", 7),  # not an Exception at all
    (f"{P}.faulty:FailsInHandler", "event handler 'episodes_ended'", None),
])
def test_a_plugin_failing_during_the_run_is_switched_off_and_everything_is_saved(here, capsys, plugin, phase, frame):
    (here / "c.toml").write_text("[env]\nmax_steps_per_episode = 20\n")  # episodes end (for the handler)
    code = app.main([*RUN, "--frames", "400", "--plugin", plugin, "--config", "c.toml"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err, err
    name = plugin.split(":")[1]
    line = next(x for x in err.splitlines() if x.startswith("app.py: error: "))
    assert line.startswith(f"app.py: error: plugin {name} failed in {phase} at frame "), err
    failed_at = int(line.split(" at frame ")[1].split(" ")[0])
    if frame is not None:
        assert failed_at == frame
    assert "it was switched off and the run stopped after that frame; everything was saved" in line
    summary = json.loads((here / "run" / "run_summary.json").read_text())
    steps = failed_at + 1  # the frame it failed in was completed without it
    assert summary["total_steps"] == steps and summary["interrupted"] is True
    assert read_checkpoint(here / "run" / "checkpoint.pt")["stats"]["total_steps"] == steps
    assert json.loads((here / "p.json").read_text())["meta"]["frames"] == steps
    assert f"plugin {name}, {phase}, frame {failed_at}" in (here / "run" / "errors.log").read_text()
    assert "Traceback (most recent call last)" in (here / "run" / "errors.log").read_text()


def test_a_plugin_failing_at_teardown_keeps_the_outputs_and_says_so(here, capsys):
    code = app.main([*RUN, "--frames", "30", "--plugin", f"{P}.faulty:FailsInTeardown"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err and "30 frames (headless)" in out
    assert err.splitlines()[-1].startswith("app.py: error: plugin FailsInTeardown failed in teardown at frame 30 "
                                           "(RuntimeError: teardown bug); the run's outputs were written before")
    assert json.loads((here / "run" / "run_summary.json").read_text())["total_steps"] == 30
    assert read_checkpoint(here / "run" / "checkpoint.pt")["stats"]["total_steps"] == 30


def test_a_plugins_figures_that_raise_or_hold_nan_never_lose_the_summary_or_profile(here, capsys):
    code = app.main([*RUN, "--frames", "20", "--plugin", f"{P}.faulty:BadFigures"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err and "figures bug" in err
    summary = json.loads((here / "run" / "run_summary.json").read_text())
    assert summary["extensions"]["BadFigures"] == {"error": "ZeroDivisionError: figures bug"}
    assert "error" in json.loads((here / "p.json").read_text())["extensions"]["BadFigures"]
    (here / "c.toml").write_text(f"[[plugins]]\nsystem = '{P}.faulty:BadFigures'\noptions = {{raise_in_summary = false}}\n")
    code = app.main([*RUN[:-4], "--out", "run2", "--profile", "p2.json", "--frames", "20", "--config", "c.toml"])
    out, err = capsys.readouterr()
    assert code == 0, err
    figures = json.loads((here / "run2" / "run_summary.json").read_text())["extensions"]["BadFigures"]
    assert figures == {"nan": None, "inf": None, "array": [0, 1, 2], "obj": "<class 'object'>"}  # NaN -> null


def test_a_contained_failure_in_a_world_without_a_session_switches_the_plugin_off_only():
    cfg = build_config(overrides={"visual": {"agents": 2}},
                       extra_plugins=[parse_plugin_arg(f"{P}.faulty:FailsAt:after=ControlSystem")])
    w = build_world(cfg)
    plugin = w.system("FailsAt")
    assert type(plugin).__name__ == "FailsAt"  # the schedule holds the plugin itself
    w.run(40)  # it fails at frame 30; the world goes on
    assert not plugin.enabled and w.frame == 40
    (failure,) = w.resource(PluginFailures)
    assert (failure.plugin, failure.phase, failure.frame) == ("FailsAt", "process", 30)
    assert np.isfinite(w.resource(AgentTable).state).all()
    w.shutdown()


@pytest.mark.parametrize("code,fragment", [
    ("import time\nwhile True:\n    time.sleep(0.05)\n", "importing slow_plugin did not finish within 1 s"),
    ("import time\nfrom ecs.system import System\n\n\nclass Slow(System):\n    def __init__(self):\n"
     "        while True:\n            time.sleep(0.05)\n", "its constructor did not finish within 1 s"),
])
def test_a_plugin_whose_import_or_constructor_never_returns_is_refused(here, capsys, monkeypatch, code, fragment):
    import plugins.boundary

    monkeypatch.setattr(plugins.boundary, "START_SECONDS", 1.0)
    (here / "slow_plugin.py").write_text(code)
    monkeypatch.syspath_prepend(str(here))
    code = app.main([*RUN, "--frames", "5", "--plugin", "slow_plugin:Slow"])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and fragment in err, err
    assert sorted(p.name for p in here.iterdir()) == ["slow_plugin.py"]
