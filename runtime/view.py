"""Adds the view's data systems (no renderer needed) to a built world, in frame order.

Heatmap -> Height -> TrailBatch -> Stats run after everything that changes the agents (physics,
and training once it exists) and before the ProfilerSystem; the render layer inserts its
RenderSystem after StatsSystem.
"""
from __future__ import annotations

from config.schema import AppConfig
from ecs.system import System
from ecs.world import World
from runtime.build import ensure_networks

VIEW_DATA_SYSTEMS = ("HeatmapSystem", "HeightSystem", "TrailBatchSystem", "StatsSystem")


def view_data_systems() -> list[System]:
    from systems.heatmap import HeatmapSystem
    from systems.height import HeightSystem
    from systems.stats import StatsSystem
    from systems.trails import TrailBatchSystem

    return [HeatmapSystem(), HeightSystem(), TrailBatchSystem(), StatsSystem()]


def add_view_systems(world: World, cfg: AppConfig) -> list[System]:
    """Insert the view's data systems just before the ProfilerSystem (or at the end)."""
    ensure_networks(world, cfg)
    anchor = "ProfilerSystem" if "ProfilerSystem" in world.schedule else None
    added = []
    for system in view_data_systems():
        added.append(world.add_system(system, before=anchor))
    return added
