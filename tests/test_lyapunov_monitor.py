"""The example plugin: placed where asked, timed by the profiler, numbers equal a loop oracle."""
import json

import numpy as np

import app
from components import AgentTable, ColumnSpec, Mode
from components.resources import HudLines
from config import build_config
from ecs import System
from plugins.loading import parse_plugin_arg
from runtime.build import build_world

SPEC = "examples.lyapunov_monitor:LyapunovMonitor:after=ControlSystem"


class ScriptedQ(System):
    """Writes a q and a mode per agent from a seeded RNG (a stand-in for any critic)."""

    reads = ("state",)
    writes = ("q", "mode")

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)

    def setup(self, world):
        t = world.resource(AgentTable)
        if not t.has_column("q"):
            t.add_column(ColumnSpec("q", (), np.float64, np.nan, owner=self.name))

    def process(self, world, dt):
        t = world.resource(AgentTable)
        t.q[:] = -np.abs(self.rng.normal(1.0, 0.5, t.n))
        t.q[self.rng.random(t.n) < 0.05] = np.nan  # a diverging critic now and then
        t.mode[:] = self.rng.integers(0, 3, t.n)


def loop_oracle(history, ended_at):
    """Per agent, per step, in plain Python: the monitor's run-wide totals."""
    totals = dict(episodes=0, steps=0, transitions=0, decreases=0, sum_dv=0.0, certified=0)
    n_agents = len(history[0][0])
    state = [dict(prev=None, steps=0, dec=0, sdv=0.0, cert=0) for _ in range(n_agents)]
    for frame, (q, mode) in enumerate(history):
        for i in range(n_agents):
            st = state[i]
            v = -q[i]
            if st["prev"] is not None and np.isfinite(v):
                dv = v - st["prev"]
                st["sdv"] += dv
                st["dec"] += dv < 0
            st["steps"] += 1
            st["cert"] += mode[i] == Mode.CERTIFIED
            if np.isfinite(v):
                st["prev"] = v
        for i in ended_at.get(frame, []):
            st = state[i]
            totals["episodes"] += 1
            totals["steps"] += st["steps"]
            totals["transitions"] += max(st["steps"] - 1, 0)
            totals["decreases"] += st["dec"]
            totals["sum_dv"] += st["sdv"]
            totals["certified"] += st["cert"]
            state[i] = dict(prev=None, steps=0, dec=0, sdv=0.0, cert=0)
    return totals


def test_monitor_matches_a_loop_oracle():
    from examples.lyapunov_monitor import LyapunovMonitor

    cfg = build_config(overrides={"visual": {"agents": 6}, "env": {"max_steps_per_episode": 17}})
    world = build_world(cfg)
    # a scripted critic right after ControlSystem, the monitor right after it
    world.add_system(ScriptedQ(), after="ControlSystem")
    monitor = world.add_system(LyapunovMonitor(hud_every=10), after="ScriptedQ")
    table = world.resource(AgentTable)
    history, ended_at = [], {}
    world.events.subscribe("episodes_ended", lambda rows, *a: ended_at.setdefault(world.frame, []).extend(rows))
    for _ in range(120):
        world.step()
        history.append((table.q.copy(), table.mode.copy()))
    want = loop_oracle(history, ended_at)
    got = monitor.summary()
    assert want["episodes"] > 20 and got["episodes"] == want["episodes"] and got["steps"] == want["steps"]
    assert np.isclose(got["decrease_fraction"], want["decreases"] / want["transitions"])
    assert np.isclose(got["mean_dv"], want["sum_dv"] / want["transitions"])
    assert np.isclose(got["certified_fraction"], want["certified"] / want["steps"])
    assert "Lyapunov monitor" in world.resource(HudLines)["LyapunovMonitor"]
    world.shutdown()


def test_monitor_runs_from_the_command_line_and_reports(tmp_path, capsys):
    prof = tmp_path / "p.json"
    code = app.main(["--headless", "--frames", "300", "--no-progress", "--agents", "3", "--plugin", SPEC,
                     "--set", "env.max_steps_per_episode=100",  # episodes end (the monitor reports at episode end)
                     "--profile", str(prof), "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    data = json.loads(prof.read_text())
    names = data["meta"]["schedule"]
    assert names.index("LyapunovMonitor") == names.index("ControlSystem") + 1
    assert data["systems"]["LyapunovMonitor"]["frames"] > 0
    ext = data["extensions"]["LyapunovMonitor"]
    assert set(ext) == {"episodes", "steps", "decrease_fraction", "mean_dv", "certified_fraction"}
    summary = json.loads((tmp_path / "run" / "run_summary.json").read_text())
    assert summary["extensions"]["LyapunovMonitor"]["steps"] >= ext["steps"] > 0
    capsys.readouterr()
    assert app.main(["--list-systems", "--headless", "--plugin", SPEC]) == 0
    lines = capsys.readouterr().out.splitlines()
    idx = [i for i, line in enumerate(lines) if line.endswith("LyapunovMonitor")][0]
    assert lines[idx - 1].endswith("ControlSystem")


def test_monitor_line_reaches_the_hud_text():
    from components.view_state import HudText
    from runtime.view_systems import add_view_systems

    cfg = build_config(overrides={"visual": {"agents": 2}}, extra_plugins=[parse_plugin_arg(SPEC)])
    world = build_world(cfg, extend=lambda w: add_view_systems(w, cfg))
    world.run(61)
    hud = world.resource(HudText)
    lines = hud.stats.splitlines()
    first = [i for i, line in enumerate(lines) if line.startswith("Lyapunov monitor:")]
    assert first, lines[-4:]
    tail = lines[first[0]:]  # the plugin's line, last, folded to the sidebar's 46 columns
    assert 1 < len(tail) <= 3 and tail[-1].endswith("episodes)")
    assert max(len(line) for line in tail) <= 46
    world.shutdown()
