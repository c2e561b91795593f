"""Real runs of app.py in background processes, for tests/test_processes.py.

Each run pays a few seconds of start-up (torch, ursina), so the pool starts as soon as pytest has
collected test_processes.py (tests/conftest.py), and those tests run last: the runs go one after
the other on the second core while the rest of the suite runs on the first. A thread starts each
run when the previous one ends and sends each signal run its signal once it has been stepping
for a moment; the tests then only wait for the results.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")

DET_CONFIG = ("[env]\nmax_steps_per_episode = 40\n[td3]\nstart_training_step = 20\nbatch_size = 16\n"
              "[training]\nplot_every = 1\ncheckpoint_every = 2\n"
              # the view's default learner runs beside the frame and is not bit-reproducible; pinned inline
              "learner = \"inline\"\n")
DET_ARGS = ["--config", "det.toml", "--frames", "150", "--agents", "3", "--seed", "9", "--no-progress"]
SIGNAL_ARGS = ["--episodes", "100000", "--agents", "2", "--no-progress", "--profile", "p.json"]
#: a plugin package and a plugin file (with a sibling module) for the run started outside the project
PLUGINS_ELSEWHERE = {
    "nc_mine/__init__.py": "",
    "nc_mine/speed.py": (
        "import numpy as np\nfrom components.agent_table import AgentTable\nfrom components.resources import "
        "ReportExtras\nfrom ecs.system import System\n\n\nclass TopSpeed(System):\n    reads = ('state', "
        "'ReportExtras')\n    writes = ()\n\n    def setup(self, world):\n        self.top = 0.0\n"
        "        world.resource(ReportExtras)[self.name] = lambda: {'top_speed': self.top}\n\n"
        "    def process(self, world, dt):\n        t = world.resource(AgentTable)\n"
        "        self.top = max(self.top, float(np.abs(t.state[:, 1]).max()))\n"),
    "tools/steps_helper.py": "START = 0\n",
    "tools/steps.py": (
        "from components.resources import ReportExtras\nfrom ecs.system import System\nfrom steps_helper import "
        "START\n\n\nclass StepCount(System):\n    reads = ('ReportExtras',)\n    writes = ()\n\n"
        "    def setup(self, world):\n        self.frames = START\n"
        "        world.resource(ReportExtras)[self.name] = lambda: {'frames': self.frames}\n\n"
        "    def process(self, world, dt):\n        self.frames += 1\n"),
}
SIGNAL_AFTER = 1.0  # seconds of stepping (after the run's outputs are open) before the signal
TIMEOUT = 1800.0  # for all runs, one after the other: only a guard against a hang, never reached on a slow machine


def start_xvfb() -> tuple[subprocess.Popen | None, str | None]:
    """A private X display: (process, ':N'), or (None, None) without Xvfb."""
    if shutil.which("Xvfb") is None:
        return None, None
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    os.close(w)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(r, 16)
        if not chunk:
            break
        number += chunk
    os.close(r)
    if not number.strip():
        proc.kill()
        return None, None
    return proc, f":{number.decode().strip()}"


class Run:
    """One app.py process in its own folder (outputs in FOLDER/run), started by `start()`."""

    def __init__(self, folder: Path, args: list[str], env: dict | None = None, sig: signal.Signals | None = None,
                 max_file_bytes: int | None = None, files: dict[str, str] | None = None):
        folder.mkdir(parents=True)
        (folder / "det.toml").write_text(DET_CONFIG)
        for name, text in (files or {}).items():  # more files in the run's folder (plugins, configs)
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        self.folder, self.args, self.env, self.sig = folder, args, env, sig
        self.max_file_bytes = max_file_bytes  # RLIMIT_FSIZE (ulimit -f): writes beyond it fail like a full disk
        self.stdout_path, self.stderr_path = folder / "stdout.txt", folder / "stderr.txt"
        self.proc: subprocess.Popen | None = None
        self.outputs_open_at: float | None = None
        self.sent_at: float | None = None

    def start(self) -> None:
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            # a new session: a Ctrl-C on the terminal running pytest does not reach these runs
            self.proc = subprocess.Popen([sys.executable, APP, *self.args, "--out", "run"], cwd=self.folder,
                                         stdout=out, stderr=err, env=self._environment(),
                                         start_new_session=True, preexec_fn=self._limits)

    def _environment(self) -> dict[str, str]:
        """os.environ with this run's changes (a None value removes the variable)."""
        env = {**os.environ, **(self.env or {})}
        return {k: v for k, v in env.items() if v is not None}

    def _limits(self) -> None:  # in the child, before app.py starts
        if self.sig is not None:  # the signal does what it does by default (not inherited as ignored)
            signal.signal(self.sig, signal.SIG_DFL)
        if self.max_file_bytes is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_FSIZE, (self.max_file_bytes, self.max_file_bytes))

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def tick(self) -> None:
        if self.sig is None or self.sent_at is not None or not self.running:
            return
        if self.outputs_open_at is None:
            if (self.folder / "run" / "config.toml").exists():
                self.outputs_open_at = time.time()
        elif time.time() - self.outputs_open_at >= SIGNAL_AFTER:
            self.proc.send_signal(self.sig)
            self.sent_at = time.time()


class Pool:
    def __init__(self, parallel: int = 1) -> None:
        self.parallel = parallel
        self.base = Path(tempfile.mkdtemp(prefix="calf-ecs-processes-"))
        self.xvfb, display = start_xvfb()
        self.runs = {
            "det_a": Run(self.base / "det_a", ["--headless", *DET_ARGS]),
            "det_b": Run(self.base / "det_b", ["--headless", *DET_ARGS]),
            "det_offscreen": Run(self.base / "det_offscreen", ["--offscreen", *DET_ARGS]),
            "int_headless": Run(self.base / "int_headless", ["--headless", *SIGNAL_ARGS], sig=signal.SIGINT),
            "term_headless": Run(self.base / "term_headless", ["--headless", *SIGNAL_ARGS], sig=signal.SIGTERM),
            # a closed terminal (the run's SIGHUP set to its default first: pytest may run under nohup)
            "hup_headless": Run(self.base / "hup_headless", ["--headless", *SIGNAL_ARGS], sig=signal.SIGHUP),
            "int_offscreen": Run(self.base / "int_offscreen", ["--offscreen", "--screenshot", "s.png", *SIGNAL_ARGS],
                                 sig=signal.SIGINT),
            # files may not grow past 64 KiB: the checkpoint cannot be written, as on a full disk
            "file_size_limit": Run(self.base / "file_size_limit", ["--headless", "--config", "det.toml", "--episodes",
                                   "4", "--agents", "0", "--no-progress"], max_file_bytes=64 * 1024),
        }
        # started from a folder that is not the project's, which holds a plugin package and a plugin file
        self.runs["plugins_elsewhere"] = Run(self.base / "plugins_elsewhere", [
            "--headless", "--frames", "60", "--agents", "2", "--no-progress",
            "--plugin", "nc_mine.speed:TopSpeed:after=PhysicsSystem", "--plugin", "tools/steps.py:StepCount"],
            env={"PYTHONPATH": None}, files=PLUGINS_ELSEWHERE)
        if display is not None:
            self.runs["term_window"] = Run(self.base / "term_window", ["--screenshot", "s.png", *SIGNAL_ARGS],
                                           env={"DISPLAY": display}, sig=signal.SIGTERM)
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="process-runs", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        waiting = list(self.runs.values())
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and (waiting or any(r.running for r in self.runs.values())):
            while waiting and sum(r.running for r in self.runs.values()) < self.parallel:
                waiting.pop(0).start()
            for r in self.runs.values():
                r.tick()
            time.sleep(0.05)
        for r in self.runs.values():
            if r.proc is None:
                continue
            if r.running:
                r.proc.kill()
            r.proc.wait()
        if self.xvfb is not None:
            self.xvfb.terminate()
            self.xvfb.wait(10)
        self.done.set()

    def wait(self) -> dict[str, Run]:
        self.done.wait(TIMEOUT + 30)
        return self.runs

    def close(self) -> None:
        for r in self.runs.values():
            if r.running:
                r.proc.kill()
        self.done.wait(30)
        shutil.rmtree(self.base, ignore_errors=True)
