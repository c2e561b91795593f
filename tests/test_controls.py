"""The view's keys as world actions (headless): pause, quit, toggles, +/- agents, profiler F1/F2/F3."""
import json

import numpy as np
import pytest

from components.agent_table import AgentTable
from components.stats_cache import StatsCache
from components.view_state import HudText, ViewState
from ecs.frame_times import FrameTimes
from tests.view_worlds import view_world
from view.controls import KEY_ACTIONS, press


@pytest.fixture
def world():
    w = view_world(agents=4)
    w.run(5)
    yield w
    w.shutdown()


def test_every_domain_key_is_bound():
    for key in ("p", "q", "escape", "h", "g", "+", "-", "f1", "f2", "f3"):
        assert key in KEY_ACTIONS
    assert press.__doc__


def test_toggles_and_quit(world):
    view = world.resource(ViewState)
    assert press(world, "p") and view.paused
    assert press(world, "p") and not view.paused
    press(world, "h")
    press(world, "g")
    assert not view.surface_visible and not view.grid_visible
    press(world, "h")
    assert view.surface_visible
    assert not press(world, "z")  # unbound keys do nothing
    press(world, "escape")
    assert view.quit_requested


def test_plus_and_minus_change_the_population_next_frame(world):
    table = world.resource(AgentTable)
    n = table.n
    press(world, "+")
    press(world, "=")  # + without shift
    assert table.n == n
    world.step()
    assert table.n == n + 2 and world.entity_count() == n + 2
    new_rows = np.arange(n, n + 2)
    assert np.all(table.trail_len[new_rows] == 1)  # their trails start with their first position
    cohort = len(table.cohort_entities())
    assert cohort > 0
    for _ in range(n + 5):  # more presses than visual agents: the training agent and the policy cohort stay
        press(world, "-")
    world.step()
    assert table.n == 1 + cohort and world.entity_count() == 1 + cohort
    assert table.group[table.training_row] == 0 and (table.group == 1).sum() == cohort
    table.check_consistency()


def test_profiler_keys(world, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    profiler = world.system("ProfilerSystem")
    press(world, "f1")
    exported = world.resource(ViewState).exported_profiles
    assert len(exported) == 1
    data = json.loads((tmp_path / exported[0]).read_text())  # relative to the current folder
    assert "HeatmapSystem" in data["systems"] and "StatsSystem" in data["systems"]
    assert "profile written to" in capsys.readouterr().out
    cache = world.resource(StatsCache)
    press(world, "f2")
    assert not profiler.enabled and cache.is_dirty("profiler")
    world.step()
    assert "profiler off" in world.resource(HudText).profiler
    press(world, "f2")
    assert profiler.enabled
    world.run(10)
    times = world.resource(FrameTimes)
    assert times.frames_recorded > 0
    press(world, "f3")
    assert times.frames_recorded == 0 and cache.is_dirty("profiler")
