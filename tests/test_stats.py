"""StatsCache (dirty flags, per-item intervals) and StatsSystem: how often the HUD queries the critic,
rebuilds its text and reassigns it; and what the text says."""
import math

import numpy as np
import pytest

from components.agent_table import AgentTable
from components.resources import Counters
from components.stats_cache import StatsCache
from components.training_stats import TrainingStats
from components.view_state import HudText, ViewState
from ecs.system import System
from rl.networks import Networks
from systems.hud_text import KEYS_HELP, LEGEND, SIDEBAR_COLUMNS, legend_lines, profiler_text, stats_text
from tests.view_worlds import view_world


def test_cache_recomputes_when_due_or_dirty():
    cache = StatsCache({"a": 10, "b": 3})
    calls = {"a": 0, "b": 0}

    def make(key):
        def compute():
            calls[key] += 1
            return calls[key]
        return compute

    for frame in range(30):
        cache.get("a", frame, make("a"))
        cache.get("b", frame, make("b"))
    assert calls == {"a": 3, "b": 10}  # frames 0, 10, 20 and 0, 3, ..., 27
    cache.mark_dirty("a")
    assert cache.is_dirty("a") and cache.get("a", 30, make("a")) == 4 and not cache.is_dirty("a")
    assert cache.get("a", 31, make("a")) == 4  # clean and not due: the cached value
    cache.mark_all_dirty()
    assert cache.due("b", 31)
    assert cache.computes["a"] == 4


def test_disabled_cache_recomputes_every_time():
    cache = StatsCache({"a": 10}, enabled=False)
    values = [cache.get("a", f, lambda f=f: f) for f in range(5)]
    assert values == [0, 1, 2, 3, 4] and cache.computes["a"] == 5


def test_interval_must_be_positive():
    with pytest.raises(ValueError):
        StatsCache({"a": 0})


def world_with_intervals(cache=True, agents=3, **visual):
    return view_world(agents=agents, visual={"use_stats_cache": cache, **visual}, env={"max_steps_per_episode": 10_000})


def hud_queries(world):
    return world.resource(StatsCache).computes["q_value"]


def test_intervals_from_the_config_drive_the_items():
    world = world_with_intervals(stats_q_value_update_freq=10, stats_text_update_freq=5, stats_profiler_update_freq=30)
    world.run(300)
    cache = world.resource(StatsCache)
    assert cache.computes["text"] == 60
    assert cache.computes["q_value"] == 30
    assert cache.computes["profiler"] == 10
    counters = world.resource(Counters)
    assert counters.get("network_forward_calls") == 2 + 30  # the grid once, the HUD every 10 frames


def test_text_reassigned_only_when_it_changed():
    world = world_with_intervals()
    hud = world.resource(HudText)
    world.run(50)
    version = hud.stats_version
    stats = world.resource(TrainingStats)
    # freeze what the text shows: a paused-like world where nothing changes between rebuilds
    world.schedule.disable("PhysicsSystem")
    world.run(50)
    assert hud.stats_version <= version + 1  # rebuilt 10 times, reassigned at most once (the q value settles)
    stats.episode_return = -12.5
    world.run(5)
    assert hud.stats_version >= version + 1 and "-12.50" in hud.stats


def test_baseline_queries_the_critic_and_reassigns_every_frame():
    world = world_with_intervals(cache=False)
    world.run(100)
    hud = world.resource(HudText)
    assert hud_queries(world) == 100
    assert world.resource(Counters).get("network_forward_calls") == 2 + 100
    assert hud.stats_version == 100 and hud.profiler_version == 100


class FilterReportsQ(System):
    """Stands in for the CALF filter: it reports the training agent's Q every frame."""

    def process(self, world, dt):
        world.resource(TrainingStats).q = -1.25


def test_no_query_when_the_filter_already_has_q():
    world = world_with_intervals()
    world.add_system(FilterReportsQ(), before="StatsSystem")
    counters = world.resource(Counters)
    world.step()
    start = counters.get("network_forward_calls")
    world.run(200)
    assert counters.get("network_forward_calls") == start
    assert "Q(s,a)   -1.2500" in world.resource(HudText).stats


def test_q_value_is_the_critic_at_the_training_agents_state_and_action():
    world = world_with_intervals()
    world.run(3)
    table = world.resource(AgentTable)
    tr = table.training_row
    q = world.system("StatsSystem").q_value(world)
    expected = world.resource(Networks).q(table.state[tr : tr + 1], table.action[tr : tr + 1])[0]
    assert q == pytest.approx(expected)


def test_dirty_marks_rebuild_at_once():
    world = world_with_intervals(stats_text_update_freq=1000, stats_q_value_update_freq=1000)
    cache = world.resource(StatsCache)
    world.run(3)
    built = cache.computes["text"]
    world.resource(ViewState).paused = True
    world.step()
    assert cache.computes["text"] == built + 1 and "[PAUSED]" in world.resource(HudText).stats
    from components.resources import PopulationRequests

    world.resource(PopulationRequests).request(+2)
    world.step()
    assert cache.computes["text"] == built + 2
    assert "learners      5 + 1 training   cohort     8" in world.resource(HudText).stats
    # the training agent's episode ends: text and q are recomputed
    table = world.resource(AgentTable)
    q_before = cache.computes["q_value"]
    world.events.emit("episodes_ended", np.array([table.training_row]), np.array([1], np.int8), np.zeros(1), np.ones(1))
    world.step()
    assert cache.computes["q_value"] == q_before + 1


def test_stats_text_shows_every_hud_item():
    values = {
        "system": "point_mass", "warp": "25", "paused": False, "episode": 12, "episodes_total": 500,
        "total_steps": 8432, "visual_agents": 30, "training_agents": 1, "episode_return": -35.25,
        "episode_length": 123, "mean_return_10": -40.5, "success_rate": 0.75, "phase": "TRAINING", "noise": 0.5,
        "buffer_size": 8432, "critic_loss": 0.0123, "actor_loss": 1.5, "mode": 0, "p_relax": 0.95,
        "certification_rate": 0.8, "intervention_rate": 0.15, "relax_rate": 0.05, "q": -2.0, "q_cert": -2.5,
        "required": 0.025, "all_certification_rate": 0.6, "all_intervention_rate": 0.3, "cohort_agents": 8,
        "cohort_success_rate": 0.95, "cohort_certification_rate": 0.61,
        "all_relax_rate": 0.1, "all_success_rate": 0.9, "collect": "31 learning", "state_norm": 0.5, "kappa_low": 0.0025, "kappa_up": 250.0, "grid_q_range": (-9.0, -0.1),
        "grid_refreshes": 4, "learners_boundary_exits": 2, "learners_failures": 4, "learners_episodes": 40,
        "learners_nominal_failures": 1.0,
    }
    text = stats_text(values)
    for needle in ["episode     12 / 500", "steps       8432", "learners     30 + 1 training   cohort     8", "-35.25", "123",
                   "-40.50", "75.0 %", "TRAINING", "0.500", "8432", "0.0123", "1.5", "training agent: certified",
                   "P_relax  0.95000", "certified  80.0 %", "intervention  15.0 %", "relax       5.0 %",
                   "Q(s,a)   -2.0000", "q_cert   -2.5000", "diff     +0.5000", "need     0.025", "learners (31 learning)  boundary     2",
                   "failed       4 of       40, nominal ~   1.0",
                   "cohort: success  95.0 %  certified  61.0 %",
                   "cert  60.0 %  fall  30.0 %  relax  10.0 %", "|s|    0.5000",
                   "k_low    0.0025 <= -Q    2.0000 <= k_up", "   250.00  hold", "grid q [   -9.000,    -0.100]",
                   "refreshes 4", "warp 25"]:
        assert needle in text, needle
    for line in legend_lines():
        assert line in text.split("\n")
    assert KEYS_HELP in text
    assert max(len(line) for line in text.split("\n")) <= SIDEBAR_COLUMNS  # it fits the sidebar
    values.update(q=-300.0)
    assert "VIOLATED" in stats_text(values)
    values.update(q=math.nan, q_cert=math.nan, kappa_low=math.nan)
    text = stats_text(values)
    assert "Q(s,a)         -" in text and "diff           -" in text
    assert len(LEGEND) == 5 and LEGEND[-1][0] == "cohort"
    values.update(paused=True)
    assert "[PAUSED]" in stats_text(values)


def test_profiler_panel_lists_the_five_slowest():
    world = world_with_intervals(stats_profiler_update_freq=1)
    world.run(40)
    panel = world.resource(HudText).profiler.split("\n")
    assert panel[0].startswith("slowest systems") and panel[-1].startswith("frame")
    assert panel[-2].startswith("simulation step") and "x1/frame" in panel[-2]
    assert len(panel) == 1 + 5 + 2
    names = [line.split()[0] for line in panel[1:-2]]
    assert set(names) <= set(world.schedule.names())
    assert profiler_text([], 0.0, False, 0).startswith("profiler off")


def test_the_hud_holds_each_groups_failures_against_the_nominal_on_as_many_episodes():
    world = view_world(agents=3, env={"max_steps_per_episode": 40}, training=True)
    world.run(130)  # several 40-step episodes: the nominal cannot reach the goal in 40 steps either
    stats = world.resource(TrainingStats)
    values = world.system("StatsSystem").values(world, float("nan"))
    rates = world.system("EvaluationSystem").safety_reference()
    for group in ("learners", "cohort"):
        counts = getattr(stats, group)
        assert counts.episodes > 0 and values[f"{group}_failures"] == counts.failures
        assert values[f"{group}_nominal_failures"] == pytest.approx(rates[group].failure_rate * counts.episodes)
    text = stats_text(values)
    assert f"failed {values['learners_failures']:>7} of {values['learners_episodes']:>8}, nominal ~" in text
