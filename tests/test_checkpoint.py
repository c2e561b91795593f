"""Checkpoints: exact round trip, identical resumption, and clear errors for bad files."""
import re

import numpy as np
import pytest
import torch

import app
from components import AgentTable
from components.training_stats import TrainingStats
from config import build_config
from rl.calf_state import CalfState
from rl.checkpoint import CheckpointError, find_latest, read_checkpoint, restore, save_checkpoint
from rl.replay import ReplayBuffer
from rl.td3 import TD3
from runtime.build import build_world

OVER = {"visual": {"agents": 0}, "env": {"max_steps_per_episode": 50}, "td3": {"start_training_step": 30},
        "run": {"seed": 11}}


def fresh(**env):
    over = {k: dict(v) for k, v in OVER.items()}
    over["env"].update(env)
    return build_world(build_config(overrides=over))


def state_of(world):
    td3 = world.resource(TD3)
    table = world.resource(AgentTable)
    stats = world.resource(TrainingStats)
    tr = table.training_row
    return {
        "params": [p.detach().clone() for m in (td3.actor, td3.critic, td3.actor_target, td3.critic_target)
                   for p in m.parameters()],
        "opt": [t.clone() for o in (td3.actor_opt, td3.critic_opt) for s in o.opt.state.values() for t in s.values()],
        "replay": world.resource(ReplayBuffer).data.copy(),
        "row": [np.array(table.column(c)[tr]) for c in ("state", "episode_step", "episode_return", "s_cert",
                                                         "q_cert", "has_cert")],
        "stats": (stats.episodes, stats.total_steps, stats.calf_steps, stats.interventions, stats.relaxes,
                  stats.successes, stats.train_updates, list(stats.returns)),
        "p_relax": world.resource(CalfState).p_relax,
        "updates": td3.updates,
    }


def assert_same(a, b):
    assert a["stats"] == b["stats"] and a["p_relax"] == b["p_relax"] and a["updates"] == b["updates"]
    assert all(torch.equal(x, y) for x, y in zip(a["params"], b["params"]))
    assert len(a["opt"]) == len(b["opt"]) and all(torch.equal(x, y) for x, y in zip(a["opt"], b["opt"]))
    np.testing.assert_array_equal(a["replay"], b["replay"])
    for x, y in zip(a["row"], b["row"]):
        np.testing.assert_array_equal(x, y)


def test_round_trip_is_exact_and_resumes_identically(tmp_path):
    a = fresh()
    a.run(170)
    path = save_checkpoint(a, tmp_path / "c.pt")
    b = fresh()
    restore(b, read_checkpoint(path), path)
    assert_same(state_of(a), state_of(b))
    a.run(120)
    b.run(120)
    sa, sb = state_of(a), state_of(b)
    assert sa["stats"][0] >= 3  # episodes ended and training ran in between
    assert_same(sa, sb)
    a.shutdown()
    b.shutdown()


def test_session_counters_start_again_after_resume(tmp_path):
    a = fresh()
    a.run(120)
    path = save_checkpoint(a, tmp_path / "c.pt")
    b = fresh()
    restore(b, read_checkpoint(path), path)
    st = b.resource(TrainingStats)
    assert st.total_steps == 120 and st.session_steps == 0 and st.session_calf_steps == 0
    a.shutdown()
    b.shutdown()


@pytest.fixture
def good_file(tmp_path):
    w = fresh()
    w.run(60)
    path = save_checkpoint(w, tmp_path / "good.pt")
    w.shutdown()
    return path


def test_truncated_and_corrupted_files_name_the_file(good_file, tmp_path):
    raw = good_file.read_bytes()
    cases = {
        "truncated.pt": raw[: len(raw) // 2],
        "garbage.pt": bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
        "empty.pt": b"",
    }
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(CheckpointError, match=rf"checkpoint {p}: truncated or corrupted") as exc:
            read_checkpoint(p)
        assert "\n" not in str(exc.value)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not a calf-ecs checkpoint"):
        read_checkpoint(other)
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "missing.pt")
    old = tmp_path / "old.pt"
    data = torch.load(good_file, weights_only=True)
    data["format_version"] = 0
    torch.save(data, old)
    with pytest.raises(CheckpointError, match="format version 0"):
        read_checkpoint(old)


def test_mismatched_environment_and_shapes(good_file):
    data = read_checkpoint(good_file)
    dd = build_world(build_config(overrides={"visual": {"agents": 0}, "env": {"system": "differential_drive"}}))
    with pytest.raises(CheckpointError, match="made for environment point_mass, this run is differential_drive"):
        restore(dd, data, good_file)
    big = build_world(build_config(overrides={"visual": {"agents": 0}, "td3": {"hidden_size": 32}}))
    with pytest.raises(CheckpointError, match="network shapes differ"):
        restore(big, data, good_file)
    # shapes that agree on paper but not in the tensors (a hand-edited file) are caught too
    data["td3"]["critic"]["weights.0"] = torch.zeros(2, 5, 64)
    w = fresh()
    with pytest.raises(CheckpointError, match=f"checkpoint {good_file}: does not match this run"):
        restore(w, data, good_file)
    for world in (dd, big, w):
        world.shutdown()


def test_find_latest_skips_other_environments(tmp_path, good_file):
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "b").mkdir()
    import shutil
    import os
    import time

    shutil.copy(good_file, tmp_path / "runs" / "a" / "checkpoint.pt")
    w = build_world(build_config(overrides={"visual": {"agents": 0}, "env": {"system": "differential_drive"}}))
    save_checkpoint(w, tmp_path / "runs" / "b" / "checkpoint.pt")
    w.shutdown()
    now = time.time()
    os.utime(tmp_path / "runs" / "b" / "checkpoint.pt", (now, now))
    os.utime(tmp_path / "runs" / "a" / "checkpoint.pt", (now - 100, now - 100))
    assert find_latest(tmp_path / "runs", "point_mass") == tmp_path / "runs" / "a" / "checkpoint.pt"
    assert find_latest(tmp_path / "runs", "differential_drive") == tmp_path / "runs" / "b" / "checkpoint.pt"
    assert find_latest(tmp_path / "nowhere", "point_mass") is None


def test_cli_resume_errors_are_one_line_and_write_nothing(tmp_path, good_file, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good_file.read_bytes()[:1000])
    for argv, message in [
        (["--resume", str(bad)], f"checkpoint {bad}: truncated or corrupted"),
        (["--resume", str(tmp_path / "nope.pt")], "not found"),
        (["--resume", str(good_file), "--system", "differential_drive"], "made for environment point_mass"),
    ]:
        code = app.main(argv + ["--headless", "--episodes", "1", "--out", str(tmp_path / "out"), "--no-progress"])
        out, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err, err
        assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()


def test_cli_resume_auto_continues_the_newest_run(tmp_path, capsys, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text("[env]\nmax_steps_per_episode = 40\n[td3]\nstart_training_step = 20\n")
    base = ["--headless", "--config", "c.toml", "--agents", "0", "--no-progress"]
    assert app.main(base + ["--episodes", "2", "--out", "runs/first"]) == 0
    capsys.readouterr()
    assert app.main(base + ["--episodes", "1", "--out", "runs/second", "--resume", "auto"]) == 0
    out, err = capsys.readouterr()
    # which checkpoint, and what it holds, before the run; where it came from in the summary line
    first, task, overridden = err.splitlines()
    assert re.fullmatch(r"app\.py: --resume auto: continuing from runs/first/checkpoint\.pt \(point_mass, 2 episodes, "
                        r"\d+ steps, written \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S*\)", first), err
    # the same config file as the run it continues: the task is named; --episodes overrides its budget
    assert task == ("app.py: --resume: kept the checkpoint's task: train_preset = standard, "
                    "env.max_steps_per_episode = 40")
    assert overridden == "app.py: --resume: overridden by this command line: training.episodes = 1 (the checkpoint's: 2)"
    assert out.rstrip().endswith("outputs in runs/second (resumed from runs/first/checkpoint.pt)"), out
    summary = json.loads((tmp_path / "runs" / "second" / "run_summary.json").read_text())
    assert summary["episodes"] == 3 and summary["session_episodes"] == 1
    assert summary["resumed_from"] == str(tmp_path / "runs" / "first" / "checkpoint.pt") or \
        summary["resumed_from"].endswith("runs/first/checkpoint.pt")
    capsys.readouterr()


def test_a_resumed_run_keeps_the_task_it_resumes_and_says_what_it_kept_and_overrode(tmp_path, capsys, monkeypatch):
    """--resume auto after a --train-preset quick run: quick's episode length and budget, the
    checkpoint's own settings and its agents, unless this command line sets them; two notes say so."""
    import json

    monkeypatch.chdir(tmp_path)
    first = ["--headless", "--train-preset", "quick", "--agents", "2", "--set", "env.max_steps_per_episode=40",
             "--set", "td3.start_training_step=20", "--set", "calf.nu_rate=2.0", "--episodes", "2",
             "--out", "runs/quick", "--no-progress"]
    assert app.main(first) == 0
    capsys.readouterr()
    assert app.main(["--headless", "--resume", "auto", "--out", "runs/again", "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[1] == ("app.py: --resume: kept the checkpoint's task: train_preset = quick (instead of standard), "
                      "env.max_steps_per_episode = 40 (instead of 750), td3.start_training_step = 20 (instead of 100), "
                      "calf.nu_rate = 2.0 (instead of 0.5), training.episodes = 2 (instead of 500), "
                      "visual.agents = 2 (instead of 5)"), err
    assert len(err) == 2  # nothing overridden
    cfg = (tmp_path / "runs" / "again" / "config.toml").read_text()
    assert 'train_preset = "quick"' in cfg and "max_steps_per_episode = 40" in cfg and "nu_rate = 2.0" in cfg
    summary = json.loads((tmp_path / "runs" / "again" / "run_summary.json").read_text())
    assert summary["session_episodes"] == 2 and summary["episodes"] == 4  # the checkpoint's budget, again
    # this command line's choices win, and are named; a preset's own keys follow the chosen preset
    argv = ["--headless", "--resume", "runs/quick/checkpoint.pt", "--out", "runs/third", "--no-progress",
            "--train-preset", "standard", "--set", "calf.nu_rate=1.0", "--agents", "1", "--frames", "3"]
    assert app.main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith("app.py: --resume: kept the checkpoint's task: env.max_steps_per_episode = 40 "
                             "(instead of 750), td3.start_training_step = 20 (instead of 100), ")
    assert err[2] == ("app.py: --resume: overridden by this command line: train_preset = standard (the checkpoint's: "
                      "quick), calf.nu_rate = 1.0 (the checkpoint's: 2.0), visual.agents = 1 (the checkpoint's: 2)")
    cfg = (tmp_path / "runs" / "third" / "config.toml").read_text()
    assert 'train_preset = "standard"' in cfg and "max_steps_per_episode = 40" in cfg and "nu_rate = 1.0" in cfg


def test_a_checkpoint_trained_with_other_network_sizes_resumes_with_them(tmp_path, capsys, monkeypatch):
    """The network shapes are part of the task: resuming needs no --set to repeat them."""
    monkeypatch.chdir(tmp_path)
    base = ["--headless", "--agents", "0", "--set", "env.max_steps_per_episode=30", "--no-progress"]
    assert app.main(base + ["--set", "td3.hidden_size=16", "--episodes", "1", "--out", "runs/small"]) == 0
    capsys.readouterr()
    assert app.main(["--headless", "--resume", "auto", "--frames", "2", "--out", "runs/next", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "td3.hidden_size = 16 (instead of 64)" in err
    assert "hidden_size = 16" in (tmp_path / "runs" / "next" / "config.toml").read_text()
