"""The sweep: grid expansion and bad input without Ray; then real sweeps of real app.py runs on one
local Ray shared by this module (Ray takes seconds to start): 2 seeds x 2 policies, resuming,
failing and crashing runs, and a Ctrl-C from a sweep that joined that Ray by its address."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import app
from sweep.command import build_parser
from sweep.grid import expand, parse_seeds, parse_variants
from tests.bad_input import flag_cases

ROOT = Path(__file__).resolve().parents[1]
#: a few steps per episode, training from the 10th step
SHORT = ["--episodes", "2", "--set", "env.max_steps_per_episode=20", "--set", "td3.start_training_step=10",
         "--set", "td3.batch_size=8", "--no-progress"]
#: only guards against a hang: every wait in this file ends on an event (a status in sweep.json, an exit)
HANG_GUARD = 900.0


def _sweep(argv, capsys):
    code = app.main(["sweep", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _json(path):
    return json.loads(Path(path).read_text())


# -- without Ray -----------------------------------------------------------------------------------
def test_seeds_and_variants_are_parsed():
    assert parse_seeds("42") == [42] and parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    assert parse_variants(["calf.nu_bar=0.01,1", "env.dt=0.02"]) == {"calf.nu_bar": ["0.01", "1"],
                                                                     "env.dt": ["0.02"]}


def test_the_grid_is_policies_x_variants_x_seeds_each_in_its_own_folder(tmp_path):
    specs = expand(tmp_path, [1, 2], ["calf", "actor"], {"calf.nu_bar": ["0.01", "1"], "env.dt": ["0.02"]},
                   ["--agents", "0"])
    assert len(specs) == 8 and len({s.folder for s in specs}) == 8
    assert [s.name for s in specs[:4]] == ["calf_calf.nu_bar=0.01/seed1", "calf_calf.nu_bar=0.01/seed2",
                                           "calf_calf.nu_bar=1/seed1", "calf_calf.nu_bar=1/seed2"]
    a = specs[2].argv
    assert a[:2] == ("--headless", "--no-progress") and ("--policy", "calf") == a[a.index("--policy"):][:2]
    assert "calf.nu_bar=1" in a and "env.dt=0.02" in a and a[-3:] == ("--out", str(tmp_path / specs[2].name), "--overwrite")
    assert specs[2].command()[:2] == [sys.executable, str(ROOT / "app.py")]


SWEEP_BAD = [
    ([], "the following arguments are required: --out"),
    (["--out", "o", "--set", "calf.nu_bar=abc,1"], "run calf_calf.nu_bar=abc: --set calf.nu_bar=abc: calf.nu_bar must be"),
    (["--out", "o", "--set", "calf.nu_bar=1,1"], "a value is listed twice"),
    (["--out", "o", "--set", "calf.nu_bar=1,"], "an empty value"),
    (["--out", "o", "--set", "calf.nu_bar=1", "--set", "calf.nu_bar=2"], "sets calf.nu_bar twice"),
    (["--out", "o", "--set", "run.seed=3"], "run calf: --set run.seed and another flag both set run.seed"),
    (["--out", "o", "--set", "env.reset_range=9"], "reset_range (9.0) must be smaller than boundary_limit"),
    (["--out", "o", "--config", "missing.toml"], "config file missing.toml: not found"),
    (["--out", "o", "--address", "auto", "--cpus", "2"], "--cpus sets the size of a local Ray"),
    (["--out", "o", "--threads-per-run", "2", "--set", "td3.torch_threads=2"], "do not --set it too"),
    (["--out", "afile"], "--out: afile exists and is not a directory"),
    (["--out", "/proc/calf-sweep"], "--out: cannot create /proc/calf-sweep"),
]


@pytest.mark.parametrize("argv,fragment", SWEEP_BAD, ids=[" ".join(a) for a, _ in SWEEP_BAD])
def test_bad_sweeps_are_one_line_exit_2_and_write_nothing(argv, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    code, out, err = _sweep(argv, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("app.py sweep: error: "), err
    assert fragment in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_every_sweep_flag_refuses_its_generated_bad_values(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = flag_cases(build_parser())
    assert {c[1][0] for c in cases} >= {"--seeds", "--policies", "--set", "--episodes", "--cpus", "--address"}
    for case_id, argv, fragment in cases:
        full = argv if argv[0] == "--out" else ["--out", "o", *argv]
        code, out, err = _sweep(full, capsys)
        assert code == 2 and fragment in err and err.count("\n") == 1, (case_id, err)
    assert list(tmp_path.iterdir()) == []


def _earlier_sweep(out: Path) -> None:
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps({"command": [], "runs": []}))


def _link_group(out: Path, outside: Path) -> None:
    (outside / "seed42").mkdir(parents=True)
    (outside / "seed42" / "thesis.tex").write_text("precious")
    os.symlink(outside, out / "calf")


SWEEP_FOLDERS = {  # what --out holds -> the refusal
    "other data": (lambda o, x: (o.mkdir(), (o / "thesis.tex").write_text("precious")),
                   "holds other files (thesis.tex) and is not a sweep's folder"),
    "a group folder linked outside": (lambda o, x: (_earlier_sweep(o), _link_group(o, x)),
                                      "o/calf is a symbolic link"),
    "a run folder linked outside": (lambda o, x: (_earlier_sweep(o), (o / "calf").mkdir(), x.mkdir(),
                                                  os.symlink(x, o / "calf" / "seed42")), "o/calf/seed42 is a symbolic link"),
    "logs linked outside": (lambda o, x: (_earlier_sweep(o), x.mkdir(), os.symlink(x, o / "logs")),
                            "o/logs is a symbolic link"),
    "a log file linked outside": (lambda o, x: (_earlier_sweep(o), (o / "logs").mkdir(), x.mkdir(),
                                                (x / "v").write_text("precious"),
                                                os.symlink(x / "v", o / "logs" / "calf__seed42.stderr.txt")),
                                  "calf__seed42.stderr.txt is a symbolic link"),
    "logs a file": (lambda o, x: (_earlier_sweep(o), (o / "logs").write_text("x")), "o/logs is a regular file, not a folder"),
    "sweep.json a directory": (lambda o, x: (o.mkdir(), (o / "sweep.json").mkdir()),
                               "o/sweep.json is a directory, not a regular file"),
    "sweep.json a FIFO": (lambda o, x: (o.mkdir(), os.mkfifo(o / "sweep.json")), "o/sweep.json is a FIFO"),
    "a run's marker a folder": (lambda o, x: (_earlier_sweep(o), (o / "calf" / "seed42" / "sweep_run.json").mkdir(
        parents=True)), "sweep_run.json is a directory"),
    "a run's marker a FIFO": (lambda o, x: (_earlier_sweep(o), (o / "calf" / "seed42").mkdir(parents=True),
                                            os.mkfifo(o / "calf" / "seed42" / "sweep_run.json")), "sweep_run.json is a FIFO"),
}


@pytest.mark.parametrize("case", list(SWEEP_FOLDERS))
def test_an_out_folder_the_sweep_cannot_own_is_refused_in_one_line_and_left_as_it_is(case, tmp_path, capsys,
                                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    make, fragment = SWEEP_FOLDERS[case]
    make(tmp_path / "o", tmp_path / "outside")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for extra in (["--dry-run"], ["--cpus", "1"]):  # a real sweep is refused before Ray starts
        code, out, err = _sweep(["--out", "o", *extra], capsys)
        assert code == 2 and out == "" and err.count("\n") == 1 and fragment in err, (case, err)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    if (tmp_path / "outside" / "seed42" / "thesis.tex").exists():
        assert (tmp_path / "outside" / "seed42" / "thesis.tex").read_text() == "precious"


def test_state_files_that_cannot_be_read_make_a_run_unfinished_never_a_hang(tmp_path, capsys, monkeypatch):
    """A run's run_summary.json that is a FIFO, or a link to /dev/zero: read within bounds (never
    waited on, never read without end), so the run is simply not finished."""
    monkeypatch.chdir(tmp_path)
    _earlier_sweep(tmp_path / "o")
    for seed, (name, make) in zip((1, 2), (("run_summary.json", os.mkfifo),
                                            ("run_summary.json", lambda p: os.symlink("/dev/zero", p)))):
        run = tmp_path / "o" / "calf" / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "sweep_run.json").write_text("{}")
        (run / "run_summary.json").write_text('{"interrupted": false}')
        (run / name).unlink()
        make(run / name)
    code, out, err = _sweep(["--out", "o", "--seeds", "1,2", "--dry-run"], capsys)
    assert code == 0 and "2 runs: 0 finished, 2 to run" in out, err


@pytest.mark.parametrize("address,fragment", [
    ("127.0.0.1:1", "no Ray cluster answers there"),
    ("localhost:99999", "expected HOST:PORT with a port in 1..65535"),
    ("no-port", "expected HOST:PORT"),
    ("nosuchhost.invalid:6379", "--address nosuchhost.invalid:6379: no"),
])
def test_an_address_where_no_ray_answers_is_one_line_before_anything_is_written(address, fragment, tmp_path, capsys,
                                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _sweep(["--out", "o", "--address", address, *SHORT[:2]], capsys)
    assert code == 2 and err.count("\n") == 1 and fragment in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_dry_run_lists_the_runs_and_writes_nothing(tmp_path, capsys):
    code, out, _ = _sweep(["--out", str(tmp_path / "o"), "--seeds", "1-3", "--policies", "calf,nominal",
                           "--set", "calf.nu_bar=0.01,1", "--dry-run"], capsys)
    assert code == 0 and out.count("to run ") == 12 and "12 runs: 0 finished, 12 to run" in out
    assert not (tmp_path / "o").exists()


def test_a_run_gets_sigterm_when_the_worker_running_it_dies(tmp_path):
    """A Ray worker killed outright (the sweep's second Ctrl-C, a node lost) must not leave its run
    going on unseen: the run's process is told by the kernel (SIGTERM) and ends."""
    pid_file = tmp_path / "child.pid"
    child = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    worker = ("import sys; from sweep.task import run_process; "
              f"run_process([sys.executable, '-c', {child!r}], '.', {str(tmp_path / 'o')!r}, {str(tmp_path / 'e')!r}, 1)")
    proc = subprocess.Popen([sys.executable, "-c", worker], cwd=ROOT)
    try:
        deadline = time.time() + HANG_GUARD
        while not pid_file.exists() or not pid_file.read_text():
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        proc.kill()  # SIGKILL: no handler of the worker runs
        proc.wait()
        deadline = time.time() + HANG_GUARD
        while Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid):
            assert time.time() < deadline, "the run outlived its worker"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


# -- on Ray ----------------------------------------------------------------------------------------
RAY_START_LOG: list[str] = []  # what Ray logged at WARNING or above while the module's cluster started


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for every sweep of this module (the sweeps find it running and use it), started
    as `app.py sweep` starts its own."""
    import ray

    from sweep.execute import start_ray

    class Keep(logging.Handler):
        def emit(self, record):
            RAY_START_LOG.append(record.getMessage())

    keep = Keep(logging.WARNING)
    logger = logging.getLogger("ray")
    logger.addHandler(keep)
    try:
        started, _ = start_ray(2, None)
    finally:
        logger.removeHandler(keep)
    assert started
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_a_local_ray_starts_without_the_token_authentication_warning(local_ray):
    """Ray warns that token authentication is on at every local `ray.init()`; the sweep's own cluster
    keeps it on and prints nothing about it."""
    assert not [m for m in RAY_START_LOG if "authentication" in m.lower()], RAY_START_LOG


@pytest.mark.slow
def test_a_real_sweep_of_2_seeds_x_2_policies_then_a_resume_that_skips_them(local_ray, tmp_path, capsys):
    out = tmp_path / "sw"
    argv = ["--out", str(out), "--seeds", "1-2", "--policies", "calf,nominal", *SHORT]
    code, stdout, err = _sweep(argv, capsys)
    assert code == 0, err
    assert "4 runs" in stdout and "4 finished now, 0 before, 0 failed" in stdout
    for policy in ("calf", "nominal"):
        for seed in (1, 2):
            run = out / policy / f"seed{seed}"
            rows = (run / "episodes.csv").read_text().splitlines()
            assert len(rows) == 3  # header + 2 episodes
            summary = _json(run / "run_summary.json")
            assert summary["seed"] == seed and summary["policy"] == policy and summary["interrupted"] is False
            assert summary["provenance"]["command"][-3:] == ["--out", str(run), "--overwrite"]
            assert (run / "sweep_run.json").exists()
    records = _json(out / "sweep.json")["runs"]
    assert sorted(r["name"] for r in records) == ["calf/seed1", "calf/seed2", "nominal/seed1", "nominal/seed2"]
    assert {r["status"] for r in records} == {"ok"}
    marks = {p: p.stat().st_mtime_ns for p in out.rglob("sweep_run.json")}

    code, stdout, err = _sweep(argv, capsys)  # again: everything is finished, nothing runs
    assert code == 0 and "all finished before; nothing to do" in stdout, err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("sweep_run.json")} == marks

    code, stdout, err = _sweep([*argv[:-1], "--set", "calf.nu_bar=0.5", "--no-progress"], capsys)
    assert code == 2 and "holds a finished run made with other settings" in err  # never overwritten

    assert app.main(["report", str(out)]) == 0
    assert (out / "report" / "summary.md").exists()


PLUGINS = ("[[plugins]]\nsystem = 'tests.plugins_for_tests.sweep_faults:SlowForSeeds'\n"
           "options = {{ seeds = [2], seconds = {slow} }}\n"
           "[[plugins]]\nsystem = 'tests.plugins_for_tests.sweep_faults:CrashForSeeds'\n"
           "options = {{ kill_seeds = {kill}, term_seeds = {term} }}\n")



@pytest.mark.slow
def test_a_crash_is_named_ctrl_c_keeps_finished_runs_and_the_same_command_resumes(local_ray, tmp_path, capsys):
    """Seed 1 finishes, seed 3 is killed by SIGKILL (a crash) and named while the others go on, seed 4
    is stopped by a SIGTERM from outside (it saves and exits 0, but is failed: it did not finish),
    seed 2 waits in every frame until it is stopped, so it is still running when the sweep gets
    Ctrl-C whatever the machine's speed; then the same command (the config file now harmless) runs
    seeds 2, 3 and 4 again from scratch and skips seed 1."""
    conf = tmp_path / "plugins.toml"
    conf.write_text(PLUGINS.format(slow=1e6, kill=[3], term=[4]))
    out = tmp_path / "sw"
    argv = ["--out", str(out), "--seeds", "1-4", "--config", str(conf), *SHORT]
    address = local_ray.get_runtime_context().gcs_address  # this sweep joins the module's Ray
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "sweep", *argv, "--address", address],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def status():
        try:
            return {r["name"]: r["status"] for r in _json(out / "sweep.json")["runs"]}
        except (OSError, ValueError):
            return {}

    try:
        deadline = time.time() + HANG_GUARD
        while status().get("calf/seed1") != "ok" or status().get("calf/seed3") != "failed" or \
                status().get("calf/seed4") != "failed" or not (out / "calf" / "seed2" / "config.toml").exists():
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)  # seed 2 is stepping, and waits in its frame until it is stopped
        stdout, stderr = proc.communicate(timeout=HANG_GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (stdout, stderr)
    assert "4 runs" in stdout and "1 finished now, 0 before, 2 failed, 1 stopped" in stdout, stdout
    assert "stopping (SIGINT)" in stderr
    assert "app.py sweep: failed run calf/seed3: killed by SIGKILL" in stderr
    assert "app.py sweep: failed run calf/seed4: exited 0 but its run_summary.json says it was interrupted" in stderr
    assert status() == {"calf/seed1": "ok", "calf/seed2": "interrupted", "calf/seed3": "failed",
                        "calf/seed4": "failed"}
    assert not (out / "calf" / "seed4" / "sweep_run.json").exists()
    summary2 = _json(out / "calf" / "seed2" / "run_summary.json")  # the stopped run saved on its way out
    assert summary2["interrupted"] is True and not (out / "calf" / "seed2" / "sweep_run.json").exists()
    assert not (out / "calf" / "seed3" / "sweep_run.json").exists()
    kept = (out / "calf" / "seed1" / "sweep_run.json").stat().st_mtime_ns

    conf.write_text(PLUGINS.format(slow=0.0, kill=[], term=[]))  # the same command line, now harmless
    code, stdout, err = _sweep(argv, capsys)
    assert code == 0, err
    assert "3 finished now, 1 before, 0 failed" in stdout
    assert (out / "calf" / "seed1" / "sweep_run.json").stat().st_mtime_ns == kept
    for seed in (2, 3, 4):
        assert _json(out / "calf" / f"seed{seed}" / "run_summary.json")["interrupted"] is False
        # a fresh run (the unfinished folder was cleared), not rows appended to the stopped one
        assert len((out / "calf" / f"seed{seed}" / "episodes.csv").read_text().splitlines()) == 3
        assert os.path.exists(out / "calf" / f"seed{seed}" / "sweep_run.json")


def test_a_running_task_stops_its_run_when_the_sweeps_stop_file_appears(tmp_path):
    """A stopped sweep creates its stop file in --out (which every node sees): each running task sends
    its run SIGTERM (an app.py run saves and exits), whether or not Ray's cancel reaches the task."""
    import threading

    from sweep.task import run_process

    stop, ready = tmp_path / ".sweep-stop", tmp_path / "ready"
    child = ("import pathlib, signal, sys, time\n"
             "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
             f"pathlib.Path({str(ready)!r}).write_text('up')\n"
             "time.sleep(600)\n")
    threading.Thread(target=lambda: (_wait_until(ready.exists), stop.touch()), daemon=True).start()
    res = run_process([sys.executable, "-c", child], str(tmp_path), str(tmp_path / "o"), str(tmp_path / "e"), 1,
                      stop_path=str(stop))
    assert res["status"] == "interrupted" and res["returncode"] == 0, res


def _wait_until(done) -> None:
    deadline = time.time() + HANG_GUARD
    while not done() and time.time() < deadline:
        time.sleep(0.05)
