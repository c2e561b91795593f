"""What one Ray task does: run one headless `app.py` in a child process and report how it ended.

Only the standard library is used here, and the module is sent to Ray by value, so a worker (on
this machine or a cluster node) needs no calf-ecs import to run it: only Python and app.py at the
same path.

The run is a child process, not a call inside the worker: a run that crashes (a segfault, running
out of memory, an exception) ends that child only, never the worker or the sweep. The child runs
in its own session (a Ctrl-C on the terminal does not reach it directly) and gets SIGTERM if the
worker dies. When the task is cancelled (the sweep was stopped) the child is sent SIGTERM, which
an app.py run answers by saving at the end of its frame and exiting; it is killed if it has not
exited after `grace` seconds.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

#: runs first in the child: ask Linux for SIGTERM when the worker (our parent) dies, then become the
#: run (exec keeps the setting). Done in a launcher rather than a preexec_fn, which can deadlock in a
#: threaded process such as a Ray worker. If the parent is already gone, do not start at all.
LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(143)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, errors="replace") as f:
            return "\n".join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return ""


def _open_log(path: str):  # noqa: ANN202
    """A log file, written fresh: never through a symbolic link, never anything but a regular file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        os.set_blocking(fd, True)
        os.ftruncate(fd, 0)
        return os.fdopen(fd, "w")
    except BaseException:
        os.close(fd)
        raise


def run_process(argv: list[str], cwd: str, stdout_path: str, stderr_path: str, threads: int,
                grace: float = 60.0, stop_path: str | None = None) -> dict:
    """Run `argv` to its end; {'returncode', 'seconds', 'status': ok|failed|interrupted, 'error'}.

    The sweep asks running runs to stop by creating `stop_path` (in its --out folder, which every
    node sees) as well as by cancelling the task: either way the child gets SIGTERM and saves."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)  # numpy's BLAS and torch's intra-op pool: no more threads than CPUs granted
    os.makedirs(os.path.dirname(stdout_path), exist_ok=True)
    start = time.perf_counter()
    with _open_log(stdout_path) as out, _open_log(stderr_path) as err:
        launch = [sys.executable, "-c", LAUNCHER, str(os.getpid()), *argv]
        proc = subprocess.Popen(launch, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        interrupted = False
        try:
            while proc.poll() is None:  # polling, so a cancellation (KeyboardInterrupt) arrives promptly
                if stop_path is not None and os.path.exists(stop_path):
                    raise KeyboardInterrupt
                time.sleep(0.05)
        except KeyboardInterrupt:
            interrupted = True
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    seconds = time.perf_counter() - start
    code = proc.returncode
    if interrupted:
        status = "interrupted"
    else:
        status = "ok" if code == 0 else "failed"
    error = ""
    if status == "failed":
        error = tail(stderr_path, 1) or f"exit code {code}"
        if code < 0:
            error = f"killed by {signal.Signals(-code).name}" + (f" ({error})" if tail(stderr_path, 1) else "")
    return {"returncode": code, "seconds": seconds, "status": status, "error": error}
