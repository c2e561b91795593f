"""Every path is vetted before anything is written (safe_io.paths, runfiles.run_folder):

- inputs are regular files of bounded size: a device, a FIFO, a socket or a directory is refused
  without being read (and without hanging);
- names that cannot be files (too long, NUL, control characters, not UTF-8) are one line;
- nothing a user gave as input, no other output and no earlier run is overwritten without
  --overwrite, and a run's own config.toml loaded back never writes into that run's folder;
- one run per folder, and a run killed with SIGKILL leaves no stuck lock;
- temp files of interrupted writes are cleaned up, a killed run's CALF log rows are kept.

Each refusal: exit code 2, exactly one `app.py: error:` line, nothing new on disk.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import app
from ecs import System
from safe_io.paths import CONFIG_MAX_BYTES

ROOT = Path(__file__).resolve().parents[1]
RUN = ["--headless", "--frames", "3", "--agents", "0", "--no-progress"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(argv, folder, capsys, fragment):
    """app.main(argv) must be refused in one line containing `fragment`, with nothing written
    (into `folder`: the folder a live run is writing in may be given instead)."""
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    code = app.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert err.count("\n") == 1 and err.startswith("app.py: error: ") and "Traceback" not in err, err
    assert fragment in err, err
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before, f"{argv} wrote something"
    return err


def ran(argv, capsys, code=0):
    rc = app.main(argv)
    out, err = capsys.readouterr()
    assert rc == code, (argv, out, err)
    assert "Traceback" not in err, err
    return out, err


# -- inputs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("special,fragment", [
    ("/dev/zero", "is a character device, not a regular file"),
    ("/dev/null", "is a character device, not a regular file"),
    ("/dev/urandom", "is a character device, not a regular file"),
    ("fifo", "is a FIFO (named pipe), not a regular file"),
    ("sock", "is not a regular file"),
    ("adir", "is a directory"),
    ("link_to_zero", "is a character device, not a regular file"),
])
@pytest.mark.parametrize("flag", ["--config", "--resume"])
def test_inputs_must_be_regular_files_and_special_files_are_never_read(here, capsys, special, flag, fragment):
    os.mkfifo(here / "fifo")  # no writer: opening it for reading the ordinary way would hang
    (here / "adir").mkdir()
    os.symlink("/dev/zero", here / "link_to_zero")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(here / "sock"))
    try:
        t0 = time.monotonic()
        refused([flag, special, *RUN, "--out", "run"], here, capsys, fragment)
        assert time.monotonic() - t0 < 30  # /dev/zero is not read until memory runs out
    finally:
        server.close()


def test_inputs_larger_than_their_bound_are_refused_before_reading(here, capsys):
    with open(here / "big.toml", "wb") as f:  # sparse: large, but costs no disk
        f.truncate(CONFIG_MAX_BYTES + 1)
    refused(["--config", "big.toml", *RUN, "--out", "run"], here, capsys, "more than the 1.0 MiB it may be")
    with open(here / "big.pt", "wb") as f:
        f.truncate(64 * 2**30)  # 64 GiB, far beyond what this run's checkpoint can hold
    refused(["--resume", "big.pt", *RUN, "--out", "run"], here, capsys, "it may be")


def test_a_compressed_zip_posing_as_a_checkpoint_is_refused_before_unpickling(here, capsys):
    import zipfile

    with zipfile.ZipFile(here / "bomb.pt", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\0" * (8 << 20))  # 8 MiB of zeros in a few KiB
    refused(["--resume", "bomb.pt", *RUN, "--out", "run"], here, capsys, "is compressed")


# -- names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--out", "--profile", "--config", "--resume", "--screenshot"])
@pytest.mark.parametrize("name,fragment", [
    ("n" * 256, "more than the 255 a file name may have"),
    ("d/" * 2100, "more than the 4095 a path may have"),
    ("two\nlines", "must not contain control characters"),
    ("esc\x1b[2J", "must not contain control characters"),
    ("bad\udcffbytes", "is not valid UTF-8 text"),
])
def test_names_no_file_can_have_are_one_line_errors(here, capsys, flag, name, fragment):
    extra = ["--offscreen"] if flag == "--screenshot" else ["--headless"]
    argv = [flag, name, "--frames", "3", "--agents", "0", "--no-progress", *extra]
    if flag != "--out":
        argv += ["--out", "run"]
    refused(argv, here, capsys, fragment)


def test_a_name_that_is_too_long_in_a_config_file_is_one_line_too(here, capsys):
    (here / "c.toml").write_text(f'[run]\nout = "{"o" * 300}"\n')
    refused(["--config", "c.toml", *RUN], here, capsys, "run.out has a name of 300 bytes")


# -- nothing is overwritten ------------------------------------------------------------------------
@pytest.fixture
def earlier_run(here, capsys):
    (here / "c.toml").write_text("[env]\nmax_steps_per_episode = 10\n[training]\ncheckpoint_every = 1\n")
    ran(["--config", "c.toml", "--headless", "--frames", "25", "--agents", "0", "--no-progress", "--out", "old",
         "--profile", "old.json"], capsys)
    files = {p.name: p.read_bytes() for p in (here / "old").iterdir()}
    assert {"checkpoint.pt", "config.toml", "run_summary.json", "calf_log.csv"} <= set(files)
    return files


def _unchanged(here, files):
    assert {p.name: p.read_bytes() for p in (here / "old").iterdir()} == files


@pytest.mark.parametrize("argv,fragment", [
    (["--profile", "c.toml"], "--profile c.toml would overwrite --config c.toml"),
    (["--profile", "c.toml", "--overwrite"], "--profile c.toml would overwrite --config c.toml"),
    (["--resume", "old/checkpoint.pt", "--profile", "old/checkpoint.pt"],
     "--profile old/checkpoint.pt would overwrite the checkpoint resumed (old/checkpoint.pt)"),
    (["--resume", "old/checkpoint.pt", "--profile", "old/checkpoint.pt", "--overwrite"], "would overwrite the checkpoint"),
    (["--profile", "hard.toml"], "would overwrite --config c.toml"),  # a hard link to the config
    (["--profile", "old.json"], "--profile: old.json exists; give another name, or --overwrite"),
    (["--out", "old"], "--out old holds an earlier run (calf_log.csv, checkpoint.pt, config.toml"),
    (["--out", "old", "--resume", "old/checkpoint.pt"], "--out old holds an earlier run"),
    (["--profile", "tests_plugin.py", "--plugin", "tests.plugins_for_tests.faulty:FailsAt"], "--plugin"),
])
def test_no_input_no_other_output_and_no_earlier_run_is_overwritten(here, capsys, earlier_run, argv, fragment):
    os.link(here / "c.toml", here / "hard.toml")
    if "tests_plugin.py" in argv:  # the plugin's own source file as the profile
        import tests.plugins_for_tests.faulty as faulty

        argv = [faulty.__file__ if a == "tests_plugin.py" else a for a in argv]
        fragment = f"would overwrite the plugin's source {faulty.__file__}"
    source = Path(argv[argv.index("--profile") + 1]) if "--profile" in argv else None
    guarded = source.read_bytes() if source is not None and source.exists() else None
    refused(["--config", "c.toml", *RUN, *(["--out", "new"] if "--out" not in argv else []), *argv],
            here, capsys, fragment)
    _unchanged(here, earlier_run)
    if guarded is not None:
        assert source.read_bytes() == guarded


def test_a_runs_own_config_loaded_back_starts_a_new_run_elsewhere(here, capsys, earlier_run):
    text = (here / "old" / "config.toml").read_text()
    assert '# out = "old"' in text and '# profile = "old.json"' in text  # recorded, not loaded back
    out, _ = ran(["--config", "old/config.toml", "--headless", "--frames", "5", "--no-progress"], capsys)
    _unchanged(here, earlier_run)
    new = [p.relative_to(here) for p in (here / "runs").iterdir()]
    assert len(new) == 1 and f"outputs in {new[0]}" in out
    assert json.loads((here / "old.json").read_text())["meta"]["frames"] == 25  # the old profile is untouched


def test_overwrite_replaces_an_earlier_run_and_resuming_in_place_continues_it(here, capsys, earlier_run):
    (here / "old" / ".checkpoint.pt.abcd1234.tmp").write_bytes(b"left by a killed write")
    ran(["--config", "c.toml", "--headless", "--frames", "5", "--agents", "0", "--no-progress", "--out", "old",
         "--resume", "old/checkpoint.pt", "--overwrite", "--profile", "old.json"], capsys)
    summary = json.loads((here / "old" / "run_summary.json").read_text())
    assert summary["total_steps"] == 30 and summary["resumed_from"] == "old/checkpoint.pt"  # 25 + 5: continued
    assert not (here / "old" / ".checkpoint.pt.abcd1234.tmp").exists()  # the stale temp file is gone
    assert not (here / "old" / ".calf-ecs.lock").exists()
    ran(["--headless", "--frames", "4", "--agents", "0", "--no-progress", "--out", "old", "--overwrite"], capsys)
    assert json.loads((here / "old" / "run_summary.json").read_text())["total_steps"] == 4  # replaced


# -- one run per folder ----------------------------------------------------------------------------
def _start(folder: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--headless", "--episodes", "100000",
                             "--agents", "0", "--no-progress", *args], cwd=folder, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.slow
def test_one_run_per_folder_a_killed_run_leaves_no_stuck_lock_and_its_folder_is_tidied_on_resume(here, capsys):
    """One real run, killed with SIGKILL mid-write: while it lives a second run on its folder is
    refused (naming its pid); once dead, its lock is gone with it; resuming from its checkpoint
    removes the temp files of its interrupted writes and keeps every whole row of its CALF log."""
    (here / "c.toml").write_text("[env]\nmax_steps_per_episode = 20\n[training]\ncheckpoint_every = 1\n")
    victim = _start(here, "--out", "shared", "--config", "c.toml")
    folder = here / "shared"
    try:
        _wait_for(folder / "checkpoint.pt", victim)
        (here / "elsewhere").mkdir()  # the victim keeps writing in shared/; nothing may appear here
        err = refused([*RUN, "--out", str(folder), "--overwrite", "--profile", str(here / "elsewhere" / "p.json")],
                      here / "elsewhere", capsys, f"--out {folder} is in use by another run")
        assert f"(pid {victim.pid})" in err
    finally:
        victim.send_signal(signal.SIGKILL)  # dies holding the lock, mid-run, with a .part log
        victim.wait(30)
    assert (folder / ".calf-ecs.lock").exists() and (folder / ".calf_log.csv.part").exists()
    refused([*RUN, "--out", "shared"], here, capsys, "--out shared holds an earlier run")
    (folder / ".checkpoint.pt.zz99xx00.tmp").write_bytes(b"half a checkpoint")
    work = (folder / ".calf_log.csv.part").read_bytes()
    (folder / ".calf_log.csv.part").write_bytes(work + b"123,4,0.5")  # a row cut by the kill
    ran(["--config", "c.toml", *RUN, "--out", "next", "--resume", "shared/checkpoint.pt"], capsys)
    assert not (folder / ".checkpoint.pt.zz99xx00.tmp").exists() and not (folder / ".calf_log.csv.part").exists()
    assert (folder / "calf_log.csv").read_bytes() == work[: work.rfind(b"\n") + 1]  # every whole row kept
    assert not (folder / ".calf-ecs.lock").exists()  # the dead run's lock taken (free) and removed
    ran([*RUN, "--out", "shared", "--overwrite"], capsys)  # replaced, in a folder no one holds
    assert json.loads((folder / "run_summary.json").read_text())["total_steps"] == 3


# -- nothing written through a link; folders and histories ---------------------------------------------
QUICK = [*RUN[:-1], "--no-progress", "--set", "env.max_steps_per_episode=20", "--set", "td3.start_training_step=10",
         "--set", "td3.batch_size=8"]


@pytest.fixture
def a_run(here, capsys):
    """A finished run in a/ (2 episodes, a checkpoint) and a victim file outside every run folder."""
    ran(["--headless", "--agents", "0", "--no-progress", "--episodes", "2", *QUICK[6:], "--out", "a"], capsys)
    (here / "outside").mkdir()
    (here / "outside" / "victim.txt").write_text("precious\n")
    return here / "a"


LINKED = {  # a name in the run folder linked to the victim, and the command line
    "the lock file, a new run": (".calf-ecs.lock", ["--out", "a", "--overwrite"]),
    "the CALF working file, --overwrite": (".calf_log.csv.part", ["--out", "a", "--overwrite"]),
    "episodes.csv, resumed in place": ("episodes.csv", ["--out", "a", "--overwrite", "--resume", "a/checkpoint.pt"]),
    "eval.csv, resumed in place": ("eval.csv", ["--out", "a", "--overwrite", "--resume", "a/checkpoint.pt"]),
}


@pytest.mark.parametrize("case", list(LINKED))
def test_a_run_file_linked_outside_its_folder_is_refused_and_never_written_through(case, a_run, here, capsys):
    name, argv = LINKED[case]
    (a_run / name).unlink(missing_ok=True)
    os.symlink(here / "outside" / "victim.txt", a_run / name)
    refused([*QUICK, *argv], here, capsys, f"{name} is a symbolic link")
    assert (here / "outside" / "victim.txt").read_text() == "precious\n"


def test_a_resumed_checkpoints_folder_is_not_tidied_through_links(a_run, here, capsys):
    """recover() finishes a killed run's CALF log in the resumed checkpoint's folder: never through a
    lock file or working file that is a link."""
    os.symlink(here / "outside" / "victim.txt", a_run / ".calf_log.csv.part")
    ran([*QUICK, "--resume", "a/checkpoint.pt", "--out", "b"], capsys)
    os.unlink(a_run / ".calf_log.csv.part")
    (a_run / ".calf_log.csv.part").write_text("step\n1\n")
    os.symlink(here / "outside" / "victim.txt", a_run / ".calf-ecs.lock")
    ran([*QUICK, "--resume", "a/checkpoint.pt", "--out", "c"], capsys)
    assert (here / "outside" / "victim.txt").read_text() == "precious\n"
    assert (a_run / ".calf_log.csv.part").exists()  # left alone: its lock could not be taken safely


def test_overwrite_removes_a_tensorboard_folder_and_resuming_in_place_keeps_the_histories(here, capsys):
    base = ["--headless", "--agents", "0", "--no-progress", "--episodes", "2", *QUICK[6:]]
    ran([*base, "--out", "a", "--tensorboard"], capsys)
    rows = (here / "a" / "episodes.csv").read_text().splitlines()
    ran([*base, "--out", "a", "--overwrite", "--resume", "a/checkpoint.pt", "--tensorboard"], capsys)
    again = (here / "a" / "episodes.csv").read_text().splitlines()
    assert again[: len(rows)] == rows and len(again) == len(rows) + 2  # continued below its rows
    assert len(list((here / "a" / "tensorboard").iterdir())) == 2  # the first session's events kept
    ran([*base, "--out", "a", "--overwrite"], capsys)  # replaced: tensorboard/ (a folder) removed
    assert not (here / "a" / "tensorboard").exists() and len((here / "a" / "episodes.csv").read_text().splitlines()) == 3


def test_profile_may_not_replace_the_environments_source(here, capsys):
    shutil.copy(ROOT / "examples" / "spring_mass.py", here / "springy.py")
    before = (here / "springy.py").read_text()
    os.link(here / "springy.py", here / "hard.json")
    for target in ("springy.py", "hard.json"):
        refused([*RUN, "--system", "springy:SpringMass", "--profile", target, "--overwrite"], here, capsys,
                "would overwrite the environment's source")
    assert (here / "springy.py").read_text() == before


class RemoveFolder(System):
    """Removes a folder at a frame (a user tidying up while the run goes on)."""

    def __init__(self, path: str = "", frame: int = 3):
        self.path, self.frame = path, frame

    def process(self, world, dt):
        if world.frame == self.frame:
            shutil.rmtree(self.path)


def test_a_profile_folder_removed_mid_run_is_named_never_silently_re_created(here, capsys):
    (here / "prof").mkdir()
    (here / "c.toml").write_text("[[plugins]]\nsystem = 'tests.test_paths:RemoveFolder'\n"
                                 f"options = {{path = '{here / 'prof'}'}}\n")
    _, err = ran([*RUN[:2], "10", *RUN[3:], "--config", "c.toml", "--profile", "prof/p.json", "--out", "o"],
                 capsys, code=3)
    assert "app.py: error: --profile prof/p.json: not written (its folder prof no longer exists" in err, err
    assert not (here / "prof").exists()


@pytest.mark.parametrize("damage", ["nan weights", "impossible episode step"])
def test_resume_auto_refuses_a_damaged_newest_checkpoint_in_one_line(damage, a_run, here, capsys):
    import torch

    from rl.checkpoint_integrity import seal

    (here / "runs").mkdir()
    shutil.copytree(a_run, here / "runs" / "old")
    shutil.copytree(a_run, here / "runs" / "new")
    path = here / "runs" / "new" / "checkpoint.pt"
    data = torch.load(path, weights_only=True)
    data.pop("integrity")
    if damage == "nan weights":
        next(iter(data["td3"]["actor"].values())).fill_(float("nan"))
    else:
        data["training_agent"]["episode_step"] = 10**6
    torch.save(seal(data), path)
    os.utime(path, (time.time() + 100, time.time() + 100))
    refused([*QUICK, "--resume", "auto", "--out", "runs/next"], here, capsys, "checkpoint runs/new/checkpoint.pt: damaged")
