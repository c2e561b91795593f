"""StatsSystem: builds the HUD's strings through a StatsCache with dirty flags and per-item intervals.

Items and their intervals (frames, `visual.stats_*_update_freq`): the training agent's Q value
(10), the HUD text (5), the profiler panel (30). An item is also recomputed at once when marked
dirty: the training agent's episode ended, agents were added or removed, the surface was
refreshed, the view was paused, the profiler was reset or toggled. A string goes to `HudText`
only when it changed, so the renderer re-lays out text only then.

Q value: when the CALF filter already computed Q for the training agent this frame
(`TrainingStats.q` is finite), the HUD shows that value of the same step as q_cert and the mode
(so their difference is the one the certificate tested) and asks the critic nothing; otherwise
(e.g. `--policy nominal`) one critic call at the training agent's (state, action), cached for
`stats_q_value_update_freq` frames. With `visual.use_stats_cache = false` (the
baseline) every item is rebuilt and reassigned every frame and the critic is queried every frame.
"""
from __future__ import annotations

import math

import numpy as np

from components.agent_table import AgentTable
from components.critic_surface import CriticSurface
from components.faults import fault_counts
from components.resources import Counters, HudLines
from components.stats_cache import StatsCache
from components.training_stats import TrainingStats
from components.view_state import HudText, ViewState
from config.schema import AppConfig
from ecs.frame_times import FrameTimes
from ecs.system import System
from rl.networks import Networks
from systems.heatmap import VIEW_CALLS
from systems.hud_text import profiler_text, stats_text

ITEMS = ("q_value", "text", "profiler")
SLOWEST = 5


class StatsSystem(System):
    reads = ("TrainingStats", "AgentTable", "CriticSurface", "FrameTimes", "Networks", "ViewState", "AppConfig",
             "HudLines", "state", "action", "mode")
    writes = ("HudText", "StatsCache", "Counters")

    def setup(self, world) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        v = cfg.visual
        self.cache = world.insert_resource(
            StatsCache(
                {"q_value": v.stats_q_value_update_freq, "text": v.stats_text_update_freq,
                 "profiler": v.stats_profiler_update_freq},
                enabled=v.use_stats_cache,
            )
        )
        if not world.has_resource(TrainingStats):
            world.insert_resource(TrainingStats())
        if not world.has_resource(HudText):
            world.insert_resource(HudText())
        if not world.has_resource(ViewState):
            world.insert_resource(ViewState())
        world.resource(Counters).add("network_forward_calls", 0)
        world.resource(Counters).add(VIEW_CALLS, 0)
        self._surface_version = -1
        self._paused = None
        self._world = world
        world.events.subscribe("episodes_ended", self._on_episodes_ended)
        world.events.subscribe("agents_spawned", self._on_population)
        world.events.subscribe("agent_despawned", self._on_population)

    def teardown(self, world) -> None:  # noqa: ANN001
        world.events.unsubscribe("episodes_ended", self._on_episodes_ended)
        world.events.unsubscribe("agents_spawned", self._on_population)
        world.events.unsubscribe("agent_despawned", self._on_population)

    # -- dirty flags ---------------------------------------------------------------------------
    def _on_episodes_ended(self, rows: np.ndarray, *_: object) -> None:
        tr = self._world.resource(AgentTable).training_row
        if tr >= 0 and np.any(rows == tr):
            self.cache.mark_dirty("text", "q_value")

    def _on_population(self, *_: object) -> None:
        self.cache.mark_dirty("text")

    # -- items ---------------------------------------------------------------------------------
    def q_value(self, world) -> float:  # noqa: ANN001
        """The training agent's Q(s, a): the filter's own value if it has one, else one critic call."""
        stats = world.resource(TrainingStats)
        if self.cache.enabled and math.isfinite(stats.q):
            return float(stats.q)
        table = world.resource(AgentTable)
        nets = world.try_resource(Networks)
        tr = table.training_row
        if nets is None or tr < 0:
            return math.nan
        counters = world.resource(Counters)
        counters.add("network_forward_calls", 1)
        counters.add(VIEW_CALLS, 1)
        return float(nets.q(table.state[tr : tr + 1], table.action[tr : tr + 1], which="q1")[0])

    def values(self, world, q: float) -> dict:  # noqa: ANN001
        """Everything the HUD text shows, as plain values."""
        cfg = world.resource(AppConfig)
        stats = world.resource(TrainingStats)
        table = world.resource(AgentTable)
        surface = world.try_resource(CriticSurface)
        view = world.resource(ViewState)
        tr = table.training_row
        training = 1 if tr >= 0 else 0
        state_norm = float(np.sqrt(np.dot(table.state[tr], table.state[tr]))) if tr >= 0 else math.nan
        return {
            "system": cfg.env.system,
            "paused": view.paused,
            "episode": stats.episodes + 1,
            "episodes_total": cfg.training.episodes,
            "total_steps": stats.total_steps,
            "visual_agents": table.n - training,
            "training_agents": training,
            "episode_return": stats.episode_return,
            "episode_length": stats.episode_length,
            "mean_return_10": stats.mean_return_last(10),
            "success_rate": stats.success_rate,
            "phase": stats.phase,
            "noise": stats.exploration_noise,
            "buffer_size": stats.buffer_size,
            "critic_loss": stats.critic_loss,
            "actor_loss": stats.actor_loss,
            "mode": int(table.mode[tr]) if tr >= 0 and table.has_column("mode") else None,
            "p_relax": stats.p_relax,
            "certification_rate": stats.certification_rate,
            "intervention_rate": stats.intervention_rate,
            "relax_rate": stats.relax_rate,
            "q": q,
            "q_cert": stats.q_cert,
            "required": stats.required,
            "all_certification_rate": stats.all_certification_rate,
            "all_intervention_rate": stats.all_intervention_rate,
            "all_relax_rate": stats.all_relax_rate,
            "all_success_rate": stats.all_success_rate,
            "collect": "all agents" if stats.collect == "all" else "training agent",
            "state_norm": state_norm,
            "kappa_low": stats.kappa_low,
            "kappa_up": stats.kappa_up,
            "grid_q_range": surface.q_range if surface is not None and surface.version else (math.nan, math.nan),
            "grid_refreshes": surface.version if surface is not None else 0,
            "faults": fault_counts(world.resource(Counters)),
        }

    def text(self, world, q: float) -> str:  # noqa: ANN001
        """The stats text, then any lines plugins put in HudLines (in the order they were added)."""
        extra = world.try_resource(HudLines)
        body = stats_text(self.values(world, q))
        return body + "".join(f"\n{line}" for line in extra.values()) if extra else body

    def profiler_panel(self, world) -> str:  # noqa: ANN001
        times = world.try_resource(FrameTimes)
        if times is None or not times.active:
            return profiler_text([], 0.0, False, 0)
        slowest = times.slowest(SLOWEST)
        frame = times.frame_stats()
        return profiler_text(slowest, frame["mean_ms"], True, frame["frames_in_window"])

    # -- the frame -----------------------------------------------------------------------------
    def process(self, world, dt: float) -> None:  # noqa: ANN001
        frame = world.frame
        cache = self.cache
        surface = world.try_resource(CriticSurface)
        if surface is not None and surface.version != self._surface_version:
            self._surface_version = surface.version
            cache.mark_dirty("text")
        view = world.resource(ViewState)
        if view.paused != self._paused:
            self._paused = view.paused
            cache.mark_dirty("text")
        hud = world.resource(HudText)
        force = not cache.enabled  # the baseline reassigns every frame, changed or not
        if cache.due("text", frame):
            stats = world.resource(TrainingStats)
            if cache.enabled and math.isfinite(stats.q):
                q = float(stats.q)  # the filter's own value of this step: free, and consistent with q_cert
            else:
                q = cache.get("q_value", frame, lambda: self.q_value(world))
            text = cache.get("text", frame, lambda: self.text(world, q))
            hud.set_stats(text, force=force)
        panel = cache.get("profiler", frame, lambda: self.profiler_panel(world))
        hud.set_profiler(panel, force=force)
