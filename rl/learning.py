"""Create the learning resources of a world from its config (idempotent).

Networks, CalfState and TrainingStats are shared by the control, training and render systems;
the TD3 learner, the replay buffer and the `Learner` that runs the updates (rl.background_learner)
belong to training. `install_learning` is called from the systems' `setup`, so a world gets them
whichever system joins first.

`Networks` are always the acting networks (on the CPU: the CALF filter, the critic surface and the
evaluation read them). Inline on the CPU, TD3 trains them in place (as it always has: same seed,
same run). A background learner, or a learner on a GPU (`td3.device`), trains a copy of its own
and publishes its weights into them.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from components.training_stats import TrainingStats
from config.schema import AppConfig, critic_value_scale
from envs.base import Environment
from rl.background_learner import (
    BackgroundLearner,
    InlineLearner,
    Learner,
    WeightPublisher,
    publish_lists,
)
from rl.calf_state import CalfState
from rl.networks import Networks, build_networks
from rl.relax import make_schedule
from rl.replay import ReplayBuffer
from rl.td3 import TD3
from validation.validators import ConfigError


def torch_seed(seed: int, salt: int) -> int:
    """A 63-bit torch seed derived from the run seed (independent of numpy's streams)."""
    return int(np.random.SeedSequence([int(seed), salt]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def networks_for(cfg: AppConfig, env: Environment, seed: int | None = None) -> Networks:
    """Networks of this run's shapes, critic scale and actor form (residual to the nominal with
    td3.actor_base = "nominal"); `seed` seeds torch's global stream for the initial weights."""
    base = env.nominal if cfg.td3.actor_base == "nominal" else None
    return build_networks(env.state_dim, env.action_dim, env.action_high, cfg.td3.hidden_size, cfg.td3.hidden_layers,
                          seed=seed, value_scale=critic_value_scale(cfg), base_policy=base)


def install_networks(world) -> Networks:  # noqa: ANN001
    nets = world.try_resource(Networks)
    if nets is None:
        cfg = world.resource(AppConfig)
        torch.set_num_threads(cfg.td3.torch_threads)
        nets = networks_for(cfg, world.resource(Environment), seed=torch_seed(cfg.run.seed, 1))
        world.insert_resource(nets, Networks)
    return nets


def install_control_state(world) -> CalfState:  # noqa: ANN001
    calf = world.try_resource(CalfState)
    if calf is None:
        calf = world.insert_resource(CalfState(make_schedule(world.resource(AppConfig).calf)), CalfState)
    if world.try_resource(TrainingStats) is None:
        world.insert_resource(new_training_stats(world.resource(AppConfig)), TrainingStats)
    return calf


def new_training_stats(cfg: AppConfig) -> TrainingStats:
    stats = TrainingStats()
    cap = timeline_capacity(cfg.env.max_steps_per_episode)
    stats.timeline_q = np.full(cap, np.nan)
    stats.timeline_mode = np.zeros(cap, dtype=np.int8)
    return stats


def timeline_capacity(max_steps: int) -> int:
    """The certificate timeline holds at most this many points (longer episodes are thinned)."""
    return int(min(max(max_steps, 2), 4096))


def make_learner(cfg: AppConfig, env: Environment, nets: Networks) -> TD3:
    """TD3 on `nets`; with calf.certificate_critic = "target" the certificate reads TD3's target critic."""
    t = cfg.td3
    td3 = TD3(nets, action_high=env.action_high, gamma=t.gamma, tau=t.tau, policy_noise=t.policy_noise,
              noise_clip=t.noise_clip, policy_delay=t.policy_delay, actor_lr=t.actor_lr, critic_lr=t.critic_lr,
              seed=torch_seed(cfg.run.seed, 2), bc_weight=t.bc_weight)
    nets.certificate_critic = td3.critic_target if cfg.calf.certificate_critic == "target" else nets.critic
    return td3


def make_scratch_learner(cfg: AppConfig, env: Environment) -> TD3:
    """A learner on fresh networks of this run's shapes that touches no global random state
    (checkpoints are loaded into one first, to be checked before the real one is changed)."""
    with torch.random.fork_rng(devices=[]):  # the initial weights draw from torch's global stream
        nets = networks_for(cfg, env)
    return make_learner(cfg, env, nets)


def resolve_device(name: str) -> torch.device:
    """`td3.device` as a torch device: "auto" is CUDA when torch sees a GPU, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("td3.device = 'cuda', but this torch sees no CUDA device "
                          f"(torch {torch.__version__}; use 'auto' or 'cpu')")
    return torch.device(name)


def learner_networks(acting: Networks, device: torch.device) -> Networks:
    """A copy of the acting networks on `device`, for a learner that trains its own."""
    return Networks(copy.deepcopy(acting.actor).to(device), copy.deepcopy(acting.critic).to(device),
                    acting.base_policy)


def learner_mode(cfg: AppConfig, run_mode: str) -> str:
    """`training.learner` resolved: "auto" is background in the view (a window or offscreen), inline headless."""
    if cfg.training.learner != "auto":
        return cfg.training.learner
    return "inline" if run_mode == "headless" else "background"


def when_behind(cfg: AppConfig, run_mode: str) -> str:
    """`training.learner_when_behind` resolved: "auto" skips in the view, waits headless."""
    if cfg.training.learner_when_behind != "auto":
        return cfg.training.learner_when_behind
    return "wait" if run_mode == "headless" else "skip"


def install_learner(world, run_mode: str = "headless") -> TD3:  # noqa: ANN001
    """TD3, the replay buffer and the `Learner` running the updates (inline or background, by
    `training.learner` and the run's mode: "headless", "offscreen" or "window")."""
    td3 = world.try_resource(TD3)
    cfg = world.resource(AppConfig)
    env = world.resource(Environment)
    if world.try_resource(ReplayBuffer) is None:
        world.insert_resource(ReplayBuffer(env.state_dim, env.action_dim, cfg.td3.buffer_size), ReplayBuffer)
    replay = world.resource(ReplayBuffer)
    if td3 is not None:
        if world.try_resource(Learner) is None:
            world.insert_resource(InlineLearner(td3, replay, td3.nets), Learner)
        return td3
    acting = install_networks(world)
    device = resolve_device(cfg.td3.device)
    background = learner_mode(cfg, run_mode) == "background"
    publisher = None
    if background or device.type != "cpu":  # TD3 trains networks of its own and publishes them
        td3 = make_learner(cfg, env, learner_networks(acting, device))
        acting.certificate_critic = (copy.deepcopy(td3.critic_target).to("cpu")
                                     if cfg.calf.certificate_critic == "target" else acting.critic)
        publisher = WeightPublisher(*publish_lists(td3, acting))
    else:
        td3 = make_learner(cfg, env, acting)
    world.insert_resource(td3, TD3)
    t = cfg.training
    if background:
        learner = BackgroundLearner(td3, replay, acting, publisher, max_lag=t.learner_max_lag,
                                    when_behind=when_behind(cfg, run_mode), publish_every=t.learner_publish_every)
    else:
        learner = InlineLearner(td3, replay, acting, publisher)
    world.insert_resource(learner, Learner)
    return td3
