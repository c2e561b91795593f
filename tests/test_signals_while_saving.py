"""Signals never cut a write short: a second Ctrl-C while outputs are written (the first reward
plot's matplotlib import, a periodic checkpoint inside a frame, the final save) is only noted; the
run saves everything and exits 0. SIGHUP stops a run like SIGTERM, unless it was ignored (nohup).
Real signals to this process."""
from __future__ import annotations

import json
import os
import signal

import pytest

import app
from ecs import System
from rl.checkpoint import read_checkpoint

CONFIG = "[env]\nmax_steps_per_episode = 15\n[training]\nplot_every = 1\ncheckpoint_every = 1\n"


SENT = {"first": False}


class SignalAt(System):
    def __init__(self, sig: int = signal.SIGINT, frame: int = 25):
        self.sig, self.frame = sig, frame

    def process(self, world, dt):
        if world.frame == self.frame:
            SENT["first"] = True
            os.kill(os.getpid(), self.sig)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(CONFIG)
    return tmp_path


def run(argv, capsys):
    code = app.main(["--headless", "--agents", "1", "--no-progress", "--config", "c.toml", "--out", "run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _whole(here, steps):
    summary = json.loads((here / "run" / "run_summary.json").read_text())
    assert summary["interrupted"] is True and summary["total_steps"] == steps
    assert read_checkpoint(here / "run" / "checkpoint.pt")["stats"]["total_steps"] == steps
    assert (here / "run" / "rewards.png").exists() and (here / "run" / "calf_log.csv").exists()
    assert not [p for p in (here / "run").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("during,every,frame", [
    ("the first reward plot, in the final save", 1000, 25),
    ("the final checkpoint", 1000, 25),
    ("a periodic checkpoint inside the frame", 1, 29),  # frame 29 ends episode 2: the hook saves
])
def test_a_second_ctrl_c_while_outputs_are_written_is_only_noted(here, capsys, monkeypatch, during, every, frame):
    import runfiles.reward_plot as rp
    import runfiles.run_outputs as ro

    (here / "c.toml").write_text(CONFIG.replace("plot_every = 1", f"plot_every = {every}")
                                 .replace("checkpoint_every = 1", f"checkpoint_every = {every}")
                                 + "[[plugins]]\nsystem = 'tests.test_signals_while_saving:SignalAt'\n"
                                 f"options = {{frame = {frame}}}\n")
    SENT["first"] = False

    def second_signal(real):
        def wrapped(*a, **kw):
            if SENT["first"]:
                os.kill(os.getpid(), signal.SIGINT)  # lands inside the write (where matplotlib is imported)
            return real(*a, **kw)

        return wrapped

    if "plot" in during:
        monkeypatch.setattr(rp.RewardPlot, "__init__", second_signal(rp.RewardPlot.__init__))
    else:
        monkeypatch.setattr(ro, "save_checkpoint", second_signal(ro.save_checkpoint))
    code, out, err = run(["--episodes", "1000"], capsys)
    assert code == 0 and "Traceback" not in err and err == "", err
    assert "[interrupted] (SIGINT)" in out
    _whole(here, frame + 1)  # the first signal's frame finished, then everything was saved


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGXCPU, signal.SIGUSR1, signal.SIGUSR2],
                         ids=lambda s: s.name)
def test_a_closed_terminal_a_cpu_limit_or_a_user_signal_stops_a_run_like_sigterm(sig, here, capsys):
    """SIGHUP, SIGXCPU (ulimit -t), SIGUSR1 and SIGUSR2 would end the run unsaved by default."""
    (here / "c.toml").write_text(CONFIG + "[[plugins]]\nsystem = 'tests.test_signals_while_saving:SignalAt'\n"
                                 f"options = {{sig = {int(sig)}, frame = 20}}\n")
    code = app.main(["--headless", "--agents", "1", "--no-progress", "--config", "c.toml", "--out", "run",
                     "--episodes", "1000"])
    out, err = capsys.readouterr()
    assert code == 0 and f"[interrupted] ({sig.name})" in out, err
    _whole(here, 21)


def test_an_ignored_sighup_stays_ignored():
    from process.stop import StopRequest

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with StopRequest() as stop:
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN  # started under nohup
            os.kill(os.getpid(), signal.SIGHUP)
            assert not stop.requested
            assert signal.getsignal(signal.SIGINT) == stop.handle
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_second_signal_mid_frame_stops_at_once_and_the_exit_code_says_the_checkpoint_is_older(here, capsys):
    (here / "c.toml").write_text(CONFIG + "[[plugins]]\nsystem = 'tests.test_signals_while_saving:SignalAt'\n"
                                 "after = 'ControlSystem'\noptions = {frame = 40}\n"
                                 "[[plugins]]\nsystem = 'tests.test_signals_while_saving:SignalAgain'\n"
                                 "after = 'SignalAt'\noptions = {frame = 40}\n")
    code = app.main(["--headless", "--agents", "1", "--no-progress", "--config", "c.toml", "--out", "run",
                     "--episodes", "1000"])
    out, err = capsys.readouterr()
    assert code == 3 and "Traceback" not in err, err
    assert err.splitlines()[-1] == ("app.py: error: stopped mid-frame by a second signal; the checkpoint is the last "
                                    "periodic one (step 30); the summary, reward plot and CALF log are written")
    assert read_checkpoint(here / "run" / "checkpoint.pt")["stats"]["total_steps"] == 30  # 2 whole episodes


class SignalAgain(SignalAt):
    """A second SIGINT in the same frame, while frames run: that one stops at once."""
