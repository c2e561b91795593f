"""One line per config key saying what it does: the comments of the starter file
(`app.py --write-config PATH`, config.starter). tests/test_starter_config.py checks that every key
of the schema has one and that none describes a key that no longer exists.
"""
from __future__ import annotations

TOP_LEVEL = {
    "preset": "the visual preset: low, medium or high (agents, trail length, grid size, surface refresh)",
    "train_preset": "the training preset: quick, standard or thorough (episodes, episode length, batch size)",
}

KEYS = {
    "env": {
        "system": "the environment the agents live in (docs/PROBLEM.md, docs/CONFIG.md)",
        "dt": "integration step in seconds (RK4)",
        "goal_epsilon": "point mass: an episode succeeds once the state's norm |s| is below this",
        "dd_goal_position": "differential drive: success needs the distance to the origin below this...",
        "dd_goal_theta": "...and the heading |theta| below this (radians)",
        "boundary_limit": "an episode fails when a position component leaves [-limit, limit]; also the surface's extent",
        "max_steps_per_episode": "an episode times out after this many steps",
        "reward_scale": "rewards (negative costs) are multiplied by this before training",
        "reset_range": "new episodes start uniformly in [-range, range] per state component (angles: any heading)",
        "pm_action_bound": "point mass: the largest |acceleration| an action may ask for",
        "pd_kp": "point mass nominal policy: a = -kp * x - kd * v, the position gain",
        "pd_kd": "point mass nominal policy: the velocity gain",
        "dd_v_bound": "differential drive: the largest |forward speed|",
        "dd_omega_bound": "differential drive: the largest |turn rate|",
        "dd_k_rho": "differential drive nominal policy: forward speed per unit of distance to the origin",
        "dd_k_alpha": "differential drive nominal policy: turn rate per radian the origin lies off the heading",
        "dd_k_theta": "differential drive nominal policy: turn rate per radian of heading, once at the origin",
        "dd_backup_speed": "differential drive nominal policy: fraction of k_rho * distance used when reversing",
        "dd_final_rotation_radius": "differential drive nominal policy: within this distance it only turns to theta = 0",
        "options": "the chosen environment's own settings (the pendulum's torque_bound, ...; docs/CONFIG.md)",
    },
    "td3": {
        "hidden_size": "units per hidden layer of the actor and of each critic",
        "hidden_layers": "hidden layers of the actor and of each critic",
        "gamma": "discount factor",
        "tau": "soft target update: target += tau * (online - target) after each actor update",
        "policy_noise": "std of the noise added to the target actor's action (target smoothing), action units",
        "noise_clip": "target smoothing noise is clipped to [-noise_clip, noise_clip]",
        "policy_delay": "the actor and the targets update once every this many critic updates",
        "actor_lr": "Adam learning rate of the actor",
        "critic_lr": "Adam learning rate of the critics",
        "batch_size": "transitions per TD3 update",
        "buffer_size": "replay buffer capacity, in transitions",
        "exploration_noise": "std of the Gaussian noise added to the training agent's action, action units",
        "start_training_step": "the training agent acts with the nominal policy and nothing trains for this many steps",
        "torch_threads": "torch's intra-op threads for the whole process",
    },
    "calf": {
        "nu_bar": "certification needs q - q_cert >= nu_bar (the Lyapunov candidate -Q fell by at least this)",
        "kappa_low_coeff": "certification needs -q >= kappa_low_coeff * r^2 (r = |s|; r with kappa_on = norm)",
        "kappa_up_coeff": "certification needs -q <= kappa_up_coeff * r^2",
        "kappa_on": "the kappa bounds grow with the squared norm of the state or with the norm",
        "certified_value": "the critic value tested and stored: Q1, or the minimum of the twin critics",
        "relax_updates_certificate": "whether an action let through by the relax coin becomes the certified triple",
        "lambda_relax": "exponential schedule: P_relax is multiplied by this after every filter decision",
        "p_relax_init": "the starting relax probability (unset: lambda_relax); --p-relax",
        "relax_schedule": "how P_relax changes over training; --relax-schedule",
        "relax_ramp_steps": "linear schedule: filter decisions the ramp takes",
        "relax_ramp_end": "linear schedule: P_relax at the end of the ramp",
        "relax_goal_radius": "goal_zero schedule: P_relax is 0 for agents with |s| below this",
    },
    "visual": {
        "agents": "visual agents besides the training agent (they act, never train); --agents",
        "trail_max_length": "positions kept per agent's trail",
        "grid_size": "the critic surface is a grid_size x grid_size grid",
        "heatmap_update_freq": "the surface is recomputed every this many training steps",
        "heatmap_action": "the action the surface evaluates Q at: the actor's, or zero",
        "height_scale": "height of the surface's highest point, world units",
        "height_epsilon": "added to every height, so the lowest points sit just above the ground",
        "surface_ema_alpha": "smoothing of the q^2 range the surface's heights are normalised by",
        "surface_alpha": "opacity of the surface",
        "stats_q_value_update_freq": "HUD: Q values are refreshed every this many frames",
        "stats_text_update_freq": "HUD: the text is rebuilt every this many frames",
        "stats_profiler_update_freq": "HUD: the profiler panel is refreshed every this many frames",
        "use_vectorized_heights": "optimised path: all agents' heights in one interpolation (false: a loop)",
        "use_stats_cache": "optimised path: HUD values cached with refresh intervals (false: every frame)",
        "use_batched_trails": "optimised path: one mesh for all trails (false: one per agent)",
        "window_width": "window or offscreen buffer width, pixels",
        "window_height": "window or offscreen buffer height, pixels",
        "warp": "time warp: simulation steps per rendered frame (keys [ and ]); --warp K",
        "warp_auto": "choose the time warp by itself, to keep the view at about 20 FPS; --warp auto",
        "trail_lod": "trail level of detail: decimate every trail once the drawn points pass trail_lod_points",
        "trail_lod_points": "the budget of drawn trail points before the level of detail decimates",
    },
    "training": {
        "episodes": "a run stops after this many training-agent episodes (without run.frames); --episodes",
        "train_steps_per_frame": "TD3 updates per training-agent step once training has started",
        "policy": "who acts: the CALF filter, the bare TD3 actor, or the nominal policy alone; --policy",
        "checkpoint_every": "a checkpoint is written every this many episodes (and at the end)",
        "plot_every": "rewards.png is redrawn every this many episodes",
        "log_max_rows": "the CALF log keeps the newest rows, at most this many (0: no log); calf_log.csv + .prev.csv",
    },
    "profiler": {
        "enabled": "time every system every frame; --no-profiler turns it off",
        "window": "frames the profiler's statistics cover (the newest ones); --profile-window",
        "sample_every": "CPU and memory are sampled every this many frames",
        "warmup_frames": "frames left out of the statistics at the start; --warmup",
    },
    "run": {
        "seed": "every random stream derives from this seed; --seed",
        "frames": "stop after this many frames (unset: after training.episodes); --frames",
        "out": "the run's folder (unset: runs/<timestamp>/); --out",
        "profile": "write the profiler's JSON report here at the end; --profile",
        "resume": "continue from this checkpoint, or 'auto' for the newest one beside the run folder; --resume",
        "tensorboard": "also write the per-episode scalars as TensorBoard event files; --tensorboard",
        "record": "record the view as an H.264 video (.mp4) here; --record",
    },
}


def describe(section: str, key: str) -> str | None:
    """The key's line, or None when it has none."""
    return KEYS.get(section, {}).get(key)
