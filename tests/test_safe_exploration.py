"""Exploration that keeps the guarantee: noise on the proposal only, the nominal executed as it is,
the noiseless retry, per-agent exploration stds, and the policy cohort that shows the policy as evaluated."""
import numpy as np
import pytest

from components import AgentTable, Mode
from components.agent_groups import Group
from components.cohort_starts import CohortStarts
from components.resources import Counters
from components.training_stats import TrainingStats
from config import build_config
from envs.base import Environment
from rl.calf import (
    CalfParams,
    certificate_test,
    choose_modes,
    filtered_actions,
    retry_noiseless,
)
from rl.evaluation import FilterPolicy, evaluation_starts
from rl.networks import Networks
from rl.replay import ReplayBuffer
from runtime.build import build_world
from tests.calf_oracle import filter_one_with_retry


def world_with(**sections):
    over = {"visual": {"agents": 5, "cohort": 0}, "run": {"seed": 3}, "training": {"train_steps_per_frame": 1},
            "td3": {"batch_size": 16, "start_training_step": 0},
            "calf": {"nominal_reach_check": 0.0}}  # (tests/test_reach_check.py tests the check)
    for k, v in sections.items():
        over.setdefault(k, {}).update(v)
    return build_world(build_config(overrides=over))


# -- the kernel ------------------------------------------------------------------------------------
@pytest.mark.parametrize("decrease", ["relative", "absolute"])
def test_noiseless_retry_equals_the_per_agent_oracle(decrease):
    rng = np.random.default_rng(11)
    params = CalfParams(decrease=decrease, nu_bar=0.5, nu_rate=2.0, dt=0.01, kappa_up_coeff=50.0)
    n, sd, ad = 400, 2, 1
    s = rng.normal(size=(n, sd))
    a_clean, a_noisy, a_nom = (rng.normal(size=(n, ad)) for _ in range(3))
    q_noisy, q_clean = (-np.abs(rng.normal(3.0, 2.0, size=(2, n))) for _ in range(2))
    q_cert = np.where(rng.random(n) < 0.8, -np.abs(rng.normal(3.0, 2.0, size=n)), np.nan)
    has_cert = np.isfinite(q_cert)
    explores = rng.random(n) < 0.7
    coin, p_relax = rng.random(n), 0.2
    norms = np.linalg.norm(s, axis=1)
    # batched: the noisy proposals, then the noiseless retry for the explorers that failed
    q, a = q_noisy[0].copy(), a_noisy.copy()
    test = certificate_test(q, q_cert, has_cert, norms, params)
    rows = np.flatnonzero(~test.certified & explores)
    clean = certificate_test(q_clean[0][rows], q_cert[rows], has_cert[rows], norms[rows], params)
    took = retry_noiseless(test, q, a, rows, q_clean[0][rows], a_clean[rows], clean)
    modes = choose_modes(test.certified, coin, p_relax)
    actions = filtered_actions(modes, a, a_nom)
    assert 0 < took.size < rows.size  # the case mix has both outcomes of the retry
    for i in range(n):
        cert = (np.zeros(sd), np.zeros(ad), q_cert[i], bool(has_cert[i]))
        act, mode, new_cert = filter_one_with_retry(s[i], a_noisy[i], q_noisy[:, i], a_clean[i], q_clean[:, i],
                                                    a_nom[i], coin[i], p_relax, cert, params, bool(explores[i]))
        assert mode == modes[i], i
        np.testing.assert_allclose(actions[i], act)
        if mode == Mode.CERTIFIED:
            assert q[i] == new_cert[2]  # the value the certificate will store


def test_noiseless_retry_on_hand_built_rows():
    params = CalfParams(decrease="absolute", nu_bar=1.0, kappa_up_coeff=1e6)
    q_cert = np.array([-10.0, -10.0, -10.0])
    has = np.ones(3, dtype=bool)
    norms = np.ones(3)
    q = np.array([-12.0, -12.0, -8.0])  # noisy: fails, fails, passes (rose by 2 >= 1)
    a = np.array([[0.9], [0.9], [0.7]])
    test = certificate_test(q, q_cert, has, norms, params)
    rows = np.flatnonzero(~test.certified)
    q_clean = np.array([-8.5, -9.5])  # clean: row 0 rose by 1.5 (passes), row 1 by 0.5 (fails)
    clean = certificate_test(q_clean, q_cert[rows], has[rows], norms[rows], params)
    took = retry_noiseless(test, q, a, rows, q_clean, np.array([[0.1], [0.2]]), clean)
    assert took.tolist() == [0]
    assert test.certified.tolist() == [True, False, True]
    assert a[:, 0].tolist() == [0.1, 0.9, 0.7] and q.tolist() == [-8.5, -12.0, -8.0]


# -- in the frame ----------------------------------------------------------------------------------
def test_with_noise_on_the_proposal_a_fallback_executes_the_nominal_action_exactly():
    w = world_with(td3={"explore": "actor", "exploration_noise": 3.0}, env={"max_steps_per_episode": 1000})
    table, env = w.resource(AgentTable), w.resource(Environment)
    fallbacks = 0
    for _ in range(60):
        s = table.state.copy()
        w.step()
        fb = table.mode == Mode.FALLBACK
        fallbacks += int(fb.sum())
        np.testing.assert_array_equal(table.action[fb], env.nominal(s)[fb])
        replay = w.resource(ReplayBuffer)
        last = replay.data[replay.head - table.n: replay.head]
        np.testing.assert_allclose(last[:, replay.a], table.action, rtol=1e-6)  # replay holds what was executed
    assert fallbacks > 0
    w.shutdown()


def test_explore_executed_puts_noise_on_fallbacks_too():
    w = world_with(td3={"explore": "executed", "exploration_noise": 3.0}, env={"max_steps_per_episode": 1000})
    table, env = w.resource(AgentTable), w.resource(Environment)
    differ = 0
    for _ in range(60):
        s = table.state.copy()
        w.step()
        fb = table.mode == Mode.FALLBACK
        differ += int((np.abs(table.action[fb] - env.nominal(s)[fb]) > 1e-9).any(axis=1).sum())
    assert differ > 0
    w.shutdown()


def test_exploration_stds_are_drawn_per_learner_per_episode_in_units_of_the_bound():
    w = world_with(td3={"exploration_noise": 0.5, "exploration_noise_min": 0.1, "exploration_unit": "bound",
                        "explore": "actor"},
                   env={"max_steps_per_episode": 4}, visual={"agents": 40, "cohort": 3})
    table = w.resource(AgentTable)
    learners = table.group == Group.LEARNER
    std = table.explore_std.copy()
    assert np.all((std[learners] >= 0.1) & (std[learners] <= 0.5)) and np.unique(std[learners]).size == 41
    assert np.all(std[~learners] == 0.0)  # the cohort never explores
    nets, env = w.resource(Networks), w.resource(Environment)
    s = table.state.copy()
    w.step()
    # a certified learner's action is its actor's plus noise of its own std, in units of the bound (5)
    cert = learners & (table.mode == Mode.CERTIFIED)
    noise = (table.action - nets.act(s))[cert, 0]
    z = noise / (std[cert] * 5.0)
    assert cert.sum() > 10 and 0.4 < z.std() < 2.0
    w.run(4)  # every episode ended (budget 4) and a fresh std was drawn
    assert not np.array_equal(table.explore_std[learners], std[learners])
    w.shutdown()


def test_a_range_is_checked():
    from validation.validators import ConfigError

    with pytest.raises(ConfigError, match="exploration_noise_min"):
        build_config(overrides={"td3": {"exploration_noise": 0.2, "exploration_noise_min": 0.3}})


# -- the policy cohort -----------------------------------------------------------------------------
def test_the_cohort_acts_exactly_as_the_evaluation_filter_from_the_evaluation_starts():
    w = world_with(visual={"agents": 6, "cohort": 5}, td3={"exploration_noise": 2.0, "explore": "actor"},
                   calf={"noiseless_retry": True}, env={"max_steps_per_episode": 10_000})
    cfg = build_config(overrides={"visual": {"cohort": 5}})
    table, env = w.resource(AgentTable), w.resource(Environment)
    cohort = np.flatnonzero(table.group == Group.COHORT)
    starts = evaluation_starts(env, cfg.evaluation.starts, cfg.evaluation.seed)
    np.testing.assert_array_equal(table.state[cohort], starts[:5])
    policy = FilterPolicy("calf", env, w.resource(Networks), CalfParams.from_config(cfg.calf, cfg.env.dt), 0.0)
    policy.reset(5)
    modes_seen = set()
    for _ in range(80):
        actions, modes = policy.act(table.state[cohort].copy())
        w.step()
        np.testing.assert_allclose(table.action[cohort], actions, rtol=1e-6, atol=1e-9)
        assert table.mode[cohort].tolist() == modes.tolist()
        modes_seen |= set(modes.tolist())
    assert Mode.RELAX not in modes_seen and Mode.FALLBACK in modes_seen
    stats = w.resource(TrainingStats)
    assert stats.cohort.steps == 80 * 5 and stats.cohort.decided == 80 * 5
    w.shutdown()


def test_the_cohort_respawns_at_the_next_evaluation_starts_and_never_learns():
    w = world_with(visual={"agents": 2, "cohort": 3}, env={"max_steps_per_episode": 3}, training={"collect": "all"})
    table, replay = w.resource(AgentTable), w.resource(ReplayBuffer)
    starts = w.resource(CohortStarts).starts
    w.run(3)  # every episode ends at step 3
    cohort = np.flatnonzero(table.group == Group.COHORT)
    np.testing.assert_array_equal(table.state[cohort], starts[3:6])
    assert len(replay) == 3 * 3  # three learners, three steps; the cohort added nothing
    stats = w.resource(TrainingStats)
    assert stats.cohort.episodes == 3 and stats.cohort.timeouts == 3 and stats.learners.episodes == 3
    table.check_consistency()
    w.shutdown()


def test_cohort_starts_wrap_around():
    starts = CohortStarts(np.arange(6.0).reshape(3, 2))
    assert starts.take(2)[:, 0].tolist() == [0.0, 2.0]
    assert starts.take(2)[:, 0].tolist() == [4.0, 0.0]
    with pytest.raises(ValueError):
        CohortStarts(np.zeros((0, 2)))


def test_in_the_frame_a_learner_whose_noisy_proposal_fails_can_act_with_its_noiseless_action():
    w = world_with(td3={"explore": "actor", "exploration_noise": 4.0}, calf={"noiseless_retry": True},
                   visual={"agents": 30}, env={"max_steps_per_episode": 10_000})
    table, nets, counters = w.resource(AgentTable), w.resource(Networks), w.resource(Counters)
    clean_steps = 0
    for _ in range(40):
        s = table.state.copy()
        clean = np.clip(nets.act(s), -5, 5)
        before = counters.get("noiseless_certified")
        w.step()
        took = counters.get("noiseless_certified") - before
        same = (table.mode == Mode.CERTIFIED) & np.all(np.abs(table.action - clean) < 1e-9, axis=1)
        assert int(same.sum()) >= took  # every retried row acted with its noiseless action
        clean_steps += took
    assert clean_steps > 0
    w.shutdown()


# -- the residual actor ----------------------------------------------------------------------------
@pytest.mark.parametrize("system", ["point_mass", "differential_drive", "pendulum"])
def test_a_residual_actor_starts_as_the_nominal_policy_and_stays_within_the_bound(system):
    w = world_with(td3={"actor_base": "nominal"}, env={"system": system})
    table, env, nets = w.resource(AgentTable), w.resource(Environment), w.resource(Networks)
    s = env.sample_states(np.random.default_rng(0), 500)
    a = nets.act(s)
    high = np.asarray(env.action_high)
    assert np.all(np.abs(a) <= high + 1e-12)
    np.testing.assert_allclose(a, env.nominal(s), atol=0.02 * high.max())  # the correction starts tiny
    # the training path (torch, TD3's actor objective and target) gives the inference path's actions
    import torch

    st = torch.as_tensor(s, dtype=torch.float32)
    base = torch.as_tensor(env.nominal(s), dtype=torch.float32)
    np.testing.assert_allclose(nets.actor.forward(st, base).detach().numpy(), a, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="base"):
        nets.actor.forward(st)
    w.shutdown()


def test_a_residual_actor_learns_a_correction_and_checkpoints_refuse_the_other_form(tmp_path):
    from rl.checkpoint import (
        CheckpointError,
        check_compatible,
        read_checkpoint,
        save_checkpoint,
    )

    w = world_with(td3={"actor_base": "nominal", "start_training_step": 10}, env={"max_steps_per_episode": 60})
    nets, env, table = w.resource(Networks), w.resource(Environment), w.resource(AgentTable)
    s = env.sample_states(np.random.default_rng(1), 200)
    before = nets.act(s) - env.nominal(s)
    w.run(120)
    after = nets.act(s) - env.nominal(s)
    assert np.abs(after - before).max() > 1e-3  # TD3 moved the correction
    save_checkpoint(w, tmp_path / "checkpoint.pt")
    data = read_checkpoint(tmp_path / "checkpoint.pt")
    cfg = build_config(overrides={"td3": {"actor_base": "none"}})
    with pytest.raises(CheckpointError, match="actor_base"):
        check_compatible(data, cfg, env, tmp_path / "checkpoint.pt")
    w.shutdown()


def test_correlated_noise_is_an_ar1_process_of_the_rows_std_restarted_each_episode():
    w = world_with(td3={"explore": "actor", "exploration_noise": 0.4, "exploration_unit": "bound",
                        "noise_correlation": 0.5}, visual={"agents": 200}, env={"max_steps_per_episode": 10_000})
    table = w.resource(AgentTable)
    control = w.system("ControlSystem")
    rho = control.noise_rho
    assert rho == pytest.approx(np.exp(-0.01 / 0.5))
    zs = []
    for _ in range(200):
        w.step()
        zs.append(table.explore_z.copy())
    z = np.array(zs)[:, :, 0]  # (steps, rows)
    lag1 = np.mean(z[1:] * z[:-1]) / np.mean(z * z)
    assert lag1 == pytest.approx(rho, abs=0.02) and np.std(z) == pytest.approx(1.0, abs=0.15)
    w.shutdown()
    white = world_with(td3={"explore": "actor"}, visual={"agents": 5})
    assert white.system("ControlSystem").noise_rho == 0.0
    white.shutdown()


# -- calf.nominal_after: the nominal policy finishes every long episode ------------------------------
def test_rows_past_the_deadline_are_held_with_or_without_a_dwell():
    from rl.calf import held_rows

    hold = np.array([0, 0, 2, 0], dtype=np.int32)
    step = np.array([3, 5, 0, 9])
    assert held_rows(hold, step, 5).tolist() == [False, True, True, True]
    assert held_rows(hold, step, 0).tolist() == [False, False, True, False]  # no deadline: the dwell alone
    assert held_rows(np.zeros(4, np.int32), step, 10) is None
    assert held_rows(np.zeros(2, np.int32), 7, 7).tolist() == [True, True]  # one step count for every row
    modes = choose_modes(np.ones(4, bool), np.zeros(4), 1.0, None, held_rows(hold, step, 5))
    assert modes.tolist() == [Mode.CERTIFIED, Mode.FALLBACK, Mode.FALLBACK, Mode.FALLBACK]
    assert CalfParams.from_config(build_config(overrides={"calf": {"nominal_after": 2.5}}).calf, 0.01).deadline_steps == 250


def test_in_the_frame_the_nominal_acts_from_the_deadline_to_the_end_of_each_episode():
    """Relax is certain (P_relax 1) and there is no dwell, so before the deadline the actor always acts;
    from step 10 of an episode every learner falls back and executes the nominal action without noise."""
    w = world_with(visual={"agents": 6}, env={"max_steps_per_episode": 25}, td3={"explore": "actor", "exploration_noise": 0.5},
                   calf={"nominal_after": 0.1, "fallback_dwell": 0.0, "p_relax_init": 1.0, "noiseless_retry": True,
                         "relax_ramp_end": 1.0, "relax_episode_decay": 1.0})
    table, env = w.resource(AgentTable), w.resource(Environment)
    before_deadline = after_deadline = 0
    for _ in range(60):
        step = table.episode_step.copy()
        nominal = np.clip(env.nominal(table.state), env.action_low, env.action_high)
        w.step()
        late = step >= 10
        assert (table.mode[late] == Mode.FALLBACK).all()
        np.testing.assert_allclose(table.action[late], nominal[late])
        assert (table.mode[~late] != Mode.FALLBACK).all()
        before_deadline += int((~late).sum())
        after_deadline += int(late.sum())
    assert before_deadline > 100 and after_deadline > 100
    w.shutdown()


def test_the_evaluation_filter_hands_over_to_the_nominal_at_the_same_step_as_the_frame():
    w = world_with(visual={"agents": 6, "cohort": 5}, td3={"explore": "actor"},
                   calf={"nominal_after": 0.3, "fallback_dwell": 0.0}, env={"max_steps_per_episode": 10_000})
    cfg = build_config(overrides={"visual": {"cohort": 5}, "calf": {"nominal_after": 0.3, "fallback_dwell": 0.0}})
    table, env = w.resource(AgentTable), w.resource(Environment)
    cohort = np.flatnonzero(table.group == Group.COHORT)
    policy = FilterPolicy("calf", env, w.resource(Networks), CalfParams.from_config(cfg.calf, cfg.env.dt), 0.0)
    policy.reset(5)
    for step in range(50):
        actions, modes = policy.act(table.state[cohort].copy())
        w.step()
        np.testing.assert_allclose(table.action[cohort], actions, rtol=1e-6, atol=1e-9)
        assert table.mode[cohort].tolist() == modes.tolist()
        if step >= 30:
            assert (modes == Mode.FALLBACK).all()
    w.shutdown()
