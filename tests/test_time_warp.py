"""Time warp and schedule phases: K simulation steps per frame, the same simulation as K frames of one
step, hooks per step and per frame, phases chosen by anchors or asked for, the auto controller,
and the profiler's time per frame and per step."""
import json

import numpy as np
import pytest

import app
from components.agent_table import AgentTable
from components.time_warp import AUTO_MAX_STEPS, AUTO_TARGET_FPS, WARP_LEVELS, TimeWarp
from components.training_stats import TrainingStats
from config import build_config
from ecs import ScheduleError, System, World
from plugins.loading import PluginError, parse_plugin_arg
from runtime.build import build_world
from tests.view_worlds import view_world
from view import controls


def calf_cfg(**visual):
    return build_config(overrides={"visual": {"agents": 6, **visual}, "run": {"seed": 3},
                                   "env": {"max_steps_per_episode": 80},
                                   "td3": {"start_training_step": 30, "batch_size": 16}})


def snapshot(world):
    table = world.resource(AgentTable)
    stats = world.resource(TrainingStats)
    return (table.state.copy(), table.mode.copy(), table.q_cert.copy(), stats.total_steps, stats.episodes,
            stats.critic_loss)


def test_warp_k_for_f_frames_is_the_same_simulation_as_k_times_f_frames_of_one_step():
    a = build_world(calf_cfg())
    b = build_world(calf_cfg(warp=7))
    assert b.steps_per_frame == 7
    a.run(7 * 30)
    b.run(30)
    assert a.steps == b.steps == 210 and a.frame == 210 and b.frame == 30
    for x, y in zip(snapshot(a), snapshot(b)):
        np.testing.assert_array_equal(x, y)
    a.shutdown()
    b.shutdown()


def test_steps_advance_by_k_per_frame_and_hooks_run_per_step_and_per_frame():
    world = view_world(agents=3, training=True, policy="calf")
    stats = world.resource(TrainingStats)
    steps, frames = [], []
    world.on_step_end(lambda w: steps.append(w.steps))
    world.on_frame_end(lambda w: frames.append(w.frame))
    for k in (1, 5, 25):
        world.steps_per_frame = k
        before = stats.total_steps
        assert world.step() == k
        assert stats.total_steps - before == k
    assert len(steps) == 31 and len(frames) == 3 and steps == list(range(1, 32))
    done = world.step(10, until=lambda: world.steps >= 35)  # a stop condition ends the frame's steps early
    assert done == 4 and world.steps == 35
    with pytest.raises(ValueError):
        world.steps_per_frame = 0
    world.shutdown()


def test_the_view_phase_runs_once_per_frame_whatever_k():
    world = view_world(agents=3)
    calls = {"sim": 0, "view": 0}

    class CountSim(System):
        phase = "simulation"

        def process(self, w, dt):
            calls["sim"] += 1

    class CountView(System):
        phase = "view"

        def process(self, w, dt):
            calls["view"] += 1

    world.add_system(CountSim())
    world.add_system(CountView())
    world.steps_per_frame = 10
    world.run(4)
    assert calls == {"sim": 40, "view": 4}
    world.shutdown()


def make(name, phase=None):
    return type(name, (System,), {"name": name, "phase": phase, "process": lambda self, w, dt: None})()


def test_placement_joins_the_anchors_phase_or_the_asked_one():
    w = World()
    w.add_system(make("Physics", "simulation"))
    w.add_system(make("Render", "view"))
    w.add_system(make("Monitor"), after="Physics")  # joins its anchor's phase
    w.add_system(make("Overlay"), before="Render")
    w.add_system(make("Late"))  # nothing asked: the end of the view phase, as before phases existed
    w.add_system(make("Sampler", "simulation"))  # the end of the simulation phase
    s = w.schedule
    assert s.names() == ["Physics", "Monitor", "Sampler", "Overlay", "Render", "Late"]
    assert [x.name for x in s.in_phase("simulation")] == ["Physics", "Monitor", "Sampler"]
    assert s.phase_of("Overlay") == "view"
    with pytest.raises(ScheduleError, match="asks for the view phase but is anchored on 'Physics'"):
        w.add_system(make("Bad"), after="Physics", phase="view")
    with pytest.raises(ScheduleError, match="anchored on systems of different phases"):
        w.add_system(make("Bad"), after="Physics", before="Render")
    with pytest.raises(ScheduleError, match="unknown phase 'fixed'"):
        w.add_system(make("Bad", "fixed"))
    assert "Bad" not in s
    text = s.describe(steps_per_frame="25")
    assert text.splitlines()[0] == "simulation phase - fixed step, K steps per frame: the time warp, now K = 25:"
    assert "view phase - once per frame:" in text.splitlines()


def test_plugins_may_ask_for_a_phase():
    spec = parse_plugin_arg("examples.lyapunov_monitor:LyapunovMonitor:phase=view")
    assert spec.phase == "view"
    with pytest.raises(PluginError, match="phase must be one of simulation, view"):
        parse_plugin_arg("examples.lyapunov_monitor:LyapunovMonitor:phase=later")
    code = app.main(["--list-systems", "--headless", "--plugin", "examples.lyapunov_monitor:LyapunovMonitor"])
    assert code == 0


def test_list_systems_shows_the_phases(capsys):
    assert app.main(["--list-systems", "--headless", "--plugin",
                     "examples.lyapunov_monitor:LyapunovMonitor:after=ControlSystem", "--warp", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("now K = 5:")
    sim = lines[: lines.index("view phase - once per frame:")]
    assert any(line.endswith("LyapunovMonitor") for line in sim)  # anchored after ControlSystem: simulation


def test_headless_warp_through_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = app.main(["--headless", "--warp", "4", "--frames", "25", "--agents", "3", "--no-progress",
                     "--profile", "p.json", "--out", "run"])
    assert code == 0
    prof = json.loads((tmp_path / "p.json").read_text())
    assert prof["meta"]["format_version"] == 3
    assert prof["meta"]["frames"] == 25 and prof["meta"]["steps"] == 100 and prof["meta"]["steps_per_frame"] == 4
    assert prof["frame"]["steps_per_frame"] == 4.0 and prof["frame"]["step_ms"] > 0
    assert prof["meta"]["phases"]["view"] == ["ProfilerSystem"]
    physics = prof["systems"]["PhysicsSystem"]
    assert physics["phase"] == "simulation" and physics["per_step_ms"] == pytest.approx(physics["mean_ms"] / 4)
    assert prof["systems"]["ProfilerSystem"]["phase"] == "view" and "per_step_ms" not in prof["systems"]["ProfilerSystem"]
    calls = prof["counters"]["network_forward_calls"]
    assert calls["per_step"] == pytest.approx(calls["per_frame"] / 4)
    log = (tmp_path / "run" / "calf_log.csv").read_text().splitlines()
    assert len(log) == 1 + 100  # the CALF log has every step, not every frame


@pytest.mark.parametrize("argv,message", [
    (["--headless", "--warp", "auto"], "--warp auto keeps a rendered view at 20 FPS"),
    (["--headless", "--record", "v.mp4"], "--record needs a rendered run"),
    (["--offscreen", "--record", "v.avi"], "must end in .mp4"),
    (["--offscreen", "--record", "missing/v.mp4"], "does not exist"),
    (["--offscreen", "--record", "s.png", "--screenshot", "s.png"], "must end in .mp4"),
    (["--offscreen", "--record", "same.mp4", "--screenshot", "same.mp4"], "must end in .png"),
])
def test_bad_warp_and_record_flags_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = app.main(argv + ["--frames", "5"])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert out == "" and list(tmp_path.iterdir()) == []


def test_keys_step_through_the_warp_levels_and_auto():
    world = view_world(agents=2)
    warp = world.resource(TimeWarp)
    labels = []
    for _ in range(len(WARP_LEVELS) + 1):
        controls.press(world, "]")
        labels.append(warp.label())
    assert labels[:-2] == [str(k) for k in WARP_LEVELS[1:]] and labels[-2].startswith("auto")
    assert labels[-1] == labels[-2]  # auto is the top
    controls.press(world, "[")
    assert not warp.auto and warp.steps <= 100
    for _ in range(10):
        controls.press(world, "[")
    assert warp.label() == "1"
    world.shutdown()


def test_auto_warp_keeps_the_frame_near_the_target():
    warp = TimeWarp(steps=1, auto=True)
    view_s, step_s = 0.020, 0.0005  # a 20 ms view, 0.5 ms steps: 60 steps fill a 50 ms frame
    history = []
    for _ in range(60):
        k = warp.steps
        warp.observe(view_s + k * step_s, k * step_s, k)
        history.append(warp.steps)
        assert warp.steps <= max(1.5 * k, k + 1) + 1e-9  # never jumps
    assert abs(history[-1] - (1 / AUTO_TARGET_FPS - view_s) / step_s) <= 1
    # a view slower than the target alone: one step per frame
    slow = TimeWarp(steps=50, auto=True)
    for _ in range(30):
        slow.observe(0.08 + slow.steps * 1e-4, slow.steps * 1e-4, slow.steps)
    assert slow.steps == 1
    # free steps: capped
    fast = TimeWarp(steps=1, auto=True)
    for _ in range(60):
        fast.observe(0.001, 0.0, fast.steps)
    assert fast.steps == AUTO_MAX_STEPS
    fixed = TimeWarp(steps=5)
    fixed.observe(1.0, 0.9, 5)
    assert fixed.steps == 5  # fixed levels never move by themselves
