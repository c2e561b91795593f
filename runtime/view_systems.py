"""Adds the view's systems (no renderer needed) to a built world, and its resources.

The view phase: Heatmap -> Height -> TrailBatch -> Stats run once per frame before the
ProfilerSystem, after the simulation phase's K steps; the render layer inserts its RenderSystem
after StatsSystem. The simulation phase gains the InspectionSystem right after ControlSystem
(it follows the selected agent's certificate step by step) and the LearningCurveSystem after the
EvaluationSystem (the learning-curve panel's data, episode by episode). Resources: TimeWarp (from
`visual.warp` / `visual.warp_auto`), Selection, ViewState.
"""
from __future__ import annotations

from components.time_warp import TimeWarp
from components.view_state import Selection, ViewState
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


def inspection_system() -> System | None:
    from systems.inspection import InspectionSystem

    return InspectionSystem()


def add_view_systems(world: World, cfg: AppConfig) -> list[System]:
    """Insert the view's data systems just before the ProfilerSystem (or at the end of the view
    phase), and the InspectionSystem after ControlSystem when there is one."""
    ensure_networks(world, cfg)
    for resource in (ViewState(), Selection()):
        if not world.has_resource(type(resource)):
            world.insert_resource(resource)
    warp = world.insert_resource(TimeWarp.from_config(cfg.visual.warp, cfg.visual.warp_auto))
    world.steps_per_frame = warp.steps
    anchor = "ProfilerSystem" if "ProfilerSystem" in world.schedule else None
    added = []
    for system in view_data_systems():
        added.append(world.add_system(system, before=anchor))
    if "ControlSystem" in world.schedule:
        added.append(world.add_system(inspection_system(), after="ControlSystem"))
    from systems.learning_curve import LearningCurveSystem

    for anchor in ("EvaluationSystem", "TrainingSystem", "PhysicsSystem"):
        if anchor in world.schedule:
            added.append(world.add_system(LearningCurveSystem(), after=anchor))
            break
    return added
