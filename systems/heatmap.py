"""HeatmapSystem: the critic on the G x G grid in one batched forward, refreshed rarely, never every frame.

A refresh happens when there is no grid yet, when the `Networks` object was replaced, when
`surface.force` is set, or when the weights changed (`Networks.version`) and at least
`heatmap_update_freq` training steps passed since the last refresh. Training steps are the
training agent's environment steps (`TrainingStats.total_steps`) or the weight updates
(`Networks.version`), whichever advanced more, so the rule works whether or not a trainer keeps
both counters.

Q is the quantity the certificate uses (`calf.certified_value`: Q1, or the min of the twins) at
the actor's action (or at zero action, `visual.heatmap_action = "zero"`). Heights follow
the original program's rule: clip((q^2 - qmin) / (qmax - qmin), 0, 1) * height_scale + epsilon, with qmin / qmax
exponential moving averages (alpha `surface_ema_alpha`) of the grid's q^2 extremes.

A critic that returns NaN or inf on some nodes never poisons the surface: those nodes are drawn
at the floor (height epsilon) and left out of the extremes, so the moving averages stay finite
and the surface recovers as soon as the critic does.
"""
from __future__ import annotations

import numpy as np

from components.colormap import banded_gradient
from components.critic_surface import CriticSurface
from components.resources import Counters
from components.training_stats import TrainingStats
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment
from rl.networks import Networks

#: below this q^2 spread the surface is drawn flat instead of dividing by ~0
MIN_SPREAD = 1e-12
#: counter of the view's own network calls (surface refresh, HUD query); `network_forward_calls` counts them too
VIEW_CALLS = "view_network_calls"


def surface_heights(q: np.ndarray, q2_min: float, q2_max: float, scale: float, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """(normalised in [0, 1], heights) of a Q grid for the given q^2 range; non-finite q is 0."""
    spread = q2_max - q2_min
    if spread > MIN_SPREAD:
        with np.errstate(invalid="ignore", over="ignore"):
            t = np.clip((q * q - q2_min) / spread, 0.0, 1.0)
        t[~np.isfinite(q)] = 0.0
    else:
        t = np.zeros_like(q)
    return t, t * scale + epsilon


def finite_extremes(values: np.ndarray, default: tuple[float, float]) -> tuple[float, float]:
    """(min, max) of the finite values; `default` (the moving averages as they are, so they do
    not move) when there is none."""
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else default


class HeatmapSystem(System):
    phase = "view"
    reads = ("Networks", "TrainingStats", "AppConfig", "Environment")
    writes = ("CriticSurface", "Counters")

    def __init__(self) -> None:
        self.refresh_count = 0

    def setup(self, world) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        lim = world.resource(Environment).surface_extent
        if not world.has_resource(CriticSurface):
            world.insert_resource(CriticSurface(cfg.visual.grid_size, -lim, lim, cfg.visual.height_epsilon))
        counters = world.resource(Counters)
        counters.add("network_forward_calls", 0)  # the counters exist even if nothing queries
        counters.add(VIEW_CALLS, 0)

    # -- when ----------------------------------------------------------------------------------
    @staticmethod
    def due(surface: CriticSurface, nets: Networks, steps: int, every: int) -> bool:
        if surface.version == 0 or surface.force or not surface.refreshed_with(nets):
            return True
        if nets.version == surface.refreshed_net_version:
            return False  # same weights: the grid would come out identical
        since = max(steps - surface.refreshed_steps, nets.version - surface.refreshed_net_version)
        return since >= every or steps < surface.refreshed_steps  # (a reset counter also refreshes)

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        nets = world.try_resource(Networks)
        if nets is None:
            return
        surface = world.resource(CriticSurface)
        stats = world.try_resource(TrainingStats)
        steps = stats.total_steps if stats is not None else 0
        cfg = world.resource(AppConfig)
        if self.due(surface, nets, steps, cfg.visual.heatmap_update_freq):
            self.refresh(world, nets, surface, steps)

    # -- what ----------------------------------------------------------------------------------
    def refresh(self, world, nets: Networks, surface: CriticSurface, steps: int) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        env = world.resource(Environment)
        counters = world.resource(Counters)
        a, b = surface.grid_points()
        states = env.surface_state(a.ravel(), b.ravel())
        if cfg.visual.heatmap_action == "actor":
            actions = nets.act(states)
            counters.add("network_forward_calls", 1)
            counters.add(VIEW_CALLS, 1)
        else:
            actions = np.zeros((states.shape[0], env.action_dim))
        which = "q1" if cfg.calf.certified_value == "q1" else "min"
        q = nets.q(states, actions, which=which).reshape(surface.size, surface.size)
        counters.add("network_forward_calls", 1)
        counters.add(VIEW_CALLS, 1)
        q2 = q * q
        lo, hi = finite_extremes(q2, default=(surface.q2_min_ema, surface.q2_max_ema))
        if surface.version == 0 or not np.isfinite(surface.q2_min_ema):
            surface.q2_min_ema, surface.q2_max_ema = lo, hi
        else:
            alpha = cfg.visual.surface_ema_alpha
            surface.q2_min_ema += alpha * (lo - surface.q2_min_ema)
            surface.q2_max_ema += alpha * (hi - surface.q2_max_ema)
        t, heights = surface_heights(q, surface.q2_min_ema, surface.q2_max_ema, cfg.visual.height_scale,
                                     cfg.visual.height_epsilon)
        surface.q[:] = q
        surface.normalised[:] = t
        surface.heights[:] = heights
        surface.colors[:] = banded_gradient(t, cfg.visual.surface_alpha)
        surface.refreshed_steps = steps
        surface.refreshed_net_version = nets.version
        surface.remember_networks(nets)
        surface.force = False
        surface.version += 1
        self.refresh_count += 1
