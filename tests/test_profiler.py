"""ProfilerSystem: every system timed by name, the JSON format, counters, reset, toggling."""
import pytest
import json
import time


from components.resources import Counters
from config import build_config
from ecs import System
from ecs.frame_times import FrameTimes
from runtime.build import build_world
from systems.profiler import ProfilerSystem

REQUIRED_META = {"agents", "frames", "system", "preset", "seed", "flags", "python", "platform"}


class Sleepy(System):
    """Takes a known ~1 ms so the profiler must attribute it to this name."""

    def process(self, world, dt):
        end = time.perf_counter() + 0.001
        while time.perf_counter() < end:
            pass
        world.resource(Counters).add("sleeps", 2)


def world_for_test(agents=5):
    # no TD3 updates: their start mid-window would make frame costs uneven across the window
    cfg = build_config(overrides={"visual": {"agents": agents}, "profiler": {"window": 50},
                                  "training": {"train_steps_per_frame": 0}})
    return build_world(cfg)


def test_report_has_the_documented_shape(tmp_path):
    world = world_for_test()
    world.run(120)
    path = tmp_path / "profile.json"
    world.system("ProfilerSystem").write_json(path)
    data = json.loads(path.read_text())
    assert REQUIRED_META <= set(data["meta"])
    assert data["meta"]["frames"] == 120 and data["meta"]["agents"] == 5
    assert set(data["frame"]) >= {"mean_ms", "median_ms", "p95_ms", "max_ms", "fps"}
    assert list(data["systems"]) == ["FiniteCheckSystem", "PopulationSystem", "ControlSystem", "PhysicsSystem",
                                     "TrainingSystem", "EvaluationSystem", "ProfilerSystem"]
    for s in data["systems"].values():
        assert set(s) >= {"mean_ms", "median_ms", "p95_ms", "max_ms", "share"}
        assert 0 <= s["median_ms"] <= s["p95_ms"] <= s["max_ms"]
    assert sum(s["share"] for s in data["systems"].values()) <= 1.0 + 1e-9
    assert {"cpu_percent", "rss_mb"} <= set(data["process"]) and data["process"]["rss_mb"] > 10
    assert data["frame"]["frames_in_window"] == 50  # the rolling window
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temp file
    world.shutdown()


@pytest.mark.parametrize("frames, warmup", [(30, 0), (120, 0), (700, 0), (190, 100)])
def test_meta_window_frames_is_the_window_the_statistics_use(frames, warmup):
    """meta.window_frames counts the frames still pending in the recorder too (they were left out
    when the recorder had not flushed them yet), so it always equals frame.frames_in_window."""
    world = world_for_test(agents=2)
    world.run(warmup)
    if warmup:
        world.system("ProfilerSystem").reset()
    world.run(frames - warmup)
    report = world.system("ProfilerSystem").report()
    assert report["meta"]["window_frames"] == report["frame"]["frames_in_window"] == min(frames - warmup, 50)
    world.shutdown()


def test_a_system_added_later_appears_with_its_own_timing_and_counter():
    world = world_for_test()
    world.run(10)
    world.add_system(Sleepy(), after="PhysicsSystem")
    world.run(40)
    rep = world.system("ProfilerSystem").report()
    assert list(rep["systems"])[:5] == ["FiniteCheckSystem", "PopulationSystem", "ControlSystem", "PhysicsSystem",
                                        "Sleepy"]
    s = rep["systems"]["Sleepy"]
    assert s["median_ms"] >= 0.9 and s["frames"] == 40  # time.sleep(1 ms) sleeps at least that long
    assert s["share"] == pytest.approx(s["mean_ms"] / rep["frame"]["mean_ms"])  # share of the frame's mean
    assert rep["counters"]["sleeps"]["total"] == 80
    assert abs(rep["counters"]["sleeps"]["per_frame"] - 80 / 50) < 1e-9
    world.shutdown()


def test_reset_forgets_and_disable_stops_timing():
    world = world_for_test()
    world.add_system(Sleepy(), after="PhysicsSystem")
    world.run(20)
    prof = world.system("ProfilerSystem")
    prof.reset()
    rep = prof.report()
    assert rep["frame"]["frames_in_window"] == 0 and rep["counters"]["sleeps"]["total"] == 0
    prof.set_enabled(False)
    world.run(20)
    assert prof.times.frames_recorded == 0
    prof.set_enabled(True)
    world.run(20)
    assert prof.times.frames_recorded == 20
    world.shutdown()


def test_frame_times_attribute_durations_to_the_right_column():
    ft = FrameTimes(window=8, chunk=3)
    record = ft.begin_schedule(["A", "B"])
    assert len(record) == 5  # start, A's ns, B's ns, end, simulation steps
    base = 0
    for i in range(10):
        record[:] = [base, 1_000_000, 2_000_000, base + 3_000_000, 1]  # A: 1 ms, B: 2 ms
        ft.commit(record)
        base += 4_000_000  # frames start every 4 ms
    st = ft.system_stats()
    assert st["A"]["median_ms"] == 1.0 and st["B"]["median_ms"] == 2.0
    fr = ft.frame_stats()
    assert fr["median_ms"] == 4.0 and fr["frames_in_window"] == 8
    assert abs(st["B"]["share"] - 0.5) < 0.05
    assert st["A"]["total_ms"] == 10.0  # totals cover all frames, the window only the last 8


def test_profiler_off_records_nothing():
    cfg = build_config(overrides={"profiler": {"enabled": False}})
    world = build_world(cfg)
    world.run(10)
    prof = world.system("ProfilerSystem")
    assert isinstance(prof, ProfilerSystem) and prof.times.frames_recorded == 0
    assert "ProfilerSystem" in world.schedule.names() and not prof.enabled
    world.shutdown()


def test_each_frame_is_credited_with_its_own_period_so_shares_never_exceed_one():
    """Synthetic stamps: a slow last frame must not be paired with a fast earlier period."""
    from ecs.frame_times import FrameTimes

    ft = FrameTimes(window=4, chunk=2)
    ft.begin_schedule(["A", "B"])
    t = 0
    # frames (A ms, B ms, idle gap ms): the slowest frame comes last, after the window wraps
    frames = [(1, 1, 8), (1, 1, 0), (2, 2, 1), (1, 1, 0), (5, 5, 0), (10, 20, 0)]
    for a, b, gap in frames:
        ft.commit([t, a * 1_000_000, b * 1_000_000, t + (a + b) * 1_000_000, 1])
        t += (a + b + gap) * 1_000_000
    sys = ft.system_stats()
    frame = ft.frame_stats()
    # window holds the last four frames; the newest's period is its own span (30 ms)
    assert frame["mean_ms"] == pytest.approx((5 + 2 + 10 + 30) / 4)
    assert sys["A"]["mean_ms"] == pytest.approx((2 + 1 + 5 + 10) / 4)
    assert sum(s["share"] for s in sys.values()) <= 1.0 + 1e-12
    # a later frame fixes the newest frame's period to start-to-start
    ft.commit([t + 3_000_000, 1_000_000, 1_000_000, t + 5_000_000, 1])
    ft.flush()
    assert ft.frame_stats()["max_ms"] == pytest.approx(33.0)
