"""The view's keys as actions on the world, without any renderer (docs/VIEW.md lists them).

The render layer forwards key presses here (camera keys WASD and scroll, and mouse picking, it
handles itself); tests call `press` directly. Agents are added and removed only through
PopulationRequests, which PopulationSystem applies at the start of the next frame. Every action
is confirmed on screen for a few seconds (`ViewState.notify`).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from components.agent_table import AgentTable
from components.resources import PopulationRequests
from components.stats_cache import StatsCache
from components.time_warp import TimeWarp
from components.view_state import Selection, ViewState
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
    "]": "warp_faster",
    "[": "warp_slower",
    "n": "step_once",
    "tab": "toggle_panels",
    "c": "select_next",
    "x": "clear_selection",
    "f": "toggle_follow",
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
    from runfiles.run_outputs import RunOutputs

    outputs = world.try_resource(RunOutputs)
    folder = outputs.dir if outputs is not None else Path(cfg.run.out) if cfg.run.out else Path(".")
    return folder / f"profile.f1-{stamp}-frame{world.frame}.json"


#: F1 presses remembered in ViewState.exported_profiles (older ones are forgotten)
EXPORTS_KEPT = 20


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def select(world, entity: int | None) -> None:  # noqa: ANN001
    """Inspect this agent (None: nobody); confirmed on screen."""
    sel = world.resource(Selection)
    sel.select(entity)
    view = world.resource(ViewState)
    view.notify(f"inspecting agent {entity}" if entity is not None else "selection cleared")


def next_agent(world) -> int | None:  # noqa: ANN001
    """The agent after the selected one in table order (wrapping), or the training agent first."""
    table = world.resource(AgentTable)
    if table.n == 0:
        return None
    sel = world.resource(Selection)
    rows = np.flatnonzero(table.entity == sel.entity) if sel.entity is not None else np.zeros(0, np.int64)
    if rows.size:
        row = (int(rows[0]) + 1) % table.n
    else:
        row = table.training_row if table.training_row >= 0 else 0
    return int(table.entity[row])


def apply_action(world, action: str) -> None:  # noqa: ANN001
    view = world.resource(ViewState)
    if action == "pause":
        view.paused = not view.paused
        view.notify("paused (N: one step)" if view.paused else "running")
    elif action == "quit":
        view.quit_requested = True
    elif action == "toggle_surface":
        view.surface_visible = not view.surface_visible
        view.notify(f"surface {_on_off(view.surface_visible)}")
    elif action == "toggle_grid":
        view.grid_visible = not view.grid_visible
        view.notify(f"grid {_on_off(view.grid_visible)}")
    elif action == "add_agent":
        world.resource(PopulationRequests).request(+1)
        view.notify("agent added")
    elif action == "remove_agent":
        world.resource(PopulationRequests).request(-1)
        view.notify("agent removed")
    elif action == "export_profile":
        profiler = _profiler(world)
        if profiler is None:
            view.notify("F1: no profiler in this run")
            return
        target = export_profile_path(world)
        try:
            path = profiler.write_json(target)
        except OSError as exc:  # a key press must never end the run
            print(f"app.py: warning: F1: profile not written to {target} ({exc.strerror or exc})",
                  file=sys.stderr, flush=True)
            view.notify(f"F1 FAILED: {exc.strerror or exc}")
            return
        view.exported_profiles.append(str(path))
        del view.exported_profiles[:-EXPORTS_KEPT]
        print(f"profile written to {path}", flush=True)
        view.notify(f"profile written: {path.name}")
    elif action == "toggle_profiler":
        profiler = _profiler(world)
        if profiler is not None:
            profiler.set_enabled(not profiler.enabled)
            _mark_profiler_dirty(world)
            view.notify(f"profiler {_on_off(profiler.enabled)}")
    elif action == "reset_profiler":
        profiler = _profiler(world)
        if profiler is not None:
            profiler.reset()
            _mark_profiler_dirty(world)
            view.notify("profiler statistics reset")
    elif action in ("warp_faster", "warp_slower"):
        warp = world.try_resource(TimeWarp)
        if warp is not None:
            warp.faster() if action == "warp_faster" else warp.slower()
            view.notify(f"time warp {warp.label()} steps per frame")
    elif action == "step_once":
        if not view.paused:
            view.paused = True
        view.step_requests += 1
        view.notify("one simulation step")
    elif action == "toggle_panels":
        view.panels_visible = not view.panels_visible
        view.notify(f"panels {_on_off(view.panels_visible)} (Tab)")
    elif action == "select_next":
        select(world, next_agent(world))
    elif action == "clear_selection":
        select(world, None)
    elif action == "toggle_follow":
        sel = world.resource(Selection)
        if sel.entity is None:
            view.notify("follow: select an agent first (click, or C)")
        else:
            sel.set_follow(not sel.follow)
            view.notify(f"camera follows agent {sel.entity}" if sel.follow else "camera free")
    else:
        raise ValueError(f"unknown view action {action!r}")


def press(world, key: str) -> bool:  # noqa: ANN001
    """Apply the action bound to `key`; False when the key means nothing here."""
    action = KEY_ACTIONS.get(key)
    if action is None:
        return False
    apply_action(world, action)
    return True
