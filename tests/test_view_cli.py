"""The command line's view flags: contradictions are one-line errors; --list-systems shows the view's order
without starting a renderer."""
import subprocess
import sys
from pathlib import Path

import pytest

import app

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--headless", "--offscreen"], "--headless and --offscreen exclude each other"),
        (["--headless", "--screenshot", "s.png"], "--screenshot needs a rendered run"),
        (["--offscreen", "--screenshot", "s.jpg"], "must end in .png"),
        (["--offscreen", "--screenshot", "missing/s.png"], "does not exist"),
    ],
)
def test_bad_view_flags_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = app.main(argv + ["--frames", "5"])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and err.startswith("app.py: error:") and message in err, err
    assert out == "" and list(tmp_path.iterdir()) == []


def test_list_systems_shows_the_view_order_without_a_renderer():
    code = (
        "import sys, app\n"
        "rc = app.main(['--list-systems'])\n"
        "print('LOADED', [m for m in ('ursina', 'panda3d') if m in sys.modules])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=900)  # a guard against a hang only
    lines = [line.split(". ", 1)[1] for line in res.stdout.splitlines() if ". " in line]
    view = ["HeatmapSystem", "HeightSystem", "TrailBatchSystem", "StatsSystem", "RenderSystem"]
    assert lines[:5] == ["FiniteCheckSystem", "PopulationSystem", "ControlSystem", "InspectionSystem",
                         "PhysicsSystem"], res.stdout + res.stderr
    assert "view phase - once per frame:" in res.stdout.splitlines()
    assert lines[-6:] == view + ["ProfilerSystem"]  # after everything that moves agents (and training)
    assert "LOADED []" in res.stdout
