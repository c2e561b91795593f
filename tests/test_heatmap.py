"""HeatmapSystem: one batched forward per refresh, refreshed only as often as the rules say, the
height normalisation (docs/PROBLEM.md), and the banded violet-to-red colours."""
import numpy as np
import pytest
import torch

from components.colormap import SURFACE_BANDS, SURFACE_STOPS, banded_gradient
from components.critic_surface import CriticSurface
from components.resources import Counters
from components.stats_cache import StatsCache
from components.training_stats import TrainingStats
from envs.base import Environment
from rl.networks import Networks, build_networks
from tests.view_worlds import view_world


def refreshes(world):
    return world.resource(CriticSurface).version


def test_refreshed_once_then_never_while_the_weights_stay():
    world = view_world(agents=3)
    world.run(300)
    assert refreshes(world) == 1
    assert world.resource(Counters).get("network_forward_calls") <= 2 + 300 // 10  # grid once + HUD queries


def test_refresh_every_heatmap_update_freq_training_steps_when_weights_change():
    world = view_world(agents=3, visual={"heatmap_update_freq": 50})
    nets, stats = world.resource(Networks), world.resource(TrainingStats)
    counters = world.resource(Counters)
    calls = counters.get("network_forward_calls")
    for _ in range(500):
        stats.total_steps += 1  # what a trainer does every step
        nets.version += 1
        world.step()
    assert refreshes(world) == 10  # at steps 1, 51, ..., 451
    # steps advancing with unchanged weights: one more refresh for the updates made since step 451, then none
    for _ in range(200):
        stats.total_steps += 1
        world.step()
    assert refreshes(world) == 11
    hud_queries = world.resource(StatsCache).computes["q_value"]
    assert hud_queries <= 700 // 10 + 3  # every 10th frame, plus a few episode ends
    assert counters.get("network_forward_calls") - calls == 2 * 11 + hud_queries  # grid: one actor + one critic call


def test_weight_updates_alone_count_as_training_steps_and_a_new_network_refreshes():
    world = view_world(agents=2, visual={"heatmap_update_freq": 20})
    nets = world.resource(Networks)
    world.step()
    for _ in range(19):
        nets.version += 1
        world.step()
    assert refreshes(world) == 1
    nets.version += 1
    world.step()
    assert refreshes(world) == 2
    env = world.resource(Environment)
    world.insert_resource(build_networks(env.state_dim, env.action_dim, env.action_high, seed=99), Networks)
    world.step()
    assert refreshes(world) == 3  # a replaced Networks (a loaded checkpoint) refreshes at once
    world.resource(CriticSurface).force = True
    world.step()
    assert refreshes(world) == 4


@pytest.mark.parametrize("action,calls", [("actor", 2), ("zero", 1)])
def test_one_batched_forward_per_refresh(action, calls):
    world = view_world(agents=2, visual={"heatmap_action": action, "use_stats_cache": True})
    heatmap = world.system("HeatmapSystem")
    counters = world.resource(Counters)
    surface = world.resource(CriticSurface)
    before = counters.get("network_forward_calls")
    heatmap.refresh(world, world.resource(Networks), surface, 0)
    assert counters.get("network_forward_calls") - before == calls


@pytest.mark.parametrize("system", ["point_mass", "differential_drive"])
@pytest.mark.parametrize("action", ["actor", "zero"])
def test_grid_q_is_the_certificate_quantity_on_the_surface_slice(system, action):
    world = view_world(agents=1, env={"system": system}, visual={"heatmap_action": action})
    world.step()
    surface = world.resource(CriticSurface)
    nets = world.resource(Networks)
    a, b = surface.grid_points()
    states = np.stack([a.ravel(), b.ravel()] + ([np.zeros(a.size)] if system == "differential_drive" else []), axis=1)
    actions = nets.act(states) if action == "actor" else np.zeros((a.size, nets.actor.scale.numel()))
    expected = nets.q(states, actions, which="q1").reshape(a.shape)
    assert np.allclose(surface.q, expected, atol=1e-9)
    assert surface.q.shape == (21, 21) and surface.axis[0] == -5.0 and surface.axis[-1] == 5.0


def test_heights_follow_the_ema_normalisation():
    world = view_world(agents=1, visual={"heatmap_update_freq": 1, "height_scale": 3.0, "height_epsilon": 0.01,
                                         "surface_ema_alpha": 0.1})
    world.step()
    s = world.resource(CriticSurface)
    q2 = s.q**2
    assert s.q2_min_ema == pytest.approx(q2.min()) and s.q2_max_ema == pytest.approx(q2.max())
    assert s.heights.min() == pytest.approx(0.01) and s.heights.max() == pytest.approx(3.01)
    ema_min, ema_max = s.q2_min_ema, s.q2_max_ema
    nets = world.resource(Networks)
    with torch.no_grad():
        for p in nets.critic.parameters():
            p.mul_(1.5)  # a training step that changed the critic
    nets.version += 1
    world.step()
    q2 = s.q**2
    assert s.q2_min_ema == pytest.approx(ema_min + 0.1 * (q2.min() - ema_min))
    assert s.q2_max_ema == pytest.approx(ema_max + 0.1 * (q2.max() - ema_max))
    t = np.clip((q2 - s.q2_min_ema) / (s.q2_max_ema - s.q2_min_ema), 0, 1)
    assert np.allclose(s.heights, t * 3.0 + 0.01)
    assert s.heights.max() == pytest.approx(3.01)  # q^2 grew past the moving maximum: clipped


def test_banded_colours_run_from_light_violet_to_red():
    t = np.linspace(0, 1, 1001)
    rgba = banded_gradient(t, 0.6)
    assert rgba.dtype == np.float32 and np.all(rgba[:, 3] == np.float32(0.6))
    assert len(np.unique(rgba[:, :3], axis=0)) == SURFACE_BANDS
    low, high = rgba[0, :3], rgba[-1, :3]
    assert np.allclose(low, SURFACE_STOPS[0]) and np.allclose(high, SURFACE_STOPS[-1])  # light violet .. red
    assert high[0] > 0.85 and high[1] < 0.3 and low[2] > 0.9 and low[0] > 0.6
    # the bands pass blue, cyan, green, yellow, orange in order
    order = [int(np.argmin(np.linalg.norm(rgba[:, :3] - stop, axis=1))) for stop in SURFACE_STOPS]
    assert order == sorted(order)
    assert np.array_equal(banded_gradient(np.array([-3.0, 7.0]), 1.0), banded_gradient(np.array([0.0, 1.0]), 1.0))


def test_surface_colours_are_the_gradient_of_the_normalised_heights():
    world = view_world(agents=1, visual={"surface_alpha": 0.6})
    world.step()
    s = world.resource(CriticSurface)
    assert np.array_equal(s.colors, banded_gradient(s.normalised, 0.6))
