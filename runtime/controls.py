"""The view's keys (DOMAIN.md section 2) as actions on the world, without any renderer.

The render layer forwards key presses here (camera keys WASD and scroll it handles itself);
tests call `press` directly. Agents are added and removed only through PopulationRequests,
which PopulationSystem applies at the start of the next frame.
"""
from __future__ import annotations

import sys
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
    """Where F1 writes: next to --profile if given, else in the run's output folder (both checked
    before the run starts), else the current folder."""
    cfg = world.resource(AppConfig)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if cfg.run.profile:
        base = Path(cfg.run.profile)
        return base.with_name(f"{base.stem}.f1-{stamp}-frame{world.frame}{base.suffix or '.json'}")
    from runtime.run_outputs import RunOutputs

    outputs = world.try_resource(RunOutputs)
    folder = outputs.dir if outputs is not None else Path(cfg.run.out) if cfg.run.out else Path(".")
    return folder / f"profile.f1-{stamp}-frame{world.frame}.json"


#: F1 presses remembered in ViewState.exported_profiles (older ones are forgotten)
EXPORTS_KEPT = 20


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
            target = export_profile_path(world)
            try:
                path = profiler.write_json(target)
            except OSError as exc:  # a key press must never end the run
                print(f"app.py: warning: F1: profile not written to {target} ({exc.strerror or exc})",
                      file=sys.stderr, flush=True)
                return
            view.exported_profiles.append(str(path))
            del view.exported_profiles[:-EXPORTS_KEPT]
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
