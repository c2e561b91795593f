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
import textwrap

import numpy as np

from components.agent_groups import Group
from components.learning_curve import LearningCurve
from components.agent_table import AgentTable
from components.critic_surface import CriticSurface
from components.faults import fault_counts
from components.resources import Counters, HudLines
from components.stats_cache import StatsCache
from components.training_stats import TrainingStats
from components.inspection import Inspection
from components.time_warp import TimeWarp
from components.view_state import HudText, Selection, ViewState
from config.schema import AppConfig
from ecs.frame_times import FrameTimes
from ecs.system import System
from envs.base import Environment
from rl.networks import Networks
from systems.heatmap import VIEW_CALLS
from systems.hud_text import (
    SIDEBAR_COLUMNS,
    fold,
    inspect_text,
    learning_text,
    profiler_text,
    scale_caption,
    scale_labels,
    stats_text,
    timeline_caption,
)

#: names of the state components in the inspection panel, by environment (others: s0, s1, ...)
STATE_NAMES = {"point_mass": ("x", "v"), "differential_drive": ("x", "y", "theta")}


def state_names(env: Environment) -> tuple[str, ...]:
    names = getattr(env, "state_names", None) or STATE_NAMES.get(env.name)
    return tuple(names) if names else tuple(f"s{i}" for i in range(env.state_dim))


def surface_slice(env: Environment) -> str | None:
    """The state components the surface holds fixed (its slice), e.g. 'slice theta = 0', or None."""
    fixed = env.surface_state(np.zeros(1), np.zeros(1))[0]
    names = state_names(env)
    rest = [i for i in range(env.state_dim) if i not in env.surface_axes]
    if not rest:
        return None
    return "slice " + ", ".join(f"{names[i]} = {fixed[i]:g}" for i in rest) + " (the other axes vary)"


def scale_values(surface: CriticSurface) -> tuple[str, list[float]]:
    """(what the colour bar's numbers are, its low / middle / high values): the surface colours
    Q^2 between its moving extremes, so the ends are Q = -sqrt(q2) where the grid's Q is all
    negative (the usual case), +sqrt where it is all positive, else |Q|."""
    lo2, hi2 = surface.q2_min_ema, surface.q2_max_ema
    if not (np.isfinite(lo2) and np.isfinite(hi2)):
        return "Q", [math.nan] * 3
    mags = [math.sqrt(max(lo2 + t * (hi2 - lo2), 0.0)) for t in (0.0, 0.5, 1.0)]
    qmin, qmax = surface.q_range
    if np.isfinite(qmax) and qmax <= 0:
        return "Q", [-m for m in mags]
    if np.isfinite(qmin) and qmin >= 0:
        return "Q", mags
    return "|Q|", mags

def _rate_of(rate: float, count: int) -> float:
    """The rate, or NaN (shown as "-") when it is a share of nothing yet."""
    return rate if count else math.nan


#: the inspection panel's word for an agent's group
GROUP_WORDS = {int(Group.LEARNER): "learner", int(Group.COHORT): "cohort"}


def learning_values(curve: LearningCurve) -> dict:
    """What the learning-curve panel's text says: the span, the gain plot's scale, the latest values."""
    _, learners, cohort = curve.shares()
    last = curve.last_evaluation or {}
    return {"span": curve.span(), "gain_range": curve.gain_range(),
            "success": last.get("success"), "nominal": last.get("nominal_success"),
            "certified": last.get("certified"), "gain": last.get("gain"),
            "learners": float(learners[-1]) if learners.size else None,
            "cohort": float(cohort[-1]) if cohort.size else None}


def learner_values(stats: TrainingStats, cfg: AppConfig) -> dict:
    """What the HUD's learner lines say (systems.hud_text.learner_lines)."""
    granted = stats.train_updates + stats.learning_lag + stats.updates_skipped
    return {"learner": stats.learner, "updates_per_step": cfg.training.train_steps_per_frame,
            "batch_size": stats.batch_size or cfg.td3.batch_size, "learning_lag": stats.learning_lag,
            "learning_lag_s": stats.learning_lag_s,
            "updates_skipped_share": stats.updates_skipped / granted if granted else math.nan}


ITEMS = ("q_value", "text", "profiler")
SLOWEST = 5


class StatsSystem(System):
    phase = "view"
    reads = ("TrainingStats", "AgentTable", "CriticSurface", "FrameTimes", "Networks", "ViewState", "AppConfig",
             "HudLines", "TimeWarp", "Selection", "Inspection", "LearningCurve", "state", "action", "mode", "group")
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
        self._scale_version = -1
        self._inspected = (-1, -1, -1)  # (selection, inspection, timeline-source) versions shown
        self._paused = None
        self._warp_version = -1
        self._steps_shown = -1  # world.steps when the text was last built while paused
        self._curve_version = -1  # the LearningCurve shown
        env = world.resource(Environment)
        self.state_names = state_names(env)
        self.slice_name = surface_slice(env)
        calf = cfg.calf
        self.quantity = ("Q1" if calf.certified_value == "q1" else "min(Q1,Q2)") + (
            "(s, actor(s))" if v.heatmap_action == "actor" else "(s, 0)")
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
    @staticmethod
    def _safety(world, stats: TrainingStats) -> dict:  # noqa: ANN001
        """Each group's failed training episodes against the noiseless nominal's on as many episodes
        (its failure rate is measured once, on first use, by the EvaluationSystem)."""
        rates = {}
        if "EvaluationSystem" in world.schedule and (stats.learners.episodes or stats.cohort.episodes):
            rates = {g: r.failure_rate for g, r in world.system("EvaluationSystem").safety_reference().items()}
        out = {}
        for name in ("learners", "cohort"):
            counts = getattr(stats, name)
            out[f"{name}_episodes"] = counts.episodes
            out[f"{name}_failures"] = counts.failures
            out[f"{name}_boundary_exits"] = counts.boundary_exits
            out[f"{name}_nominal_failures"] = rates[name] * counts.episodes if name in rates else math.nan
        return out

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
        warp = world.try_resource(TimeWarp)
        learners = int(np.count_nonzero(table.group == Group.LEARNER))  # the policy cohort does not learn
        return {
            "system": cfg.env.system,
            "warp": warp.label() if warp is not None else str(world.steps_per_frame),
            "paused": view.paused,
            "episode": stats.episodes + 1,
            "episodes_total": cfg.training.episodes,
            "total_steps": stats.total_steps,
            "visual_agents": learners - training,
            "training_agents": training,
            "cohort_agents": int(np.count_nonzero(table.group == Group.COHORT)),
            "episode_return": stats.episode_return,
            "episode_length": stats.episode_length,
            "mean_return_10": stats.mean_return_last(10),
            # a rate of nothing is no rate: "-" until an episode ended / the filter decided a step
            "success_rate": stats.success_rate if stats.episodes else math.nan,
            "phase": stats.phase,
            "noise": stats.exploration_noise,
            "explore": cfg.td3.explore,
            "buffer_size": stats.buffer_size,
            "critic_loss": stats.critic_loss,
            "actor_loss": stats.actor_loss,
            "mode": int(table.mode[tr]) if tr >= 0 and table.has_column("mode") else None,
            "p_relax": stats.p_relax,
            "certification_rate": _rate_of(stats.certification_rate, stats.calf_steps),
            "intervention_rate": _rate_of(stats.intervention_rate, stats.calf_steps),
            "relax_rate": _rate_of(stats.relax_rate, stats.calf_steps),
            "q": q,
            "q_cert": stats.q_cert,
            "required": stats.required,
            "all_certification_rate": _rate_of(stats.learners.certification_rate, stats.learners.decided),
            "all_intervention_rate": _rate_of(stats.learners.intervention_rate, stats.learners.decided),
            "all_relax_rate": _rate_of(stats.learners.relax_rate, stats.learners.decided),
            "all_success_rate": _rate_of(stats.learners.success_rate, stats.learners.episodes),
            "cohort_success_rate": _rate_of(stats.cohort.success_rate, stats.cohort.episodes),
            "cohort_certification_rate": _rate_of(stats.cohort.certification_rate, stats.cohort.decided),
            **self._safety(world, stats),
            "collect": f"{learners if stats.collect == 'all' else training} learning",
            "state_norm": state_norm,
            "kappa_low": stats.kappa_low,
            "kappa_up": stats.kappa_up,
            "grid_q_range": surface.q_range if surface is not None and surface.version else (math.nan, math.nan),
            "grid_refreshes": surface.version if surface is not None else 0,
            "faults": fault_counts(world.resource(Counters)),
            **learner_values(stats, cfg),
        }

    def text(self, world, q: float) -> str:  # noqa: ANN001
        """The stats text, then any lines plugins put in HudLines (in the order they were added)."""
        extra = world.try_resource(HudLines)
        body = stats_text(self.values(world, q))
        return "\n".join([body, *fold(list(extra.values()))]) if extra else body  # a long line folds to the sidebar

    def profiler_panel(self, world) -> str:  # noqa: ANN001
        times = world.try_resource(FrameTimes)
        if times is None or not times.active:
            return profiler_text([], 0.0, False, 0)
        slowest = times.slowest(SLOWEST)
        frame = times.frame_stats()
        return profiler_text(slowest, frame["mean_ms"], True, frame["frames_in_window"], frame["steps_per_frame"],
                             frame["step_ms"])

    def inspect_values(self, world) -> dict | None:  # noqa: ANN001
        """The inspection panel's values, or None when no agent is selected."""
        sel = world.try_resource(Selection)
        info = world.try_resource(Inspection)
        if sel is None or info is None or sel.entity is None or info.entity != sel.entity or info.row < 0:
            return None
        table = world.resource(AgentTable)
        r = info.row
        state = info.state if info.steps_seen else table.state[r]
        return {
            "entity": sel.entity, "training": r == table.training_row, "follow": sel.follow,
            "group": GROUP_WORDS.get(int(table.group[r]), "learner") if table.has_column("group") else "learner",
            "state_names": self.state_names, "state": [float(x) for x in state],
            "mode": info.mode, "episode_step": info.episode_step, "state_norm": info.state_norm,
            "q": info.q, "q_cert": info.q_cert, "has_cert": info.has_cert, "decrease": info.decrease,
            "decrease_ok": info.decrease_ok, "required": info.required,
            "kappa_low": info.kappa_low, "kappa_up": info.kappa_up, "neg_q": info.neg_q,
            "low_ok": info.low_ok, "up_ok": info.up_ok, "certified": info.certified, "held": info.held,
            "reach_hold": info.reach_hold,
            "test_passed": info.test_passed,
        }

    def _side_panels(self, world, hud: HudText, frame: int) -> None:  # noqa: ANN001
        """The colour bar's captions, the inspection panel, the timeline's caption and the messages."""
        surface = world.try_resource(CriticSurface)
        if surface is not None and surface.version != self._scale_version:
            self._scale_version = surface.version
            what, values = scale_values(surface)
            hud.set("scale", scale_caption(f"{self.quantity} ({what} below)", self.slice_name) + "\n\n"
                    + scale_labels(values))
        sel = world.try_resource(Selection)
        info = world.try_resource(Inspection)
        key = (sel.version if sel else -1, info.version if info else -1)
        if key[0] != self._inspected[0] or (key != self._inspected and self.cache.due("text", frame)):
            values = self.inspect_values(world)
            hud.set("inspect", inspect_text(values))
            whose = "training agent" if values is None else (
                f"agent {values['entity']}" + (" (training)" if values["training"] else ""))
            hud.set("timeline", timeline_caption(whose))
            self._inspected = key
        curve = world.try_resource(LearningCurve)
        if curve is not None and curve.version != self._curve_version:
            self._curve_version = curve.version
            hud.set("learning", learning_text(learning_values(curve)))
        view = world.resource(ViewState)
        lines = [part for text in view.current_messages()
                 for part in textwrap.wrap(text, SIDEBAR_COLUMNS, subsequent_indent="  ", break_on_hyphens=False)]
        hud.set("messages", "\n".join(lines))

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
        if view.paused and world.steps != self._steps_shown:
            # a step taken while paused (N) is read at once: its text, Q and inspection panel now,
            # not at the next interval (a paused view renders no other frame that would get there)
            self._steps_shown = world.steps
            cache.mark_dirty("text", "q_value")
        warp = world.try_resource(TimeWarp)
        if warp is not None and warp.version != self._warp_version:
            self._warp_version = warp.version
            cache.mark_dirty("text")
        hud = world.resource(HudText)
        self._side_panels(world, hud, frame)
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
