"""A diverging actor or critic (NaN / inf) never stops a run and never poisons what is learned.

NaNs are injected for real: into the live networks' weights mid-run, into agents' states and the
training agent's reward, and into the environment's reward. The run goes on, the replay buffer
holds only finite rows, the weights are never overwritten by a bad step, and every fault is counted
where the HUD, the profile and run_summary.json read it.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from components.agent_table import AgentTable
from components.faults import FAULT_COUNTERS, fault_counts
from components.modes import Mode
from components.resources import Counters
from config import build_config
from ecs import System
from envs.base import Environment, Outcome
from rl.networks import Networks
from rl.replay import ReplayBuffer
from rl.td3 import TD3
from runtime.build import build_world

AGENTS = 5


def world_for(**sections):
    over = {"visual": {"agents": AGENTS}, "env": {"max_steps_per_episode": 60},
            "td3": {"start_training_step": 10, "batch_size": 8}, "run": {"seed": 3},
            "training": {"collect": "training", "train_steps_per_frame": 1}}
    for k, v in sections.items():
        over.setdefault(k, {}).update(v)
    return build_world(build_config(overrides=over))


def poison(module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(math.nan)


def finite(module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


def replay_is_finite(world) -> bool:
    rb = world.resource(ReplayBuffer)
    return bool(np.isfinite(rb.data[: rb.size]).all())


def counts(world) -> dict:
    return fault_counts(world.resource(Counters))


def frames_until_actor_step(td3: TD3) -> int:
    """Frames (one TD3 update each) until the next actor step, which finds a broken actor."""
    return 1 if (td3.updates + 1) % td3.policy_delay == 0 else 2


def test_nan_actor_weights_fall_back_then_the_actor_is_restored_from_its_target():
    w = world_for()
    w.run(30)  # training is on
    td3, table = w.resource(TD3), w.resource(AgentTable)
    size_before = w.resource(ReplayBuffer).size
    k = frames_until_actor_step(td3)
    target = [p.detach().clone() for p in td3.actor_target.parameters()]
    poison(td3.actor)
    modes = []
    for _ in range(k):
        w.step()
        modes.append(table.mode.copy())
    assert all((m == Mode.FALLBACK).all() for m in modes)  # the nominal policy acted for every agent
    n = table.n
    assert counts(w) == {**dict.fromkeys(FAULT_COUNTERS, 0), "nonfinite_actions": n * k, "skipped_updates": 1,
                         "network_restores": 1}
    assert finite(td3.actor)
    assert all(torch.equal(p, t) for p, t in zip(td3.actor.parameters(), target))  # restored, then not stepped
    w.run(20)
    assert counts(w)["nonfinite_actions"] == n * k  # no more faults once restored
    assert np.isfinite(table.state).all() and replay_is_finite(w)
    assert w.resource(ReplayBuffer).size == size_before + k + 20  # the fallback steps were fine transitions
    w.shutdown()


def test_nan_critic_weights_are_never_certified_and_the_critic_is_restored():
    w = world_for()
    w.run(30)
    td3, table = w.resource(TD3), w.resource(AgentTable)
    poison(td3.critic)
    w.step()  # control: Q is NaN for every row; training: the critic step is skipped and restored
    assert (table.mode == Mode.FALLBACK).all() and np.isnan(table.q).all()
    c = counts(w)
    assert c["nonfinite_actions"] == table.n and c["skipped_updates"] == 1 and c["network_restores"] == 1
    assert finite(td3.critic) and finite(td3.critic_target)
    w.run(20)
    assert counts(w)["skipped_updates"] == 1 and np.isfinite(table.q).all()
    assert replay_is_finite(w) and math.isfinite(td3.critic_loss)
    w.shutdown()


def test_an_actor_and_its_target_both_broken_never_corrupt_the_critic():
    """Nothing to restore from: every step falls back, every update is skipped, the run goes on."""
    w = world_for()
    w.run(30)
    td3, table = w.resource(TD3), w.resource(AgentTable)
    poison(td3.actor)
    poison(td3.actor_target)
    critic = [p.detach().clone() for p in td3.critic.parameters()]
    updates = td3.updates
    w.run(20)
    steps = td3.updates - updates
    c = counts(w)
    assert c["nonfinite_actions"] == 20 * table.n and c["network_restores"] == 0
    assert c["skipped_updates"] == steps + steps // td3.policy_delay  # every critic and every actor step
    assert all(torch.equal(p, q) for p, q in zip(td3.critic.parameters(), critic))  # untouched
    assert np.isfinite(table.state).all() and replay_is_finite(w)
    w.shutdown()


def test_with_the_bare_actor_nan_actions_act_and_the_agents_respawn():
    w = world_for(training={"policy": "actor"})
    w.run(30)
    poison(w.resource(TD3).actor)
    poison(w.resource(TD3).actor_target)
    w.run(3)
    table = w.resource(AgentTable)
    c = counts(w)
    assert c["nonfinite_actions"] == 3 * table.n and c["nonfinite_agents"] == 3 * table.n
    assert c["rejected_transitions"] == 3  # the training agent's NONFINITE steps
    assert np.isfinite(table.state).all() and replay_is_finite(w)
    w.shutdown()


class NanState(System):
    """Writes NaN into one visual agent's state before the filter sees it."""

    after = ("PopulationSystem",)

    def process(self, world, dt):
        t = world.resource(AgentTable)
        t.state[1] = np.nan


class NanTrainingReward(System):
    """Overwrites the training agent's reward after physics, every other frame."""

    after = ("PhysicsSystem",)

    def process(self, world, dt):
        t = world.resource(AgentTable)
        if world.frame % 2 == 0:
            t.reward[t.training_row] = np.inf


def test_nan_states_and_rewards_respawn_agents_and_stay_out_of_the_buffer():
    w = world_for()
    w.add_systems([(NanState(), None, "PopulationSystem"), (NanTrainingReward(), None, "PhysicsSystem")])
    ended = []
    w.events.subscribe("episodes_ended", lambda rows, out, *_: ended.append(dict(zip(rows.tolist(), out.tolist()))))
    w.run(40)
    table = w.resource(AgentTable)
    c = counts(w)
    assert c["nonfinite_agents"] == 40 and c["nonfinite_actions"] == 40  # row 1, every frame
    assert all(e.get(1) == Outcome.NONFINITE for e in ended) and len(ended) >= 40
    assert c["rejected_transitions"] == 20  # the training agent's inf rewards
    assert np.isfinite(table.state).all() and np.isfinite(table.episode_return).all() and replay_is_finite(w)
    assert w.resource(ReplayBuffer).size == 20
    w.shutdown()


def test_nan_rewards_from_the_environment_are_counted_and_not_learned(monkeypatch):
    w = world_for()
    env = w.resource(Environment)
    reward = env.reward
    monkeypatch.setattr(env, "reward", lambda s, a: np.full(len(s), np.nan) if w.frame % 5 == 0 else reward(s, a))
    w.run(50)
    table = w.resource(AgentTable)
    c = counts(w)
    assert c["nonfinite_agents"] == 10 * table.n and c["rejected_transitions"] == 10
    assert w.resource(ReplayBuffer).size == 40 and replay_is_finite(w)
    w.shutdown()


def test_replay_buffer_refuses_non_finite_rows():
    rb = ReplayBuffer(2, 1, 10)
    assert rb.add(np.zeros(2), np.zeros(1), 1.0, np.ones(2), False)
    assert not rb.add(np.array([np.nan, 0.0]), np.zeros(1), 1.0, np.ones(2), False)
    assert not rb.add(np.zeros(2), np.zeros(1), 1e300, np.ones(2), False)  # inf once stored as float32
    assert not rb.add(np.zeros(2), np.array([np.inf]), 1.0, np.ones(2), True)
    assert rb.size == 1 and rb.head == 1 and np.isfinite(rb.data).all()
    full = ReplayBuffer(2, 1, 3)
    for i in range(3):
        full.add(np.full(2, i), np.zeros(1), float(i), np.ones(2), False)
    assert not full.add(np.full(2, np.nan), np.zeros(1), 9.0, np.ones(2), False)  # would overwrite the oldest
    assert full.size == 3 and np.isfinite(full.data).all() and full.data[:, full.r].tolist() == [0.0, 1.0, 2.0]
    s = np.zeros((5, 2))
    s[2, 1] = np.nan
    r = np.array([0.0, 1.0, 2.0, np.inf, 4.0])
    assert rb.add_batch(s, np.zeros((5, 1)), r, np.zeros((5, 2)), np.zeros(5, bool)) == 2
    assert rb.size == 4 and np.isfinite(rb.data).all() and sorted(rb.data[1:4, rb.r].tolist()) == [0.0, 1.0, 4.0]


def test_a_batch_with_nan_skips_the_update_and_leaves_the_weights_alone():
    w = world_for()
    td3, rb = w.resource(TD3), w.resource(ReplayBuffer)
    w.run(20)
    before = [p.detach().clone() for m in (td3.actor, td3.critic, td3.actor_target, td3.critic_target)
              for p in m.parameters()]
    batch = rb.sample(16, torch.Generator().manual_seed(0)).clone()
    batch[3, rb.s] = math.nan  # both the critic's and the actor's loss see it
    actor_steps = sum((td3.updates + i) % td3.policy_delay == 0 for i in (1, 2))
    td3.update_on_batch(batch, rb)
    td3.update_on_batch(batch, rb)  # an actor step too (policy_delay 2)
    after = [p for m in (td3.actor, td3.critic, td3.actor_target, td3.critic_target) for p in m.parameters()]
    assert td3.skipped_updates == 2 + actor_steps and td3.network_restores == 0 and math.isnan(td3.critic_loss)
    assert all(torch.equal(a, b) for a, b in zip(after, before))
    w.shutdown()


def test_the_surface_stays_finite_when_the_critic_returns_nan():
    from components.critic_surface import CriticSurface
    from components.view_state import HudText
    from runtime.view_systems import add_view_systems

    cfg = build_config(overrides={"visual": {"agents": 3, "heatmap_update_freq": 1}, "run": {"seed": 1},
                                  "td3": {"start_training_step": 10, "batch_size": 8}})
    w = build_world(cfg, extend=lambda world: add_view_systems(world, cfg))
    w.run(20)
    surface = w.resource(CriticSurface)
    ema = (surface.q2_min_ema, surface.q2_max_ema)
    w.schedule.disable("TrainingSystem")  # nothing restores the critic while the view draws it
    poison(w.resource(Networks).critic)
    surface.force = True
    w.run(6)  # the heatmap refreshes with the NaN critic; the HUD text is rebuilt
    for arr in (surface.heights, surface.normalised, surface.colors):
        assert np.isfinite(arr).all()
    assert (surface.q2_min_ema, surface.q2_max_ema) == ema  # no finite node: the averages wait
    assert np.isnan(surface.q_range).all() and np.isfinite(w.resource(AgentTable).height).all()
    assert f"fell back {counts(w)['nonfinite_actions']} " in w.resource(HudText).stats
    assert counts(w)["nonfinite_actions"] == 6 * w.resource(AgentTable).n
    w.schedule.enable("TrainingSystem")
    w.run(2)  # training restores the critic from its target; the heatmap redraws (heatmap_update_freq 1)
    assert np.isfinite(surface.q).all() and np.isfinite(surface.q2_max_ema)
    w.shutdown()


def test_fault_counts_reach_the_profile_and_the_summary(tmp_path):
    from runfiles.run_outputs import RunOutputs

    w = world_for()
    outputs = RunOutputs(w, tmp_path / "run")
    w.run(30)
    poison(w.resource(TD3).critic)
    w.run(5)
    outputs.close()
    summary = json.loads((tmp_path / "run" / "run_summary.json").read_text())
    expected = counts(w)
    assert summary["numerics"] == expected and expected["network_restores"] == 1
    report = w.system("ProfilerSystem").report()
    for name in FAULT_COUNTERS:
        assert report["counters"][name]["total"] == expected[name]
    w.shutdown()


def test_the_hud_line_names_every_count():
    from systems.hud_text import faults_line

    line = faults_line({"nonfinite_agents": 3, "nonfinite_actions": 4, "rejected_transitions": 5,
                        "skipped_updates": 6, "network_restores": 7, "nonfinite_values": 8})
    assert line == "non-finite  respawned 3  fell back 4  rejected 5  skipped 6  restored 7  repaired 8"
    assert faults_line({}) == "non-finite  respawned 0  fell back 0  rejected 0  skipped 0  restored 0  repaired 0"


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_checkpoint_with_non_finite_weights_is_refused_and_the_world_is_untouched(tmp_path, bad):
    from rl.checkpoint import CheckpointError, read_checkpoint, restore, save_checkpoint

    src = world_for()
    src.run(20)
    with torch.no_grad():
        next(src.resource(TD3).critic_target.parameters())[0, 0, 0] = bad
    path = save_checkpoint(src, tmp_path / "c.pt")
    dst = world_for()
    dst.run(5)
    before = [p.detach().clone() for p in dst.resource(TD3).critic.parameters()]
    rows = dst.resource(ReplayBuffer).size
    with pytest.raises(CheckpointError, match="damaged: the network weights hold NaN or inf"):
        restore(dst, read_checkpoint(path), path)
    assert all(torch.equal(a, b) for a, b in zip(dst.resource(TD3).critic.parameters(), before))
    assert dst.resource(ReplayBuffer).size == rows
    src.shutdown()
    dst.shutdown()
