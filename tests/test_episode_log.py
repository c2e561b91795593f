"""episodes.csv, the TensorBoard event file and the provenance in run_summary.json, from real in-process
runs, checked against the training statistics and the per-step CALF log (an independent record)."""
from __future__ import annotations

import csv
import json
import math
import subprocess
from importlib import metadata

import numpy as np
import pytest

from components.training_stats import TrainingStats
from config import build_config
from rl.evaluation import EVAL_COLUMNS, EvalResult
from runfiles.episode_log import COLUMNS
from runfiles.provenance import CODE_ROOT
from runfiles.run_outputs import RunOutputs
from runtime.build import build_world

OVER = {"visual": {"agents": 1}, "env": {"max_steps_per_episode": 30}, "td3": {"start_training_step": 40,
        "batch_size": 8}, "training": {"plot_every": 100, "checkpoint_every": 100}, "run": {"seed": 3},
        "evaluation": {"every": 0, "at_end": False}}  # the one evaluation is the synthetic one below


def _world(**sections):
    over = {k: dict(v) for k, v in OVER.items()}
    for k, v in sections.items():
        over.setdefault(k, {}).update(v)
    return build_world(build_config(overrides=over))


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _f(text):
    return math.nan if text == "" else float(text)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A run of 200 frames (several 30-step episodes, warm-up in the first two), closed."""
    out = tmp_path_factory.mktemp("ep") / "run"
    w = _world(run={"tensorboard": True})
    outputs = RunOutputs(w, out, command=["app.py", "--headless", "--seed", "3"])
    w.run(200)
    w.events.emit("evaluation_done", EvalResult(
        episode=6, total_steps=180, collected=180, wall_time=1.5, policy="calf", starts=8, success_rate=0.25,
        mean_return=-120.0, mean_length=30.0, certified_share=0.4, fallback_share=0.1, boundary_rate=0.0,
        timeout_rate=0.75, nominal_success_rate=0.5, nominal_mean_return=-100.0, actor_success_rate=math.nan,
        actor_mean_return=math.nan))
    stats = w.resource(TrainingStats)
    snapshot = (list(stats.returns), list(stats.lengths), list(stats.success_flags), stats.episodes)
    outputs.close()
    w.shutdown()
    return out, snapshot


def test_one_row_per_episode_matching_the_training_statistics(finished_run):
    out, (returns, lengths, flags, episodes) = finished_run
    rows = _rows(out / "episodes.csv")
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == episodes >= 5
    assert [int(r["episode"]) for r in rows] == list(range(1, episodes + 1))
    np.testing.assert_allclose([_f(r["return"]) for r in rows], returns, rtol=1e-6)
    assert [int(r["length"]) for r in rows] == lengths
    assert [int(r["total_steps"]) for r in rows] == list(np.cumsum(lengths))
    assert [r["outcome"] == "success" for r in rows] == flags
    assert {r["outcome"] for r in rows} <= {"success", "boundary", "timeout", "nonfinite"}
    wall = [_f(r["wall_time"]) for r in rows]
    assert all(b >= a for a, b in zip(wall, wall[1:])) and wall[0] > 0


def test_shares_per_episode_agree_with_the_per_step_calf_log(finished_run):
    out, _ = finished_run
    log = _rows(out / "calf_log.csv")
    for r in _rows(out / "episodes.csv"):
        modes = [x["mode"] for x in log if int(x["episode"]) == int(r["episode"]) and x["mode"] != "nominal"]
        if not modes:  # warm-up only: no filter decision
            assert r["certified_share"] == r["intervention_share"] == r["relax_share"] == ""
            continue
        for column, mode in (("certified_share", "certified"), ("intervention_share", "fallback"),
                             ("relax_share", "relax")):
            assert _f(r[column]) == pytest.approx(modes.count(mode) / len(modes), abs=1e-6), (r, column)
    rows = _rows(out / "episodes.csv")
    assert rows[0]["certified_share"] == ""  # episode 1 is all warm-up (start_training_step 40 > 30)
    assert rows[0]["critic_loss"] == "" and rows[-1]["critic_loss"] != ""  # no update before training starts
    assert _f(rows[-1]["p_relax"]) < 1.0


def test_a_resumed_run_in_the_same_folder_appends_and_continues_the_wall_clock(tmp_path):
    from rl.checkpoint import read_checkpoint, restore, save_checkpoint

    w = _world()
    outputs = RunOutputs(w, tmp_path)
    w.run(70)
    outputs.close()
    save_checkpoint(w, tmp_path / "checkpoint.pt")
    w.shutdown()
    first = _rows(tmp_path / "episodes.csv")
    w = _world()  # a new session resumes the checkpoint into the same folder: episode numbers go on
    restore(w, read_checkpoint(tmp_path / "checkpoint.pt"), tmp_path / "checkpoint.pt")
    outputs = RunOutputs(w, tmp_path)
    w.run(70)
    outputs.close()
    w.shutdown()
    rows = _rows(tmp_path / "episodes.csv")
    assert rows[: len(first)] == first and len(rows) > len(first)
    assert [int(r["episode"]) for r in rows] == list(range(1, len(rows) + 1))
    assert _f(rows[len(first)]["wall_time"]) >= _f(first[-1]["wall_time"])


def test_a_file_with_another_header_is_kept_aside_not_appended_to(tmp_path):
    (tmp_path / "episodes.csv").write_text("step,reward\n1,2\n")
    w = _world()
    outputs = RunOutputs(w, tmp_path)
    w.run(40)
    outputs.close()
    w.shutdown()
    assert (tmp_path / "episodes.old.csv").read_text() == "step,reward\n1,2\n"
    assert _rows(tmp_path / "episodes.csv")[0]["episode"] == "1"


def test_tensorboard_holds_the_episode_scalars_and_the_evaluation(finished_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _ = finished_run
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"episode/return", "episode/length", "episode/success", "episode/certified_share", "episode/p_relax",
            "train/critic_loss", "train/actor_loss", "eval/success_rate", "eval/mean_return", "eval/return_gain",
            "eval/certified_share"} <= tags
    rows = _rows(out / "episodes.csv")
    returns = acc.Scalars("episode/return")
    assert [e.step for e in returns] == [int(r["total_steps"]) for r in rows]
    np.testing.assert_allclose([e.value for e in returns], [_f(r["return"]) for r in rows], rtol=1e-5)
    assert [e.value for e in acc.Scalars("episode/success")] == [float(r["outcome"] == "success") for r in rows]
    gain = acc.Scalars("eval/return_gain")
    assert [(e.step, round(e.value, 6)) for e in gain] == [(180, -0.2)]  # (-120 - -100) / 100
    assert "eval/actor_success_rate" not in tags  # NaN (no actor to judge) is left out, not written as NaN
    assert "return_gain" in EVAL_COLUMNS


def test_no_tensorboard_folder_without_the_flag(tmp_path):
    w = _world()
    outputs = RunOutputs(w, tmp_path)
    w.run(35)
    outputs.close()
    w.shutdown()
    assert not (tmp_path / "tensorboard").exists() and (tmp_path / "episodes.csv").exists()


def test_provenance_names_the_command_the_commit_and_the_versions(finished_run):
    out, _ = finished_run
    prov = json.loads((out / "run_summary.json").read_text())["provenance"]
    assert prov["command"] == ["app.py", "--headless", "--seed", "3"]
    head = subprocess.run(["git", "-C", str(CODE_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert prov["git_commit"] == (head.stdout.strip() if head.returncode == 0 else None)
    assert prov["python"].count(".") == 2
    for name in ("torch", "numpy", "esper", "ursina"):
        assert prov["versions"][name] == metadata.version(name)


def test_provenance_without_git_is_null_not_an_error(tmp_path):
    from runfiles.provenance import git_state

    assert git_state(tmp_path) == {"commit": None, "dirty": None}


def test_every_row_carries_each_groups_counters_as_counted_independently(tmp_path):
    """The learners' and the cohort's counters in episodes.csv and run_summary.json against a count
    kept here, frame by frame, from the table's own columns and the episode-end events."""
    from components.agent_groups import Group
    from components.agent_table import AgentTable
    from components.modes import Mode

    w = _world(visual={"agents": 2, "cohort": 3}, td3={"start_training_step": 20, "batch_size": 8})
    table = w.resource(AgentTable)
    ended = {g: np.zeros(5, int) for g in Group}
    w.events.subscribe("episodes_ended", lambda rows, outcomes, *_: [
        np.add.at(ended[g], outcomes[table.group[rows] == g], 1) for g in Group])
    outputs = RunOutputs(w, tmp_path)
    steps = {g: 0 for g in Group}
    fallbacks = {g: 0 for g in Group}
    decided = {g: 0 for g in Group}
    for frame in range(150):
        w.step()
        for g in Group:
            mine = table.group == g
            steps[g] += int(mine.sum())
            if g == Group.COHORT or frame >= 20:  # learners act nominal, undecided, in the warm-up
                decided[g] += int(mine.sum())
                fallbacks[g] += int((table.mode[mine] == Mode.FALLBACK).sum())
    outputs.close()
    w.shutdown()
    last = _rows(tmp_path / "episodes.csv")[-1]
    safety = json.loads((tmp_path / "run_summary.json").read_text())["safety"]
    for g, name in ((Group.LEARNER, "learners"), (Group.COHORT, "cohort")):
        s = safety[name]
        assert s["steps"] == steps[g] and s["decided"] == decided[g] and s["interventions"] == fallbacks[g]
        assert s["episodes"] == ended[g].sum() > 0 and s["timeouts"] == ended[g][3]
        assert s["goals"] == ended[g][1] and s["boundary_exits"] == ended[g][2]
        assert int(last[f"{name}_episodes"]) <= s["episodes"]  # the row was written at the last training episode
        rate = s["nominal"]["failure_rate"]
        assert s["nominal_expected_failures"] == pytest.approx(rate * s["episodes"])
        assert _f(last[f"{name}_nominal_failures"]) == pytest.approx(rate * int(last[f"{name}_episodes"]))
    # with 30-step episodes the nominal cannot reach the goal: its expected failures are nearly every episode
    assert safety["learners"]["nominal"]["failure_rate"] > 0.9 and safety["learners"]["nominal"]["starts"] == 1000


def test_tensorboard_holds_each_groups_safety(finished_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _ = finished_run
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    rows = _rows(out / "episodes.csv")
    for group in ("learners", "cohort"):
        failed = acc.Scalars(f"safety/{group}_failed_episodes")
        expected = [sum(int(r[f"{group}_{k}"]) for k in ("timeouts", "boundary_exits", "nonfinite")) for r in rows]
        assert [e.value for e in failed] == expected
        nominal = acc.Scalars(f"safety/{group}_nominal_failures")
        np.testing.assert_allclose([e.value for e in nominal], [_f(r[f"{group}_nominal_failures"]) for r in rows],
                                   rtol=1e-5)
