"""The real program in real processes: signals and determinism.

The processes (tests/process_runs.py) start as soon as this file is collected and run beside the
rest of the suite:
- SIGINT / SIGTERM / SIGHUP sent to headless, offscreen and window runs (the window on a private
  Xvfb display): each stops after the current frame, saves a checkpoint that holds that very frame,
  the summary, the CALF log, the profile (and the screenshot), and exits 0;
- a run whose files may not grow past 64 KiB (RLIMIT_FSIZE, a full disk as the kernel sees it)
  goes on, says what it could not write, and exits 3;
- the same seed and config twice headless and once offscreen: the same trajectory (the training
  agent's CALF log, byte for byte), the same weights and replay rows, and the same
  run_summary.json (floats within 1e-9 relative; `steps_per_second` excluded).
"""
from __future__ import annotations

import csv
import json
import math

import pytest
import torch

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def runs(process_runs):
    return process_runs


def summary_of(run):
    return json.loads((run.folder / "run" / "run_summary.json").read_text())


def checkpoint_of(run):
    from rl.checkpoint import read_checkpoint

    return read_checkpoint(run.folder / "run" / "checkpoint.pt")


@pytest.mark.parametrize("name", ["int_headless", "term_headless", "hup_headless", "int_offscreen", "term_window"])
def test_a_signal_saves_a_consistent_checkpoint_and_the_profile_then_exits_0(runs, name):
    if name not in runs:
        pytest.skip("no Xvfb to open a window on")
    run = runs[name]
    assert run.proc is not None and run.sent_at is not None, f"{name} ended before it was signalled: {run.stderr[-2000:]}"
    assert run.proc.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert f"[interrupted] ({run.sig.name})" in run.stdout, run.stdout
    out = run.folder / "run"
    assert {"checkpoint.pt", "config.toml", "run_summary.json", "calf_log.csv"} <= {p.name for p in out.iterdir()}
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temp or working files left
    summary = summary_of(run)
    data = checkpoint_of(run)
    steps = summary["total_steps"]
    assert summary["interrupted"] is True and steps > 0
    assert data["stats"]["total_steps"] == steps  # the checkpoint holds the frame the run stopped after
    log = (out / "calf_log.csv").read_text().splitlines()
    assert log[-1].startswith(f"{steps},") and len(log) == steps + 1  # every step, up to that frame
    profile = json.loads((run.folder / "p.json").read_text())
    assert profile["meta"]["frames"] == steps  # one training-agent step per frame
    if "headless" not in name:
        assert (run.folder / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the checkpoint resumes: it loads, all or nothing, into a world built from the run's own config
    from config import load_config
    from rl.checkpoint import restore
    from runtime.build import build_world

    world = build_world(load_config(out / "config.toml"))
    restore(world, data, out / "checkpoint.pt")
    world.shutdown()


def _close(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize("other", ["det_b", "det_offscreen"])
def test_the_same_seed_and_config_give_the_same_run(runs, other):
    a, b = runs["det_a"], runs[other]
    for r in (a, b):
        assert r.proc.returncode == 0, r.stderr[-3000:]
    sa, sb = summary_of(a), summary_of(b)
    for s in (sa, sb):
        s.pop("steps_per_second")
        s.pop("provenance")  # the command line and folder differ by design
        s["evaluation"].pop("wall_time")  # when the evaluation ran, in seconds of this machine's time
    assert sa["episodes"] >= 3 and sa["train_updates"] > 0  # episodes ended and training ran
    _close(sa, sb)
    episodes = []
    for r in (a, b):  # every column but the wall time (wherever the header puts it)
        rows = [row.split(",") for row in (r.folder / "run" / "episodes.csv").read_text().splitlines()]
        wall = rows[0].index("wall_time")
        episodes.append([cells[:wall] + cells[wall + 1:] for cells in rows])
    assert episodes[0] == episodes[1] and len(episodes[0]) == sa["episodes"] + 1
    evals = []
    for r in (a, b):
        with open(r.folder / "run" / "eval.csv", newline="") as f:
            evals.append([{k: v for k, v in row.items() if k != "wall_time"} for row in csv.DictReader(f)])
    assert evals[0] == evals[1] and evals[0][-1]["episode"] == str(sa["episodes"])  # the final evaluation
    log_a = (a.folder / "run" / "calf_log.csv").read_bytes()
    assert log_a == (b.folder / "run" / "calf_log.csv").read_bytes()  # the same trajectory, step by step
    ca, cb = checkpoint_of(a), checkpoint_of(b)
    for part in ("actor", "critic", "actor_target", "critic_target"):
        for k, t in ca["td3"][part].items():
            assert torch.equal(t, cb["td3"][part][k]), (part, k)
    assert torch.equal(ca["replay"]["rows"], cb["replay"]["rows"])
    # (json: a NaN, such as the q_cert of an agent without a certificate, is the same NaN in both)
    assert json.dumps(ca["training_agent"], default=repr) == json.dumps(cb["training_agent"], default=repr) and ca["rng"]["numpy"] == cb["rng"]["numpy"]


def test_a_file_size_limit_is_a_full_disk_the_run_goes_on_and_exits_3(runs):
    """Python ignores SIGXFSZ, so writes past the limit fail with EFBIG like a full disk's ENOSPC."""
    run = runs["file_size_limit"]
    assert run.proc is not None and run.proc.returncode == 3, run.stderr[-3000:]
    assert "Traceback" not in run.stderr and "4 training episodes" in run.stdout
    assert "app.py: error: checkpoint in run: not written (" in run.stderr and "File too large" in run.stderr
    assert all(line.startswith(("app.py: warning: ", "app.py: error: ")) for line in run.stderr.splitlines())
    out = run.folder / "run"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temp file left behind
    assert json.loads((out / "run_summary.json").read_text())["episodes"] == 4


def test_plugins_load_from_the_folder_the_program_is_started_in(runs):
    """`python /elsewhere/app.py --plugin pkg.module:Class --plugin tools/file.py:Class` from a folder the
    project knows nothing about: no PYTHONPATH, the package found in the current folder, the file by its
    path (with its own sibling import); both figures are in run_summary.json and printed under the summary."""
    run = runs["plugins_elsewhere"]
    assert run.proc.returncode == 0, run.stderr[-3000:]
    assert run.env == {"PYTHONPATH": None}  # removed from the child's environment
    extensions = summary_of(run)["extensions"]
    assert extensions["StepCount"] == {"frames": 60}
    assert extensions["TopSpeed"]["top_speed"] > 0
    lines = run.stdout.splitlines()
    assert "StepCount: frames 60" in lines
    assert any(line.startswith("TopSpeed: top_speed ") for line in lines), run.stdout


@pytest.mark.parametrize("name", ["det_offscreen", "int_offscreen", "term_window"])
def test_rendered_runs_keep_stderr_free_of_panda3d_and_xlib_chatter(runs, name):
    """No /dev/input device messages, no Xlib DGA notice, no ursina info lines: stderr is for the
    program's own lines (app.py: ...)."""
    if name not in runs:
        pytest.skip("no Xvfb to open a window on")
    err = runs[name].stderr
    for chatter in ("/dev/input", ":device(", "XFree86-DGA", "info: "):
        assert chatter not in err, err
    assert all(line.startswith("app.py: ") for line in err.splitlines()), err
