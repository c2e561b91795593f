"""Headless worlds with the view's data systems, for the view tests (no renderer).

The view's tests count network calls and drive `Networks.version` / `TrainingStats` by hand, so by
default the agents act with the nominal policy (no control-side network calls) and a trainer, if
the build has one, is switched off; a test can ask for either.
"""
from __future__ import annotations

from config import build_config
from runtime.build import build_world
from runtime.view_systems import add_view_systems

TRAINER = "TrainingSystem"


def view_config(agents: int = 4, seed: int = 7, policy: str = "nominal", **sections):  # noqa: ANN003, ANN201
    overrides = {"visual": {"agents": agents}, "run": {"seed": seed}, "training": {"policy": policy}}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return build_config(overrides=overrides)


def view_world(agents: int = 4, seed: int = 7, policy: str = "nominal", training: bool = False, **sections):  # noqa: ANN003, ANN201
    """A world with Heatmap/Height/TrailBatch/Stats systems; `sections` override config sections."""
    cfg = view_config(agents, seed, policy, **sections)
    world = build_world(cfg)
    add_view_systems(world, cfg)
    if not training and TRAINER in world.schedule:
        world.schedule.disable(TRAINER)
    return world
