"""The learner beside the frame (rl.background_learner): it trains, its weights reach the acting
networks whole, it keeps the update-to-data ratio within its bound, a checkpoint taken while it
works restores to one consistent state, its thread stops on every way a run ends, and the inline
learner is unchanged (deterministic). No timing is asserted: a slow or loaded machine only changes
how often the bound is reached, never what holds."""
from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest
import torch

import app
from components.training_stats import TrainingStats
from config import ConfigError, build_config
from ecs import System
from rl.background_learner import (
    BackgroundLearner,
    InlineLearner,
    Learner,
    LearnerError,
    WeightPublisher,
)
from rl.checkpoint import read_checkpoint, restore, save_checkpoint
from rl.learning import resolve_device
from rl.networks import Networks
from rl.replay import ReplayBuffer
from rl.td3 import TD3
from runtime.build import build_world

SMALL = {"visual": {"agents": 3, "cohort": 2}, "env": {"max_steps_per_episode": 40},
         "td3": {"start_training_step": 20, "batch_size": 32, "buffer_size": 5000}, "run": {"seed": 5}}


def small(learner: str = "background", **sections) -> build_config:  # noqa: ANN003
    over = {k: dict(v) for k, v in SMALL.items()}
    over.setdefault("training", {})["learner"] = learner
    for name, values in sections.items():
        over.setdefault(name, {}).update(values)
    return build_config(overrides=over)


def learner_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "calf-ecs-learner" and t.is_alive()]


def params(module) -> list[torch.Tensor]:  # noqa: ANN001
    return [p.detach().clone() for p in module.parameters()]


def equal(a, b) -> bool:  # noqa: ANN001
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def world():
    worlds = []

    def make(cfg):  # noqa: ANN001, ANN202
        w = build_world(cfg)
        worlds.append(w)
        return w

    yield make
    for w in worlds:
        w.shutdown()
    assert not learner_threads()


def test_the_background_learner_trains_and_publishes_into_the_acting_networks(world):
    w = world(small())
    learner = w.resource(Learner)
    acting, td3 = w.resource(Networks), w.resource(TD3)
    assert isinstance(learner, BackgroundLearner) and td3.actor is not acting.actor  # its own copy
    start_learner, start_acting = params(td3.actor) + params(td3.critic), params(acting.actor) + params(acting.critic)
    assert equal(start_learner, start_acting)
    version = acting.version
    w.run(120)
    assert learner.done > 0 and learner.alive
    assert not equal(params(td3.actor) + params(td3.critic), start_learner)  # it trained
    assert acting.version > version  # weights were published and synced between steps
    with learner.paused():  # everything granted is done: the acting networks get the same weights
        learner.sync()
        assert learner.done == learner.granted == td3.updates
        assert equal(params(acting.actor), params(td3.actor)) and equal(params(acting.critic), params(td3.critic))
    stats = w.resource(TrainingStats)
    assert stats.learner == "background" and stats.train_updates <= learner.done


def test_the_certificate_reads_a_published_copy_of_the_target_critic(world):
    w = world(small(calf={"certificate_critic": "target"}))
    acting, td3, learner = w.resource(Networks), w.resource(TD3), w.resource(Learner)
    assert acting.certificate_critic is not acting.critic and acting.certificate_critic is not td3.critic_target
    w.run(120)
    with learner.paused():
        learner.sync()
        assert equal(params(acting.certificate_critic), params(td3.critic_target))
        assert not equal(params(acting.certificate_critic), params(acting.critic))


def test_published_weights_are_a_snapshot_and_never_torn():
    """Sync copies the staged snapshot, not the learner's weights of the moment; and under a
    publisher that stages all the time, every synced set is one whole staging (all values equal)."""
    sources = [torch.zeros(64, 64), torch.zeros(64), torch.zeros(2, 65, 64)]
    targets = [torch.empty_like(t) for t in sources]
    pub = WeightPublisher(sources, targets)
    for t in sources:
        t.fill_(1.0)
    pub.stage(1)
    for t in sources:
        t.fill_(2.0)  # after the snapshot: not published
    assert pub.sync() == 1 and all(bool((t == 1.0).all()) for t in targets)
    assert pub.sync() == 0  # nothing new

    stop = threading.Event()

    def stager() -> None:
        k = 2
        while not stop.is_set():
            for t in sources:
                t.fill_(float(k))
            pub.stage(k)
            k += 1

    thread = threading.Thread(target=stager)
    thread.start()
    try:
        seen = set()
        for _ in range(300):
            pub.sync()
            values = torch.cat([t.flatten() for t in targets]).unique()
            assert values.numel() == 1, f"a torn set of weights: {values[:5]}"
            seen.add(float(values[0]))
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 1


@pytest.mark.parametrize("when_behind", ["wait", "skip"])
def test_the_update_to_data_ratio_is_kept_within_its_bound(world, monkeypatch, when_behind):
    """A slowed learner (every update sleeps) falls behind: the acting side waits, or skips the excess."""
    real = TD3.update
    monkeypatch.setattr(TD3, "update", lambda self, replay, batch: (threading.Event().wait(0.003),
                                                                     real(self, replay, batch))[1])
    cfg = small(training={"learner_max_lag": 3, "learner_when_behind": when_behind, "train_steps_per_frame": 2})
    w = world(cfg)
    learner = w.resource(Learner)
    seen = []

    def check(world_) -> None:  # noqa: ANN001
        seen.append((learner.granted, learner.done, learner.skipped))
        assert 0 <= learner.done <= learner.granted  # never ahead of the data
        assert learner.granted - learner.done <= 3  # never further behind than the bound

    w.on_step_end(check)
    w.run(150)
    stats = w.resource(TrainingStats)
    training_steps = stats.total_steps - cfg.td3.start_training_step
    assert learner.granted + learner.skipped == 2 * training_steps  # every step's grant is accounted for
    if when_behind == "wait":
        assert learner.skipped == 0 and stats.updates_skipped == 0
    with learner.paused():
        assert learner.done == learner.granted
    assert len(seen) == 150


def test_skipped_updates_are_counted_when_the_learner_cannot_keep_up(world):
    w = world(small(training={"learner_max_lag": 3, "learner_when_behind": "skip", "train_steps_per_frame": 2}))
    learner = w.resource(Learner)
    w.run(60)
    with learner.paused():
        before = (learner.granted, learner.skipped)
        w.run(10)  # the worker is held: after the bound every grant is skipped
        assert learner.granted == before[0] + 3 and learner.skipped == before[1] + 17
    w.run(1)
    assert w.resource(TrainingStats).updates_skipped == learner.skipped >= 17


def test_the_hud_shows_the_learner_and_its_lag_within_the_sidebar():
    from components.view_state import HudText
    from runtime.view_systems import add_view_systems
    from systems.hud_text import SIDEBAR_COLUMNS

    cfg = small()
    w = build_world(cfg)
    add_view_systems(w, cfg)
    try:
        w.run(80)
        text = w.resource(HudText).stats
        lines = text.split("\n")
        assert any(line.startswith("learner background 2/step  batch 32") for line in lines), text
        assert any("updates behind" in line and "skipped 0%" in line for line in lines), text
        assert max(len(line) for line in lines) <= SIDEBAR_COLUMNS
    finally:
        w.shutdown()


def test_a_checkpoint_taken_while_the_learner_works_restores_one_consistent_state(world, tmp_path):
    a = world(small(training={"learner_max_lag": 100_000}))  # the held worker must not make a step wait
    a.run(140)
    learner = a.resource(Learner)
    with learner.paused(drain=False):  # hold the worker while 10 steps grant it 20 updates ...
        a.run(10)
        assert learner.lag >= 20
    path = save_checkpoint(a, tmp_path / "c.pt")  # ... so it is busy with them when the checkpoint starts
    data = read_checkpoint(path)
    assert data["td3"]["updates"] == data["stats"]["train_updates"]  # every granted update is in it
    assert data["replay"]["rows"].shape[0] == len(a.resource(ReplayBuffer))

    b = world(small(training={"learner_max_lag": 100_000}))
    restore(b, data, path)
    td3b, acting_b = b.resource(TD3), b.resource(Networks)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        assert equal(list(getattr(td3b, name).state_dict().values()), list(data["td3"][name].values()))
    assert equal(params(acting_b.actor), params(td3b.actor)) and equal(params(acting_b.critic), params(td3b.critic))
    assert b.resource(TrainingStats).train_updates == td3b.updates == data["td3"]["updates"]
    np.testing.assert_array_equal(b.resource(ReplayBuffer).data[: len(b.resource(ReplayBuffer))],
                                  data["replay"]["rows"].numpy())
    b.run(30)  # and it trains on from there
    with b.resource(Learner).paused():
        assert td3b.updates == data["td3"]["updates"] + b.resource(Learner).done
    assert learner.alive


def test_the_thread_stops_with_the_world_and_a_learner_failure_reaches_the_main_thread(world, monkeypatch):
    w = world(small())
    w.run(60)
    assert learner_threads()
    calls = {"n": 0}
    real = TD3.update

    def failing(self, replay, batch):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] > 5:
            raise RuntimeError("a diverging kernel")
        return real(self, replay, batch)

    monkeypatch.setattr(TD3, "update", failing)
    with pytest.raises(LearnerError, match="RuntimeError: a diverging kernel"):
        w.run(200)
    learner = w.resource(Learner)
    learner._thread.join(5)
    assert not learner.alive
    with learner.paused():  # a dead learner never makes a snapshot wait
        pass
    w.shutdown()
    assert not learner_threads()


def test_the_inline_learner_is_unchanged_and_deterministic(world):
    runs = []
    for _ in range(2):
        w = world(small("inline"))
        assert isinstance(w.resource(Learner), InlineLearner)
        assert w.resource(TD3).actor is w.resource(Networks).actor  # trains the acting networks in place
        w.run(120)
        runs.append(params(w.resource(Networks).actor) + params(w.resource(Networks).critic))
        assert not learner_threads()
    assert equal(*runs)


def test_auto_is_background_in_the_view_and_inline_headless(world):
    assert isinstance(world(small("auto")).resource(Learner), InlineLearner)
    w = build_world(small("auto"), mode="offscreen")
    try:
        assert isinstance(w.resource(Learner), BackgroundLearner) and w.resource(Learner).when_behind == "skip"
    finally:
        w.shutdown()


def test_the_device_path_trains_a_copy_and_publishes_it(world):
    """td3.device: on a machine without a GPU 'auto' is the CPU; 'cuda' is refused in one line. The
    separate-networks path a GPU learner takes runs here on the CPU (publishing after every step)."""
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="sees no CUDA device"):
            resolve_device("cuda")
    from rl.background_learner import publish_lists
    from rl.learning import learner_networks, make_learner

    w = world(small("inline"))
    acting = w.resource(Networks)
    cfg = small("inline")
    td3 = make_learner(cfg, _env(w), learner_networks(acting, resolve_device("cpu")))
    pub = WeightPublisher(*publish_lists(td3, acting))
    inline = InlineLearner(td3, w.resource(ReplayBuffer), acting, pub)
    w.run(60)  # fills the replay buffer
    before = params(acting.actor)
    inline.step(3, 32)
    assert td3.updates == 3 and not equal(params(acting.actor), before)
    assert equal(params(acting.actor), params(td3.actor)) and equal(params(acting.critic), params(td3.critic))
    state = td3.state_dict()
    assert all(t.device.type == "cpu" for t in state["actor"].values())


def _env(w):  # noqa: ANN001, ANN202
    from envs.base import Environment

    return w.resource(Environment)


# -- every way a run ends: real signals, a plugin's failure, through the program itself ------------------
class StopAt(System):
    """Sends a signal to this process, or raises, at a frame (a plugin)."""

    def __init__(self, frame: int = 60, sig: int = 0) -> None:
        self.frame, self.sig = frame, sig

    def process(self, world, dt):  # noqa: ANN001
        if world.frame == self.frame:
            if self.sig:
                os.kill(os.getpid(), self.sig)
            else:
                raise ValueError("a plugin's fault")


CONFIG = ("[env]\nmax_steps_per_episode = 30\n[td3]\nstart_training_step = 10\nbatch_size = 16\n"
          "[training]\nlearner = 'background'\n")


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 0), (signal.SIGTERM, 0), (0, 1)])
def test_the_thread_stops_on_ctrl_c_sigterm_and_a_plugin_failure(tmp_path, monkeypatch, capsys, sig, code):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(CONFIG + "[[plugins]]\nsystem = 'tests.test_background_learner:StopAt'\n"
                                     f"options = {{sig = {int(sig)}}}\n")
    result = app.main(["--headless", "--agents", "3", "--no-progress", "--config", "c.toml", "--out", "run",
                       "--episodes", "1000"])
    out, err = capsys.readouterr()
    assert result == code, err
    assert not learner_threads()
    data = read_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert data["td3"]["updates"] == data["stats"]["train_updates"] > 0  # the final checkpoint is whole
