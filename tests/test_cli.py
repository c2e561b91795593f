"""The command line: bad input is one line + exit 2 with nothing written; headless never imports ursina."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import app

ROOT = Path(__file__).resolve().parents[1]


def run_main(argv, capsys):
    code = app.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


BAD_INPUT = [
    (["--agents", "-1"], "--agents: must be >= 0"),
    (["--agents", "abc"], "--agents: must be a whole number"),
    (["--agents", "100001"], "--agents: must be <= 100000"),
    (["--frames", "0"], "--frames: must be >= 1"),
    (["--frames", "1.5"], "--frames: must be a whole number"),
    (["--episodes", "0"], "--episodes: must be >= 1"),
    (["--seed", "-3"], "--seed: must be >= 0"),
    (["--system", "cartpole"], "unknown environment 'cartpole'"),
    (["--preset", "ultra"], "invalid choice: 'ultra'"),
    (["--train-preset", "forever"], "invalid choice: 'forever'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--config", "/nonexistent/calf.toml"], "config file /nonexistent/calf.toml: not found"),
    (["--policy", "random"], "invalid choice: 'random'"),
    (["--relax-schedule", "cosine"], "invalid choice: 'cosine'"),
    (["--p-relax", "1.5"], "--p-relax: must be in [0, 1], got 1.5"),
    (["--p-relax", "-0.1"], "--p-relax: must be in [0, 1]"),
    (["--p-relax", "nan"], "--p-relax: must be in [0, 1]"),
    (["--p-relax", "half"], "--p-relax: must be a number in [0, 1]"),
    (["--train-steps-per-frame", "-1"], "--train-steps-per-frame: must be >= 0"),
    (["--train-steps-per-frame", "1001"], "--train-steps-per-frame: must be <= 1000"),
    (["--out", ""], "--out: must not be empty"),
    (["--resume", "/nonexistent/checkpoint.pt"], "checkpoint /nonexistent/checkpoint.pt: not found"),
    (["--out", "/proc/calf-ecs-run"], "--out: cannot create /proc/calf-ecs-run"),
]


@pytest.mark.parametrize("argv,message", BAD_INPUT)
def test_bad_input_is_one_line_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(argv + ["--headless", "--profile", "p.json"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("app.py: error:") and message in err, err
    assert "Traceback" not in err and out == ""
    assert list(tmp_path.iterdir()) == []  # nothing written


CONFIG_CASES = [
    ("[visual]\ngrid_size = 1\n", "visual.grid_size must be >= 2, got 1"),
    ("[visual]\ngridsize = 21\n", "unknown key 'visual.gridsize' (did you mean 'grid_size'?)"),
    ("[env]\ndt = 0.5\n", "env.dt must be <= 0.1, got 0.5"),
    ("[env]\nsystem = 'cartpole'\n", "env.system: unknown environment 'cartpole'"),
    ("[visual]\nagents = 'many'\n", "visual.agents must be an integer"),
    ("[visual\nagents = 3\n", "malformed TOML"),
    ("[physics]\nx = 1\n", "unknown section or key 'physics'"),
    ("preset = 'ultra'\n", "unknown preset 'ultra'"),
    ("[td3]\nbatch_size = 500\nbuffer_size = 100\n", "batch_size (500) must not exceed buffer_size (100)"),
    ("[env]\nreset_range = 6.0\n", "reset_range (6.0) must be smaller than boundary_limit (5.0)"),
]


@pytest.mark.parametrize("text,message", CONFIG_CASES)
def test_bad_config_file_is_one_line_exit_2(text, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text(text)
    code, out, err = run_main(["--config", "bad.toml", "--headless", "--profile", "p.json"], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert "bad.toml" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_profile_into_missing_directory_is_reported_before_running(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["--headless", "--frames", "5", "--profile", str(tmp_path / "no" / "p.json")], capsys)
    assert code == 2 and "does not exist" in err


def test_config_file_then_flags_override(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the run's outputs go to ./runs/<timestamp>/
    cfg_file = tmp_path / "run.toml"
    cfg_file.write_text("preset = 'low'\n[visual]\nagents = 7\n[run]\nseed = 5\n")
    prof = tmp_path / "p.json"
    code, out, err = run_main(
        ["--config", str(cfg_file), "--agents", "2", "--headless", "--frames", "30", "--profile", str(prof),
         "--no-progress"], capsys)
    assert code == 0, err
    report = json.loads(prof.read_text())
    meta = report["meta"]
    assert meta["agents"] == 2 and meta["seed"] == 5 and meta["preset"] == "low"
    assert report["config"]["visual"]["grid_size"] == 15  # from the low preset
    # the timings open the file, the configuration (about 150 lines) closes it
    keys = list(report)
    assert keys[:2] == ["frame", "systems"] and keys[-1] == "config" and "config" not in meta
    text = prof.read_text()
    assert text.index('"systems"') < text.index('"meta"') < text.index('"config"')
    assert meta["frames"] == 30
    assert "30 frames" in out


def test_list_systems_prints_the_order(capsys):
    code, out, err = run_main(["--list-systems", "--headless"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("simulation phase") and lines[1].endswith("FiniteCheckSystem")
    assert lines[2].endswith("PopulationSystem")
    assert lines[-2].startswith("view phase") and lines[-1].endswith("ProfilerSystem")
    assert any(line.endswith("PhysicsSystem") for line in lines)


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit) as exc:
        app.main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    for flag in ("--agents", "--system", "--preset", "--seed", "--headless", "--frames", "--profile",
                 "--list-systems", "--config", "--episodes", "--out", "--resume", "--policy", "--relax-schedule",
                 "--p-relax", "--train-steps-per-frame", "--train-preset"):
        assert flag in out


@pytest.mark.slow
def test_headless_run_never_imports_ursina(tmp_path):
    code = (
        "import sys, app\n"
        f"rc = app.main(['--headless', '--frames', '20', '--no-progress', '--profile', r'{tmp_path / 'p.json'}', "
        f"'--out', r'{tmp_path / 'run'}'])\n"
        "bad = [m for m in ('ursina', 'panda3d', 'direct') if m in sys.modules]\n"
        "print('RC', rc, 'BAD', bad)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "DISPLAY": ""})
    assert "RC 0 BAD []" in res.stdout, res.stderr
    assert (tmp_path / "p.json").exists()


def test_out_that_is_a_file_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").write_text("x")
    code, out, err = run_main(["--headless", "--episodes", "1", "--out", "taken"], capsys)
    assert code == 2 and "--out: taken exists and is not a directory" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_headless_training_writes_every_output(capsys, tmp_path, monkeypatch):
    import tomllib

    from config import load_config

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(
        "[env]\nmax_steps_per_episode = 40\n[td3]\nstart_training_step = 20\nbatch_size = 16\n"
        "[training]\nplot_every = 1\ncheckpoint_every = 2\nlog_max_rows = 60\n")
    code, out, err = run_main(["--headless", "--config", "c.toml", "--episodes", "3", "--agents", "2",
                               "--policy", "calf", "--p-relax", "0.5", "--relax-schedule", "linear",
                               "--train-steps-per-frame", "2", "--out", "run", "--no-progress"], capsys)
    assert code == 0, err
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["calf_log.csv", "calf_log.prev.csv", "checkpoint.pt",
                                                      "config.toml", "episodes.csv", "eval.csv", "rewards.png",
                                                      "run_summary.json"]
    summary = json.loads((run / "run_summary.json").read_text())
    required = {"episodes", "total_steps", "success_rate", "success_rate_last20", "certification_rate",
                "intervention_rate", "relax_rate", "p_relax", "steps_per_second", "seed", "system"}
    assert required <= set(summary)
    assert summary["episodes"] == 3 and summary["total_steps"] == 120 and summary["system"] == "point_mass"
    assert summary["train_updates"] == 2 * (120 - 20)
    assert abs(summary["certification_rate"] + summary["intervention_rate"] + summary["relax_rate"] - 1) < 1e-9
    saved = load_config(run / "config.toml")
    assert saved.calf.p_relax_init == 0.5 and saved.calf.relax_schedule == "linear"
    assert saved.training.train_steps_per_frame == 2 and saved.visual.agents == 2
    assert tomllib.loads((run / "config.toml").read_text())["env"]["max_steps_per_episode"] == 40
    rows = [(run / f).read_text().splitlines() for f in ("calf_log.prev.csv", "calf_log.csv")]
    assert all(r[0].startswith("step,episode,q,q_cert,delta,kappa_low,neg_q,kappa_up,certified,mode,p_relax")
               for r in rows)
    assert sum(len(r) - 1 for r in rows) <= 60 and rows[1][-1].startswith("120,3,")  # bounded, newest kept
    assert (run / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "3 training episodes" in out and "outputs in run" in out


# Ctrl-C and SIGTERM in real processes (headless, offscreen, window): tests/test_processes.py
