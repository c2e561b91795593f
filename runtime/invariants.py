"""What must stay true however long a run goes: consistency checks and the size of every history.

`check_invariants(world)` raises AssertionError when rows, esper entities, trails or the
certificate timeline disagree. `histories(world)` lists everything the program keeps that could
grow with time, each with its current size and the bound it can never pass; the soak test and
bench/soak.py check both while agents come and go and episodes end constantly.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from components.agent_table import AgentTable
from components.resources import Counters, HudLines, ReportExtras
from components.training_stats import TrainingStats
from config.schema import AppConfig


class History(NamedTuple):
    size: int  # items held now
    bound: int  # items it can never exceed


def check_invariants(world) -> None:  # noqa: ANN001
    """Rows == esper entities (and tags), nothing waiting in esper, trails consistent with the table."""
    table = world.resource(AgentTable)
    table.check_consistency()
    esp = world.esper
    assert world.entity_count() == table.n, f"{world.entity_count()} esper entities for {table.n} rows"
    assert not esp._dead_entities, "esper holds entities waiting to be deleted"
    if table.has_column("trail_pos"):
        length = world.resource(AppConfig).visual.trail_max_length
        n = table.n
        assert table.trail_pos.shape == (n, length, 3) and table.trail_mode.shape == (n, length)
        head, tlen, step = table.trail_head, table.trail_len, table.episode_step
        assert ((head >= 0) & (head < length)).all(), "trail head outside the ring"
        # a trail starts with its episode: with the spawn (step 0 before the first step) or the
        # respawn (its first point is the fresh state), so it holds step or step + 1 points
        assert (tlen >= np.minimum(step, length)).all() and (tlen <= np.minimum(step + 1, length)).all(), \
            "trail length does not match the episode"
    stats = world.try_resource(TrainingStats)
    if stats is not None:
        assert 0 <= stats.timeline_len <= len(stats.timeline_q), "certificate timeline beyond its capacity"


def histories(world, peak_agents: int | None = None) -> dict[str, History]:  # noqa: ANN001
    """Every collection that could grow during a run, with its bound. The agent table never
    shrinks, so its bound follows the largest population (`peak_agents`, rows) the run had."""
    from ecs.frame_times import FrameTimes

    table = world.resource(AgentTable)
    systems = len(world.schedule.names())
    out: dict[str, History] = {}
    stats = world.try_resource(TrainingStats)
    if stats is not None:
        for name in ("returns", "lengths", "success_flags"):
            series = getattr(stats, name)
            out[f"TrainingStats.{name}"] = History(len(series), series.maxlen)
        out["TrainingStats.timeline"] = History(stats.timeline_len, len(stats.timeline_q))
    from rl.replay import ReplayBuffer

    replay = world.try_resource(ReplayBuffer)
    if replay is not None:
        out["ReplayBuffer rows"] = History(replay.size, replay.capacity)
    times = world.try_resource(FrameTimes)
    if times is not None:
        out["profiler window"] = History(times.count, times.window)
        out["profiler pending stamps"] = History(len(times._flat), times.chunk * (len(times._names) + 1))
        out["profiler columns"] = History(len(times._col), systems)  # one per system ever scheduled
    if "ProfilerSystem" in world.schedule:
        prof = world.system("ProfilerSystem")
        out["profiler psutil samples"] = History(len(prof._rss_samples), prof._rss_samples.maxlen)
    out["esper entities"] = History(world.entity_count(), table.capacity)
    out["agent table capacity"] = History(table.capacity, max(16, 2 * max(peak_agents or 0, table.n)))
    handlers = sum(len(h) for h in world.events._handlers.values())
    out["event handlers"] = History(handlers, 4 * systems)  # subscribed in setup, a few per system
    out["frame-end hooks"] = History(len(world._frame_end_hooks), 4)
    out["step-end hooks"] = History(len(world._step_end_hooks), 4)  # the run's outputs
    out["counters"] = History(len(world.resource(Counters).totals), 32)  # a fixed set of names
    out["HUD plugin lines"] = History(len(world.resource(HudLines)), systems)  # one per plugin at most
    out["report extras"] = History(len(world.resource(ReportExtras)), systems)
    from systems.trails import TrailChanges

    changes = world.try_resource(TrailChanges)
    if changes is not None:
        out["trail dirty flags"] = History(changes.dirty.size, max(16, 2 * table.capacity))
    from components.stats_cache import StatsCache

    cache = world.try_resource(StatsCache)
    if cache is not None:
        out["HUD cache items"] = History(len(cache._values), len(cache.intervals))
    from components.view_state import ViewState
    from view.controls import EXPORTS_KEPT

    view = world.try_resource(ViewState)
    if view is not None:
        out["F1 exports remembered"] = History(len(view.exported_profiles), EXPORTS_KEPT)
    from runfiles.run_outputs import RunOutputs

    outputs = world.try_resource(RunOutputs)
    if outputs is not None:
        out["CALF log rows (current file)"] = History(outputs.log.rows, max(1, outputs.log.rotate_at))
    return out
