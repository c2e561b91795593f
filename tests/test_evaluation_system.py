"""The EvaluationSystem: fixed starts, no noise, P_relax 0, the same starts for every policy, and a
training run that is the same with or without evaluation; eval.csv and the summary."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from components import AgentTable, Mode
from components.training_stats import TrainingStats
from config import build_config
from envs.base import Environment, Outcome
from rl.calf import CalfParams
from rl.evaluation import EVAL_COLUMNS, FilterPolicy, NominalPolicy, evaluation_starts, rollout
from rl.networks import Networks
from runtime.build import build_world
from systems.evaluation import EvalHistory


def _world(policy="calf", every=2, **sections):
    over = {"visual": {"agents": 2}, "run": {"seed": 3}, "env": {"max_steps_per_episode": 40},
            "td3": {"start_training_step": 20, "batch_size": 16},
            "training": {"policy": policy}, "evaluation": {"every": every, "starts": 12, "seed": 99}}
    for k, v in sections.items():
        over.setdefault(k, {}).update(v)
    return build_world(build_config(overrides=over))


def test_evaluates_every_k_episodes_from_the_same_starts_for_every_policy():
    results = {}
    for policy in ("calf", "actor", "nominal"):
        w = _world(policy)
        seen = []
        w.events.subscribe("evaluation_done", seen.append)
        stats = w.resource(TrainingStats)
        while stats.episodes < 4:
            w.step()
        assert [r.episode for r in seen] == [2, 4]
        system = w.system("EvaluationSystem")
        np.testing.assert_array_equal(system.starts, evaluation_starts(w.resource(Environment), 12, 99))
        results[policy] = (seen[-1], system.starts.copy())
        w.shutdown()
    starts = [s for _, s in results.values()]
    assert all(np.array_equal(starts[0], s) for s in starts)
    nominal = {p: (r.nominal_success_rate, r.nominal_mean_return) for p, (r, _) in results.items()}
    assert nominal["calf"] == nominal["actor"] == nominal["nominal"]  # the reference is the same rollout
    r = results["nominal"][0]
    assert (r.success_rate, r.mean_return) == (r.nominal_success_rate, r.nominal_mean_return)
    assert np.isnan(r.certified_share) and r.fallback_share == 1.0
    r = results["actor"][0]
    assert (r.success_rate, r.mean_return) == (r.actor_success_rate, r.actor_mean_return) and r.fallback_share == 0


def test_the_calf_evaluation_is_the_filter_without_noise_and_without_relax():
    """Re-run the evaluation by hand: FilterPolicy(P_relax 0) on the same networks and starts; and
    check it against a step-by-step loop in which the relax coin would always say yes (it must never
    be asked: an uncertified step falls back)."""
    w = _world("calf", calf={"p_relax_init": 1.0})  # training relaxes every uncertified step
    stats = w.resource(TrainingStats)
    while stats.episodes < 2:
        w.step()
    r = w.resource(EvalHistory).last
    env, nets = w.resource(Environment), w.resource(Networks)
    params = CalfParams.from_config(w.resource(type(w.system("ControlSystem").cfg)).calf, env.dt)
    starts = evaluation_starts(env, 12, 99)
    again = rollout(env, FilterPolicy("calf", env, nets, params, p_relax=0.0), starts, 40)
    assert again.success_rate == r.success_rate and float(again.returns.mean()) == r.mean_return
    assert again.mode_steps[Mode.RELAX] == 0 and again.mode_steps[Mode.FALLBACK] > 0
    assert r.certified_share == pytest.approx(again.certified_share)
    # no noise: the certified steps act exactly with the actor's action
    policy = FilterPolicy("calf", env, nets, params, p_relax=0.0)
    policy.reset(len(starts))
    actions, modes = policy.act(starts)
    np.testing.assert_array_equal(actions[modes == Mode.CERTIFIED], nets.act(starts)[modes == Mode.CERTIFIED])
    np.testing.assert_array_equal(actions[modes == Mode.FALLBACK], env.nominal(starts)[modes == Mode.FALLBACK])
    w.shutdown()


def test_evaluating_never_changes_the_training_run():
    def run(every):
        w = _world("calf", every=every)
        w.run(200)
        table = w.resource(AgentTable)
        out = (table.state.copy(), w.resource(TrainingStats).returns.copy(),
               [p.detach().clone() for p in w.resource(Networks).actor.parameters()])
        w.shutdown()
        return out

    a, b = run(0), run(1)
    np.testing.assert_array_equal(a[0], b[0])
    assert list(a[1]) == list(b[1]) and len(a[1]) >= 4
    for x, y in zip(a[2], b[2]):
        assert np.array_equal(x.numpy(), y.numpy())


def test_nominal_reference_reaches_the_goal_and_matches_a_plain_rollout():
    w = _world("calf")
    env = w.resource(Environment)
    ref = w.system("EvaluationSystem").nominal_reference()
    plain = rollout(env, NominalPolicy(env), evaluation_starts(env, 12, 99), 40)
    np.testing.assert_array_equal(ref.outcomes, plain.outcomes)
    assert set(np.unique(ref.outcomes)) <= {Outcome.GOAL, Outcome.TIMEOUT}
    w.shutdown()


def test_eval_csv_and_summary_from_a_real_run(tmp_path):
    import app

    out = tmp_path / "run"
    code = app.main(["--headless", "--no-progress", "--agents", "0", "--episodes", "4", "--out", str(out),
                     "--config", str(_config(tmp_path))])
    assert code == 0
    with open(out / "eval.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == EVAL_COLUMNS
    assert [int(r["episode"]) for r in rows] == [2, 4]  # every 2 episodes; the end is episode 4: not repeated
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["evaluation"]["episode"] == 4 and summary["evaluation"]["starts"] == 12
    assert float(rows[-1]["success_rate"]) == summary["evaluation"]["success_rate"]
    assert summary["all_agents"]["transitions_collected"] == summary["total_steps"]


def _config(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[env]\nmax_steps_per_episode = 30\n[evaluation]\nevery = 2\nstarts = 12\n'
                 '[td3]\nstart_training_step = 10\nbatch_size = 8\n')
    return p
