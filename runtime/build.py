"""Assemble a World from an AppConfig: resources, the ordered systems, and the first agents."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from components.agent_table import AgentTable
from components.cohort_starts import CohortStarts
from components.faults import register_fault_counters
from components.resources import (
    Counters,
    HudLines,
    PopulationRequests,
    ReportExtras,
    Rngs,
    SimClock,
)
from config.schema import AppConfig
from config.variants import variant_of
from ecs.system import System
from ecs.world import World
from envs.base import Environment
from envs.registry import make_environment
from plugins.environment_boundary import contain_environment
from plugins.loading import add_plugins
from rl.checkpoint_integrity import CheckpointReference
from systems.control import ControlSystem
from systems.evaluation import EvaluationSystem
from systems.finite_check import FiniteCheckSystem
from systems.physics import PhysicsSystem
from systems.population import PopulationSystem, spawn_agents, spawn_cohort
from systems.profiler import ProfilerSystem, RunMeta
from systems.imagined import ImaginedTransitionSystem
from systems.training import TrainingSystem


def core_systems(cfg: AppConfig) -> list[System]:
    """The systems every run has, in frame order (the render layer adds its own)."""
    imagine = cfg.calf.rejected_proposals == "imagine" and cfg.training.policy == "calf"
    return [
        FiniteCheckSystem(),  # NaN / inf in any float column is repaired before anything reads the table
        PopulationSystem(),
        ControlSystem(),
        PhysicsSystem(),
        TrainingSystem(),
        *([ImaginedTransitionSystem()] if imagine else []),  # the rejected proposals, through the model
        EvaluationSystem(),
        ProfilerSystem(window=cfg.profiler.window, sample_every=cfg.profiler.sample_every, enabled=cfg.profiler.enabled),
    ]


def run_meta(cfg: AppConfig, mode: str) -> RunMeta:
    return RunMeta(
        agents=cfg.visual.agents,
        system=cfg.env.system,
        preset=cfg.preset,
        train_preset=cfg.train_preset,
        seed=cfg.run.seed,
        mode=mode,
        variant=variant_of(cfg.visual),
        flags={
            "use_vectorized_heights": cfg.visual.use_vectorized_heights,
            "use_stats_cache": cfg.visual.use_stats_cache,
            "use_batched_trails": cfg.visual.use_batched_trails,
            "profiler": cfg.profiler.enabled,
        },
        config=attrs.asdict(cfg),
    )


def cohort_starts(cfg: AppConfig, env: Environment) -> CohortStarts:
    """The policy cohort starts where the evaluation does (the same seeded states)."""
    from rl.evaluation import evaluation_starts

    return CohortStarts(evaluation_starts(env, cfg.evaluation.starts, cfg.evaluation.seed))


def build_world(cfg: AppConfig, *, mode: str = "headless", systems: list[System] | None = None,
                spawn: bool = True, extend: Callable[[World], object] | None = None) -> World:
    """A ready-to-step world: resources inserted, systems set up in order, agents spawned.

    `extend(world)` adds more systems (the view's) after the core ones and before the plugins,
    so a plugin may anchor on any of them.
    """
    world = World(dt=cfg.env.dt)
    world.steps_per_frame = cfg.visual.warp  # simulation steps per frame (--warp K); the view may change it
    world.insert_resource(cfg)
    # a user's environment behind the plugins' boundary: a failure mid-run is contained (exit code 1)
    world.insert_resource(contain_environment(make_environment(cfg.env), world), Environment)
    world.insert_resource(Rngs(cfg.run.seed))
    register_fault_counters(world.insert_resource(Counters()))
    world.insert_resource(PopulationRequests())
    world.insert_resource(SimClock(dt=cfg.env.dt))
    world.insert_resource(HudLines())
    world.insert_resource(ReportExtras())
    world.insert_resource(AgentTable(world, capacity=max(16, cfg.visual.agents + cfg.visual.cohort + 1)))
    world.insert_resource(cohort_starts(cfg, world.resource(Environment)))
    world.insert_resource(run_meta(cfg, mode))
    world.insert_resource(CheckpointReference(fresh_reference))
    try:
        for system in systems if systems is not None else core_systems(cfg):
            world.add_system(system)
        if extend is not None:
            extend(world)
        add_plugins(world, cfg.plugins)
        if spawn:
            spawn_agents(world, 1, training=True)
            spawn_agents(world, cfg.visual.agents)
            spawn_cohort(world, cfg.visual.cohort)
    except BaseException:
        world.shutdown()  # a plugin that cannot be placed, say: leave no half-built world behind
        raise
    return world


def fresh_reference(world: World) -> dict[str, Any]:
    """What a checkpoint of this run looks like at its very start: built in a scratch world of the
    same config (no plugins, no visual agents, a small replay buffer), drawing nothing from the
    global random streams."""
    import torch

    from rl.checkpoint import capture

    cfg = world.resource(AppConfig)
    small = attrs.evolve(cfg, plugins=(), visual=attrs.evolve(cfg.visual, agents=0),
                         td3=attrs.evolve(cfg.td3, buffer_size=cfg.td3.batch_size))
    with torch.random.fork_rng(devices=[]):
        threads = torch.get_num_threads()
        scratch = build_world(small, spawn=False)
        try:
            spawn_agents(scratch, 1, training=True)
            return capture(scratch)
        finally:
            scratch.shutdown()
            torch.set_num_threads(threads)


def ensure_networks(world: World, cfg: AppConfig) -> None:
    """Give the view a critic to draw: an untrained, seeded `Networks` unless the world already has one.

    Training inserts the real networks; this only fills the gap so the surface, heights and HUD
    work in a world without a trainer.
    """
    from rl.learning import networks_for  # torch is imported only when a view needs it
    from rl.networks import Networks

    if world.has_resource(Networks):
        return
    world.insert_resource(networks_for(cfg, world.resource(Environment), seed=cfg.run.seed), Networks)
