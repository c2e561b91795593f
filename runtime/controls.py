"""The view's keys (DOMAIN.md section 2) as actions on the world, without any renderer.

The render layer forwards key presses here (camera keys WASD and scroll it handles itself);
tests call `press` directly. Agents are added and removed only through PopulationRequests,
which PopulationSystem applies at the start of the next frame.
"""
from __future__ import annotations

import time
from pathlib import Path

from components.resources import PopulationRequests
from components.stats_cache import StatsCache
from components.view_state import ViewState
from config.schema import AppConfig

#: key name (as ursina reports it) -> action
KEY_ACTIONS = {
    "p": "pause",
    "q": "quit",
    "escape": "quit",
    "h": "toggle_surface",
    "g": "toggle_grid",
    "+": "add_agent",
    "=": "add_agent",  # the + key without shift
    "num_add": "add_agent",
    "-": "remove_agent",
    "num_subtract": "remove_agent",
    "f1": "export_profile",
    "f2": "toggle_profiler",
    "f3": "reset_profiler",
}


def _profiler(world):  # noqa: ANN001, ANN202
    return world.system("ProfilerSystem") if "ProfilerSystem" in world.schedule else None


def _mark_profiler_dirty(world) -> None:  # noqa: ANN001
    cache = world.try_resource(StatsCache)
    if cache is not None:
        cache.mark_dirty("profiler")


def export_profile_path(world) -> Path:  # noqa: ANN001
    """Where F1 writes: next to --profile if given, else the run's --out folder, else the current one."""
    cfg = world.resource(AppConfig)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if cfg.run.profile:
        base = Path(cfg.run.profile)
        return base.with_name(f"{base.stem}.f1-{stamp}-frame{world.frame}{base.suffix or '.json'}")
    folder = Path(cfg.run.out) if cfg.run.out else Path(".")
    return folder / f"profile.f1-{stamp}-frame{world.frame}.json"


def apply_action(world, action: str) -> None:  # noqa: ANN001
    view = world.resource(ViewState)
    if action == "pause":
        view.paused = not view.paused
    elif action == "quit":
        view.quit_requested = True
    elif action == "toggle_surface":
        view.surface_visible = not view.surface_visible
    elif action == "toggle_grid":
        view.grid_visible = not view.grid_visible
    elif action == "add_agent":
        world.resource(PopulationRequests).request(+1)
    elif action == "remove_agent":
        world.resource(PopulationRequests).request(-1)
    elif action == "export_profile":
        profiler = _profiler(world)
        if profiler is not None:
            path = profiler.write_json(export_profile_path(world))
            view.exported_profiles.append(str(path))
            print(f"profile written to {path}", flush=True)
    elif action == "toggle_profiler":
        profiler = _profiler(world)
        if profiler is not None:
            profiler.set_enabled(not profiler.enabled)
            _mark_profiler_dirty(world)
    elif action == "reset_profiler":
        profiler = _profiler(world)
        if profiler is not None:
            profiler.reset()
            _mark_profiler_dirty(world)
    else:
        raise ValueError(f"unknown view action {action!r}")


def press(world, key: str) -> bool:  # noqa: ANN001
    """Apply the action bound to `key`; False when the key means nothing here."""
    action = KEY_ACTIONS.get(key)
    if action is None:
        return False
    apply_action(world, action)
    return True
