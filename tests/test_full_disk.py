"""A full disk never crashes a run: every write that fails (torch.save's RuntimeError included) is
one warning and the run goes on; at the end each file that could not be written is one error
line and the exit code is 3 (data lost); no temp file is left behind. Tested on a real full file
system (a tiny tmpfs, when this machine lets us mount one) and with injected failures; a real
process under a file size limit is in tests/test_processes.py."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess

import pytest

import app
from runfiles.calf_log import CalfLog

CONFIG = ("[env]\nmax_steps_per_episode = 20\n[td3]\nstart_training_step = 10\nbatch_size = 8\n"
          "[training]\nplot_every = 1\ncheckpoint_every = 1\n")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 96 KiB tmpfs: config.toml fits, the first reward plot (~40 KiB) and checkpoint soon do not."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.decode().strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_warned_about_the_run_goes_on_and_the_exit_code_says_data_was_lost(tmp_path, tiny_disk,
                                                                                        monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(CONFIG)
    code = app.main(["--headless", "--episodes", "6", "--agents", "1", "--no-progress", "--config", "c.toml",
                     "--out", str(tiny_disk / "run")])
    out, err = capsys.readouterr()
    assert code == 3 and "Traceback" not in err, err
    assert "6 training episodes" in out  # it ran to the end
    warnings = [x for x in err.splitlines() if x.startswith("app.py: warning:")]
    errors = [x for x in err.splitlines() if x.startswith("app.py: error:")]
    assert warnings and errors and len(warnings) + len(errors) == len(err.splitlines())
    assert len({w.split(" in ")[0] for w in warnings}) == len(warnings)  # one warning per kind of file
    assert any(e.startswith("app.py: error: checkpoint in ") for e in errors)
    leftovers = [p.name for p in (tiny_disk / "run").iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers  # no temp file, no working file, no lock


def test_torch_saves_runtime_error_on_a_full_disk_is_a_warning_not_a_crash(tmp_path, monkeypatch, capsys):
    import torch

    real = torch.save

    def full(obj, f, *a, **kw):  # what torch.save raises when the disk fills (not an OSError)
        f.write(b"PK\x03\x04 partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 139264 vs 139152")

    monkeypatch.setattr(torch, "save", full)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(CONFIG)
    code = app.main(["--headless", "--episodes", "4", "--agents", "0", "--no-progress", "--config", "c.toml",
                     "--out", "run"])
    out, err = capsys.readouterr()
    monkeypatch.setattr(torch, "save", real)
    assert code == 3 and "Traceback" not in err and "4 training episodes" in out
    assert err.count("app.py: warning: checkpoint in run: not written (RuntimeError: [enforce fail") == 1
    assert err.splitlines()[-1].startswith("app.py: error: checkpoint in run: not written (RuntimeError")
    assert json.loads((tmp_path / "run" / "run_summary.json").read_text())["episodes"] == 4  # the rest was saved
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["calf_log.csv", "config.toml", "episodes.csv",
                                                                   "eval.csv", "rewards.png", "run_summary.json"]


class FlakyFile:
    """A text file whose writes fail (ENOSPC) while `full` is set, the way a buffered file does:
    part of the data may reach the disk before the failure."""

    def __init__(self, real, state):
        self.real, self.state = real, state

    def write(self, text):
        if self.state["full"]:
            self.real.write(text[: len(text) // 2])  # half a row reaches the disk
            self.real.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.real.write(text)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_the_calf_log_counts_rows_it_could_not_write_resumes_with_whole_rows_and_says_so_at_close(tmp_path):
    log = CalfLog(tmp_path / "calf_log.csv", max_rows=1000, publish_every=0.0)
    state = {"full": False}
    log._file = FlakyFile(log._file, state)
    row = (1, -1.0, -2.0, 0.1, 10.0, True, 0, 0.5, True)
    for step in range(1, 11):
        log.write(step, *row)
    state["full"] = True
    for step in range(11, 16):
        log.write(step, *row)  # the first fails (half a row on disk), the rest are counted
    assert log.error is not None and log.lost == 5
    state["full"] = False
    log.publish()  # the disk has room again: the working file is cut back to whole rows and reopened
    assert log.error is None
    for step in range(16, 21):
        log.write(step, *row)
    with pytest.raises(OSError, match="5 rows lost \\(No space left on device\\)"):
        log.close()
    lines = (tmp_path / "calf_log.csv").read_text().splitlines()
    steps = [int(x.split(",")[0]) for x in lines[1:]]
    assert steps == [*range(1, 11), *range(16, 21)] and all(x.count(",") == 10 for x in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calf_log.csv"]


def test_tensorboard_on_a_full_disk_is_named_cut_to_whole_events_and_the_exit_code_says_so(tmp_path, monkeypatch,
                                                                                          capsys):
    """TensorBoard's events are written in the run's own thread: a write that fails mid-event (the
    disk filled) is a warning, the file is cut back to whole events, later events are written
    again when they can be, and the scalars lost are named at the end (exit code 3)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.summary.writer.record_writer import RecordWriter

    real, calls = RecordWriter.write, {"n": 0}

    def half_then_fail(self, data):
        calls["n"] += 1
        # a full disk for a while: half an event, then ENOSPC (an episode writes about 20 scalars, so the
        # first episode gets through whole, the next three fail, the last ones are written again)
        if 30 <= calls["n"] < 33:
            self._writer.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(RecordWriter, "write", half_then_fail)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(CONFIG)
    code = app.main(["--headless", "--episodes", "6", "--agents", "0", "--no-progress", "--config", "c.toml",
                     "--out", "run", "--tensorboard"])
    out, err = capsys.readouterr()
    assert code == 3 and "Traceback" not in err and "6 training episodes" in out, err
    assert err.count("app.py: warning: TensorBoard log in run: not written (No space left on device)") == 1, err
    lost = [line for line in err.splitlines() if line.startswith("app.py: error: TensorBoard log in run")]
    assert len(lost) == 1 and "scalars lost (No space left on device)" in lost[0], err
    acc = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    acc.Reload()  # every event in the file is whole: it reads to the end
    steps = [e.step for e in acc.Scalars("episode/return")]
    assert 0 < len(steps) < 6 and steps == sorted(steps)
