"""ControlSystem (the batched filter in the frame) and TrainingSystem (replay, TD3, statistics)."""
import numpy as np
import pytest
import torch

from components.agent_groups import Group
from components import AgentTable, Mode
from components.resources import Counters
from components.training_stats import TrainingStats
from config import build_config
from envs import Outcome
from rl.calf_state import CalfState
from rl.networks import Networks
from rl.replay import ReplayBuffer
from rl.td3 import TD3
from runtime.build import build_world
from systems.training import TrainingSystem


def world_with(agents=0, **sections):
    """A world whose learner is the training agent alone (collect = "training") with one TD3 update of a
    small batch per step and no policy cohort, unless a test says otherwise."""
    over = {"visual": {"agents": agents, "cohort": 0}, "run": {"seed": 5}, "training": {"collect": "training",
            "train_steps_per_frame": 1}, "td3": {"batch_size": 16},
            # episodes of a few steps are too short for the nominal policy to finish: the reach check
            # would hand every agent over at once (tests/test_reach_check.py tests it)
            "calf": {"nominal_reach_check": 0.0}}
    for k, v in sections.items():
        over.setdefault(k, {}).update(v)
    return build_world(build_config(overrides=over))


def test_warmup_acts_nominal_then_the_filter_decides_and_training_starts():
    w = world_with(agents=3, td3={"start_training_step": 30, "batch_size": 16, "explore": "actor"})
    table, stats, counters = w.resource(AgentTable), w.resource(TrainingStats), w.resource(Counters)
    from envs.base import Environment

    env = w.resource(Environment)
    tr = table.training_row
    for _ in range(30):
        s = table.state[tr:tr + 1].copy()
        w.step()
        assert table.mode[tr] == Mode.FALLBACK and np.allclose(table.action[tr], env.nominal(s)[0])
    assert stats.calf_steps == 0 and stats.train_updates == 0 and stats.phase == "EXPLORATION"
    assert not table.has_cert[tr] and counters.get("train_updates") == 0
    w.step()  # step 31: the filter's first decision for the training agent: no certificate -> certified
    assert table.mode[tr] == Mode.CERTIFIED and table.has_cert[tr] and stats.calf_steps == 1
    assert stats.phase == "TRAINING" and stats.train_updates == 1 and counters.get("train_updates") == 1
    # one actor + one critic call for every agent, and the training row again alone (batch-size independent)
    assert counters.get("network_forward_calls") == 4 * 31
    w.shutdown()


def test_first_frame_certifies_every_agent_and_certificates_reset_at_episode_end():
    w = world_with(agents=6, env={"max_steps_per_episode": 4})
    table = w.resource(AgentTable)
    w.step()
    vis = np.arange(table.n) != table.training_row
    assert (table.mode[vis] == Mode.CERTIFIED).all() and table.has_cert[vis].all()
    np.testing.assert_array_equal(table.q_cert[vis], table.q[vis])
    np.testing.assert_array_equal(table.s_cert[vis], table.prev_state[vis])
    for _ in range(3):
        w.step()
    assert (table.outcome == Outcome.TIMEOUT).all()
    assert not table.has_cert.any() and np.isnan(table.q_cert).all()
    w.shutdown()


@pytest.mark.parametrize("boundary_exit,exit_not_done", [("bootstrap", 1.0), ("terminal", 0.0)])
def test_transitions_of_the_training_row_only_with_terminal_flags(boundary_exit, exit_not_done):
    w = world_with(agents=4, env={"max_steps_per_episode": 3}, training={"boundary_exit": boundary_exit})
    table, replay = w.resource(AgentTable), w.resource(ReplayBuffer)
    tr = table.training_row
    table.state[tr] = (4.999, 50.0)  # leaves the boundary on the first step
    w.step()
    assert len(replay) == 1 and table.outcome[tr] == Outcome.BOUNDARY
    row = replay.data[0]
    np.testing.assert_allclose(row[replay.s], [4.999, 50.0], rtol=1e-6)
    np.testing.assert_allclose(row[replay.s2], table.next_state[tr], rtol=1e-6)
    assert row[replay.r] == pytest.approx(table.reward[tr], rel=1e-6)
    assert row[replay.not_done] == exit_not_done  # bootstrap: the exit is not the end of the cost stream
    w.step()
    w.step()
    w.step()  # a timeout is never terminal
    assert len(replay) == 4 and table.outcome[tr] == Outcome.TIMEOUT and replay.data[3, replay.not_done] == 1.0
    table.state[tr] = (0.001, 0.0)  # the goal is always terminal
    w.step()
    assert table.outcome[tr] == Outcome.GOAL and replay.data[4, replay.not_done] == 0.0 and len(replay) == 5
    w.shutdown()


def test_the_critic_target_bootstraps_a_boundary_exit_and_ends_at_the_goal():
    """Hand-built transitions through TD3.target: r + gamma * min(Q1', Q2')(s', pi'(s')) unless terminal.

    With bootstrapping, leaving the boundary costs r plus what the critic expects from out there,
    which for a critic that has learned that far states are costly is more than r alone."""
    w = world_with(td3={"policy_noise": 0.0, "gamma": 0.9, "value_scale": 1.0})
    td3 = w.resource(TD3)
    with torch.no_grad():  # a critic whose targets say: the value is -10 * ||s'||^2 - 1 wherever you are
        for p in td3.critic_target.parameters():
            p.zero_()
        td3.critic_target.biases[-1].fill_(-1.0)
    r = torch.tensor([-50.0, -50.0, -0.3])
    s2 = torch.tensor([[5.01, 3.0], [5.01, 3.0], [0.01, 0.0]])
    y_boot = td3.target(r, s2, torch.tensor([1.0, 1.0, 0.0]))
    assert y_boot.tolist() == pytest.approx([-50.0 - 0.9 * 1.0, -50.9, -0.3])
    y_term = td3.target(r, s2, torch.tensor([0.0, 0.0, 0.0]))
    assert y_term.tolist() == pytest.approx([-50.0, -50.0, -0.3])
    assert (y_boot[:2] < y_term[:2]).all()  # the exit is never cheaper than the stage cost alone
    w.shutdown()


def test_collect_all_stores_one_transition_per_learner_per_frame_and_none_of_the_cohort():
    w = world_with(agents=7, env={"max_steps_per_episode": 5}, td3={"start_training_step": 3},
                   training={"collect": "all"}, visual={"cohort": 3})
    table, replay, stats = w.resource(AgentTable), w.resource(ReplayBuffer), w.resource(TrainingStats)
    assert table.n == 11
    learners = table.group == Group.LEARNER
    n = int(learners.sum())
    assert n == 8
    for frame in range(1, 9):
        before = replay.head
        w.step()
        learners = table.group == Group.LEARNER
        assert len(replay) == n * frame and stats.collected == n * frame
        rows = replay.data[before:before + n]
        # each learner's own transition, in table order; the cohort's never
        np.testing.assert_allclose(rows[:, replay.s], table.prev_state[learners], rtol=1e-6)
        np.testing.assert_allclose(rows[:, replay.a], table.action[learners], rtol=1e-6)
        np.testing.assert_allclose(rows[:, replay.r], table.reward[learners], rtol=1e-6)
        np.testing.assert_allclose(rows[:, replay.s2], table.next_state[learners], rtol=1e-6)
        np.testing.assert_array_equal(rows[:, replay.not_done],
                                      (table.outcome[learners] != Outcome.GOAL).astype(np.float32))
    assert stats.learners.steps == 8 * n and stats.learners.episodes >= n  # every agent timed out at least once
    assert stats.cohort.steps == 8 * 3 and stats.cohort.episodes >= 3
    assert stats.learners.episodes == stats.learners.goals + stats.learners.failures
    # warm-up (3 steps): every learner acted nominal, nobody was filtered; then all n rows were decided;
    # the cohort was decided by the filter from the first step
    assert stats.learners.decided == (8 - 3) * n and stats.calf_steps == 8 - 3
    assert stats.cohort.decided == 8 * 3
    assert w.resource(CalfState).relax_steps == 8 - 3  # P_relax advances once per frame, not per agent
    w.shutdown()


def test_collect_all_gives_every_agent_its_own_exploration_noise():
    w = world_with(agents=5, td3={"start_training_step": 0, "exploration_noise": 0.3, "exploration_unit": "absolute"},
                   training={"collect": "all", "policy": "actor"})
    table = w.resource(AgentTable)
    nets = w.resource(Networks)
    s = table.state.copy()
    w.step()
    noise = table.action - np.clip(nets.act(s), -5, 5)
    assert np.all(np.abs(noise) > 0) and np.unique(np.round(noise, 12)).size == table.n
    assert noise.std() == pytest.approx(0.3, rel=0.8)
    w.shutdown()
    w = world_with(agents=5, td3={"start_training_step": 0}, training={"policy": "actor"})  # collect = training
    table = w.resource(AgentTable)
    s = table.state.copy()
    w.step()
    vis = np.arange(table.n) != table.training_row
    np.testing.assert_allclose(table.action[vis], w.resource(Networks).act(s)[vis])  # visual rows: no noise
    w.shutdown()


def _run(agents, frames=260):
    w = world_with(agents=agents, env={"max_steps_per_episode": 60}, td3={"start_training_step": 40})
    w.run(frames)
    stats = w.resource(TrainingStats)
    snap = {k: getattr(stats, k) for k in ("episodes", "total_steps", "calf_steps", "interventions", "relaxes",
                                          "successes", "train_updates", "p_relax", "critic_loss")}
    snap["returns"] = list(stats.returns)
    weights = [p.detach().clone() for p in w.resource(Networks).actor.parameters()]
    replay = w.resource(ReplayBuffer).data[: len(w.resource(ReplayBuffer))].copy()
    steps = w.resource(CalfState).relax_steps
    w.shutdown()
    return snap, weights, replay, steps


def test_visual_agents_never_change_the_training_run():
    """Same seed with 0 and 25 visual agents (collect = "training"): bit for bit the same decisions,
    counters, P_relax, returns, replay and weights (the training row runs its networks alone)."""
    alone = _run(0)
    crowd = _run(25)
    assert alone[0] == crowd[0]
    assert alone[0]["calf_steps"] == 260 - 40 == alone[3]  # P_relax advanced once per training step
    assert alone[0]["interventions"] + alone[0]["relaxes"] > 0 and alone[0]["episodes"] >= 3
    np.testing.assert_array_equal(alone[2], crowd[2])
    for a, b in zip(alone[1], crowd[1]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_policies_actor_and_nominal():
    w = world_with(agents=5, td3={"start_training_step": 0}, training={"policy": "actor"})
    w.run(80)
    table, stats = w.resource(AgentTable), w.resource(TrainingStats)
    assert stats.interventions == 0 and stats.calf_steps == 80
    assert stats.relaxes > 0 and w.resource(CalfState).relax_steps == 0  # P_relax unused
    w.shutdown()
    w = world_with(agents=5, training={"policy": "nominal"})
    from envs.base import Environment

    env = w.resource(Environment)
    table = w.resource(AgentTable)
    s = table.state.copy()
    w.step()
    np.testing.assert_array_equal(table.action, env.nominal(s))
    assert (table.mode == Mode.FALLBACK).all() and w.resource(Counters).get("network_forward_calls") == 0
    w.run(150)
    assert w.resource(TrainingStats).train_updates > 0  # TD3 still learns from the nominal's transitions
    w.shutdown()


def test_train_steps_per_frame_and_version():
    w = world_with(td3={"start_training_step": 64}, training={"train_steps_per_frame": 3})
    nets = w.resource(Networks)
    w.run(64)
    v = nets.version
    w.step()
    assert w.resource(TD3).updates == 3 and nets.version == v + 3
    w.shutdown()


def test_timeline_fills_per_step_thins_when_full_and_clears_at_episode_end():
    w = world_with(env={"max_steps_per_episode": 40})
    stats = w.resource(TrainingStats)
    w.run(10)
    assert stats.timeline_len == 10 and np.array_equal(stats.timeline_mode[:10], np.full(10, Mode.FALLBACK))
    w.run(30)  # episode ends at step 40
    assert stats.timeline_len == 0 and stats.episodes == 1 and stats.lengths[-1] == 40
    w.shutdown()
    # a tiny capacity: 5 points, then every other one
    system = TrainingSystem()
    st = TrainingStats()
    st.timeline_q, st.timeline_mode = np.full(4, np.nan), np.zeros(4, np.int8)
    for k in range(9):
        system._timeline_append(st, float(k), 0)
    assert st.timeline_stride == 4 and st.timeline_q[: st.timeline_len].tolist() == [0.0, 4.0, 8.0]


def test_training_stats_count_the_training_agents_episodes():
    w = world_with(agents=3, env={"max_steps_per_episode": 10})
    table = w.resource(AgentTable)
    ended = []
    w.events.subscribe("episodes_ended", lambda rows, *a: ended.append(table.training_row in rows))
    w.run(35)
    stats = w.resource(TrainingStats)
    assert sum(ended) == stats.session_episodes == stats.episodes == 3
    assert list(stats.lengths) == [10, 10, 10]
    w.shutdown()


@pytest.mark.parametrize("collect", ["training", "all"])
def test_explore_executed_puts_the_learners_noise_on_nominal_actions_too(collect):
    """td3.explore = "executed": a learner whose step fell back to the nominal policy acts with the nominal
    action plus its exploration noise (clipped); "actor" leaves the nominal action as it is."""
    from components.resources import Rngs
    from envs.base import Environment

    actions = {}
    for explore in ("executed", "actor"):
        w = world_with(agents=4, td3={"start_training_step": 50, "exploration_noise": 0.4, "explore": explore,
                                      "exploration_noise_min": 0.4, "exploration_unit": "absolute"},
                       training={"collect": collect})
        table, env = w.resource(AgentTable), w.resource(Environment)
        s = table.state.copy()
        w.step()  # warm-up: every learner falls back to the nominal policy
        actions[explore] = (table.action.copy(), env.nominal(s), table.mode.copy(), table.training_row)
        w.shutdown()
    act, nominal, modes, tr = actions["executed"]
    plain, _, _, _ = actions["actor"]
    learners = np.arange(len(act)) if collect == "all" else np.array([tr])
    assert (modes[learners] == Mode.FALLBACK).all()
    noise = act[learners] - nominal[learners]
    inside = np.abs(nominal[learners]) < 5.0  # at the action bound the clip may take the noise away
    assert np.all(np.abs(noise[inside]) > 0) and np.all(np.abs(noise) < 5 * 0.4) and inside.sum() >= 1
    np.testing.assert_array_equal(plain[learners], nominal[learners])
    # the training row's noise comes from its own stream, as for its actor proposals
    first = Rngs(5).explore.normal(0.0, 0.4, 1)
    assert act[tr, 0] == pytest.approx(np.clip(nominal[tr, 0] + first[0], -5, 5))


def test_the_fallback_dwell_in_the_frame_holds_each_agent_and_ends_with_its_episode():
    w = world_with(agents=6, env={"max_steps_per_episode": 30}, td3={"start_training_step": 5},
                   calf={"fallback_dwell": 0.05, "p_relax_init": 0.0})  # 5 steps at dt 0.01
    table = w.resource(AgentTable)
    seen_hold = seen_release = 0
    for _ in range(200):
        before = table.fallback_hold.copy()
        w.step()
        after, modes = table.fallback_hold, table.mode
        ended = table.outcome != Outcome.RUNNING
        held = before > 0
        assert (modes[held] == Mode.FALLBACK).all()  # the nominal keeps control while held
        live = ~ended
        fresh = live & ~held & (modes == Mode.FALLBACK) & (table.episode_step > 0)
        assert (after[fresh] == 5).all() or w.resource(TrainingStats).total_steps <= 5
        np.testing.assert_array_equal(after[live & held], before[live & held] - 1)
        assert (after[ended] == 0).all()  # a new episode starts free
        seen_hold += int(held.sum())
        seen_release += int((live & (before == 1) & (after == 0)).sum())
    assert seen_hold > 50 and seen_release > 5
    w.shutdown()
