"""Config: presets, precedence, validation and the TOML round trip."""
import pytest

from config import ConfigError, build_config, load_config, to_toml


def test_presets_set_the_documented_values():
    low, med, high = (build_config(preset=p).visual for p in ("low", "medium", "high"))
    assert (low.agents, low.trail_max_length, low.grid_size, low.heatmap_update_freq) == (3, 300, 15, 1000)
    assert (med.agents, med.trail_max_length, med.grid_size, med.heatmap_update_freq) == (5, 600, 21, 500)
    assert (high.agents, high.trail_max_length, high.grid_size, high.heatmap_update_freq) == (10, 1000, 31, 250)
    for v in (low, med, high):
        assert (v.stats_q_value_update_freq, v.stats_text_update_freq, v.stats_profiler_update_freq) == (10, 5, 30)
    q, s, t = (build_config(train_preset=p) for p in ("quick", "standard", "thorough"))
    assert (q.training.episodes, q.env.max_steps_per_episode) == (100, 500)
    assert (s.training.episodes, s.env.max_steps_per_episode) == (500, 750)
    assert (t.training.episodes, t.env.max_steps_per_episode, t.td3.batch_size) == (1000, 1000, 512)


def test_documented_defaults():
    c = build_config()
    assert c.env.dt == 0.01 and c.env.goal_epsilon == 0.05 and c.env.boundary_limit == 5.0
    assert (c.env.pd_kp, c.env.pd_kd) == (2.0, 2.0)
    assert c.td3.gamma == 0.995 and c.td3.tau == 0.005 and c.td3.batch_size == 256
    assert (c.td3.actor_lr, c.td3.critic_lr, c.td3.value_scale) == (1e-3, 1e-3, 0.0)
    # exploration inside the filter: noise of 0.1-0.3 of each bound on the actor's proposal only
    assert (c.td3.explore, c.td3.exploration_unit, c.td3.exploration_range) == ("actor", "bound", (0.1, 0.3))
    assert c.calf.decrease == "relative" and c.calf.nu_rate == 0.5 and c.calf.kappa_up_coeff == 3000.0
    assert (c.calf.fallback_dwell, c.calf.noiseless_retry) == (0.0, True)
    assert (c.calf.nominal_reach_check, c.calf.nominal_reach_margin, c.calf.nominal_after) == (0.25, 0.25, 0.0)
    assert (c.calf.relax_schedule, c.calf.p_relax_start, c.calf.relax_ramp_end, c.calf.relax_ramp_steps,
            c.calf.relax_episode_decay) == ("linear", 0.3, 0.0, 20_000, 0.995)
    assert c.calf.lambda_relax == 0.99995 and c.calf.nu_bar == 0.01
    assert (c.training.collect, c.training.train_steps_per_frame, c.training.boundary_exit) == ("all", 2, "bootstrap")


def test_the_safe_exploration_config_file_explores_inside_the_filter():
    from pathlib import Path

    c = load_config(Path(__file__).resolve().parents[1] / "experiments" / "configs" / "safe_exploration.toml")
    assert (c.td3.exploration_noise, c.td3.exploration_unit, c.td3.explore) == (0.3, "bound", "actor")
    assert (c.calf.noiseless_retry, c.calf.fallback_dwell, c.calf.p_relax_start, c.calf.relax_schedule,
            c.calf.relax_ramp_steps, c.calf.relax_episode_decay) == (True, 0.2, 0.3, "linear", 20_000, 0.995)


def test_the_drive_safe_exploration_config_differs_from_the_general_one_only_in_dwell_and_budget():
    from pathlib import Path

    import attrs

    root = Path(__file__).resolve().parents[1] / "experiments" / "configs"
    general, drive = load_config(root / "safe_exploration.toml"), load_config(root / "safe_exploration_drive.toml")
    assert (drive.env.system, drive.env.max_steps_per_episode, drive.training.episodes) == ("differential_drive", 1000, 60)
    assert drive.calf.fallback_dwell == 1.0
    assert attrs.evolve(drive.calf, fallback_dwell=general.calf.fallback_dwell) == general.calf
    assert drive.td3 == general.td3


def test_the_exploration_outside_the_filter_config_restores_the_defaults_it_replaced():
    """experiments/configs/explore_outside_filter.toml: every exploration and filter setting as it was
    before the defaults explored inside the filter, everything else today's."""
    from pathlib import Path

    import attrs

    c = load_config(Path(__file__).resolve().parents[1] / "experiments" / "configs" / "explore_outside_filter.toml")
    assert (c.td3.explore, c.td3.exploration_unit, c.td3.exploration_range) == ("executed", "absolute", (1.5, 1.5))
    assert (c.calf.noiseless_retry, c.calf.fallback_dwell, c.calf.relax_schedule, c.calf.p_relax_start,
            c.calf.relax_episode_decay, c.calf.nominal_reach_check) == (False, 1.0, "exponential", 0.0, 1.0, 0.0)
    d = build_config()
    assert attrs.evolve(c.td3, explore=d.td3.explore, exploration_unit=d.td3.exploration_unit,
                        exploration_noise=d.td3.exploration_noise,
                        exploration_noise_min=d.td3.exploration_noise_min) == d.td3
    assert c.env == d.env and c.training == d.training


def test_the_previous_defaults_stay_reachable_through_a_config_file():
    """experiments/configs/previous_defaults.toml brings back every setting the learning defaults replaced."""
    from pathlib import Path

    from config.schema import critic_value_scale

    c = load_config(Path(__file__).resolve().parents[1] / "experiments" / "configs" / "previous_defaults.toml")
    assert (c.td3.gamma, c.td3.actor_lr, c.td3.critic_lr, c.td3.batch_size, c.td3.buffer_size) == \
        (0.99, 3e-4, 3e-4, 64, 100_000)
    assert (c.td3.exploration_noise, c.td3.explore, critic_value_scale(c)) == (0.5, "actor", 1.0)
    assert (c.calf.decrease, c.calf.nu_bar, c.calf.kappa_up_coeff, c.calf.p_relax_start, c.calf.fallback_dwell) == \
        ("absolute", 0.01, 1000.0, 0.99995, 0.0)
    assert (c.training.collect, c.training.train_steps_per_frame, c.training.boundary_exit) == \
        ("training", 1, "terminal")


def test_file_values_beat_presets_and_overrides_beat_files():
    c = build_config({"preset": "high", "visual": {"grid_size": 41}}, overrides={"visual": {"agents": 1}})
    assert c.preset == "high" and c.visual.grid_size == 41 and c.visual.agents == 1
    assert c.visual.trail_max_length == 1000


def test_toml_round_trip(tmp_path):
    c = build_config(preset="low", train_preset="quick", overrides={"env": {"system": "differential_drive"}})
    path = tmp_path / "c.toml"
    path.write_text(to_toml(c))
    assert load_config(path) == c


def test_floats_accept_integers_but_ints_reject_floats():
    assert build_config({"env": {"boundary_limit": 6}}).env.boundary_limit == 6.0
    with pytest.raises(ConfigError, match="visual.grid_size must be an integer"):
        build_config({"visual": {"grid_size": 21.0}})
    with pytest.raises(ConfigError, match="must be true or false"):
        build_config({"visual": {"use_stats_cache": 1}})
    with pytest.raises(ConfigError, match="must be finite"):
        build_config({"env": {"reward_scale": float("nan")}})


def test_plugins_round_trip_through_toml(tmp_path):
    c = build_config({"plugins": [{"system": "a.b:C", "after": "PhysicsSystem", "options": {"k": 2.5}}, "d.e:F"]})
    path = tmp_path / "c.toml"
    path.write_text(to_toml(c))
    assert load_config(path) == c
