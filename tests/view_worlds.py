"""Headless worlds with the view's data systems, for the view tests (no renderer)."""
from __future__ import annotations

from config import build_config
from runtime.build import build_world
from runtime.view import add_view_systems


def view_world(agents: int = 4, seed: int = 7, **sections):  # noqa: ANN003, ANN201
    """A world with Heatmap/Height/TrailBatch/Stats systems; `sections` override config sections."""
    overrides = {"visual": {"agents": agents}, "run": {"seed": seed}}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    cfg = build_config(overrides=overrides)
    world = build_world(cfg)
    add_view_systems(world, cfg)
    return world
