"""Run a sweep's runs as Ray tasks: a local Ray on this machine's cores by default, or a cluster.

Each task asks Ray for `threads` CPUs and runs one app.py child process limited to that many
threads (sweep.task), so the tasks Ray runs at once never ask for more cores than it was given.
The driver waits on the tasks with a progress bar over runs; a run that fails is named (with
the last line of its stderr and where the rest is) and the others go on.

The first Ctrl-C or SIGTERM stops the sweep: queued runs are cancelled, running ones are asked
to stop (their app.py saves at the end of its frame and exits), and the sweep waits for them;
runs that had finished stay finished and are skipped when the same sweep runs again. A second
signal stops at once (the runs' children then get SIGTERM when their workers end).
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from attrs import define, field
from tqdm import tqdm

from cli.arguments import UsageError
from process.messages import one_line
from process.program import prog
from process.stop import StopRequest
from sweep import task as task_module
from sweep.grid import RunSpec
from sweep.state import mark_finished, run_finished_cleanly, write_sweep_file

#: seconds a cancelled run may take to save and exit before its task is ended by force
CANCEL_WAIT = 90.0
#: the logger of Ray's notice that a new local cluster uses token authentication
RAY_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


class _QuietTokenNotice(logging.Filter):
    """Drops Ray's "Token authentication is enabled for this Ray cluster" notice (only that one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "token authentication is enabled" not in record.getMessage().lower()


#: created in --out when the sweep stops: every running task SIGTERMs its run (runs save and exit)
STOP_FILE = ".sweep-stop"


@define
class SweepOutcome:
    records: dict[str, dict] = field(factory=dict)  # run name -> status record (as in sweep.json)
    interrupted: bool = False
    ray_start_seconds: float = 0.0  # ray.init (0 when joining a Ray that was already up)
    wall_seconds: float = 0.0  # from the first task submitted to the last one done

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records.values())


#: seconds to reach the HOST:PORT of --address (name lookup and a TCP connection), and to join it
ADDRESS_TIMEOUT = 5.0
JOIN_TIMEOUT = 30.0


def check_address(address: str, timeout: float = ADDRESS_TIMEOUT) -> None:
    """--address must be `auto` or HOST:PORT (optionally ray://HOST:PORT) where something answers,
    found within `timeout` seconds (a name lookup that hangs counts as no answer); a UsageError says why."""
    if address == "auto":
        return
    text = address.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"--address {address}: expected HOST:PORT with a port in 1..65535 "
                         "(e.g. 10.0.0.5:6379), or auto")
    result: list = []

    def connect() -> None:
        try:
            socket.create_connection((host, int(port)), timeout=timeout).close()
            result.append(None)
        except OSError as exc:
            result.append(exc.strerror or str(exc) or type(exc).__name__)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout + 1.0)
    if not result:
        raise UsageError(f"--address {address}: no answer within {timeout:.0f} s; is a Ray cluster running there?")
    if result[0] is not None:
        raise UsageError(f"--address {address}: no Ray cluster answers there ({result[0]})")


def _give_up(address: str, stderr_fd: int) -> None:
    """ray.init has not joined the cluster in time (something answers at the port, but not Ray):
    nothing has been written yet, so the sweep ends here, as bad input, in one line."""
    line = (f"{prog()} sweep: error: --address {one_line(address)}: could not join a Ray cluster there within "
            f"{JOIN_TIMEOUT:.0f} s (is it a Ray head node's address?)\n")
    try:
        os.write(stderr_fd, line.encode("utf-8", "replace"))
    finally:
        os._exit(2)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[int]:
    """Ray's C++ core writes its connection retries to stderr (several lines a try) while it joins a
    cluster: hold them back, so a refusal stays one line. Yields the real stderr's descriptor."""
    try:
        sys.stderr.flush()
        real = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield 2
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield real
        finally:
            os.dup2(real, 2)
            os.close(real)


def start_ray(cpus: int | None, address: str | None) -> tuple[bool, float]:
    """Start a local Ray with `cpus` CPUs, or join the cluster at `address`; reuse one already up.
    Returns (whether we started it and must shut it down, seconds it took). An address where no Ray
    answers is a UsageError within seconds (bounded by ADDRESS_TIMEOUT and JOIN_TIMEOUT)."""
    import ray

    if ray.is_initialized():
        return False, 0.0
    t0 = time.perf_counter()
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    if address:
        check_address(address)
        with _quiet_stderr() as stderr_fd:
            watchdog = threading.Timer(JOIN_TIMEOUT, _give_up, args=(address, stderr_fd))
            watchdog.daemon = True
            watchdog.start()
            try:
                ray.init(address=address, **kwargs)
            except Exception as exc:  # noqa: BLE001 - ConnectionError, a version mismatch, ...
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise UsageError(f"--address {address}: cannot join the Ray cluster ({reason[:300]})") from None
            finally:
                watchdog.cancel()
    else:
        # a cluster of our own on this machine, with Ray's default token authentication (a token in
        # ~/.ray): Ray says so in a warning on every start, which tells a sweep's user nothing
        notice = logging.getLogger(RAY_TOKEN_LOGGER)
        quiet = _QuietTokenNotice()
        notice.addFilter(quiet)
        try:
            ray.init(num_cpus=cpus or os.cpu_count() or 1, **kwargs)
        finally:
            notice.removeFilter(quiet)
    return True, time.perf_counter() - t0


def remote_task(threads: int):  # noqa: ANN201
    """The Ray remote function for one run (sweep.task travels by value: workers need no calf-ecs)."""
    import cloudpickle
    import ray

    cloudpickle.register_pickle_by_value(task_module)
    return ray.remote(num_cpus=threads, max_retries=0)(task_module.run_process)


def _record(spec: RunSpec, status: str, **extra) -> dict:
    return {"name": spec.name, "group": spec.group, "seed": spec.seed, "folder": str(spec.folder),
            "status": status, **extra}


def run_sweep(specs: list[RunSpec], skipped: list[RunSpec], out: Path, command: list[str], *, threads: int = 1,
              progress: bool = True, log=print) -> SweepOutcome:  # noqa: ANN001
    """Submit every spec as a Ray task (Ray must be started) and wait for all; never raises for a run."""
    import ray

    outcome = SweepOutcome({s.name: _record(s, "skipped") for s in skipped})
    outcome.records.update({s.name: _record(s, "pending") for s in specs})
    logs = out / "logs"
    stop_file = out / STOP_FILE
    stop_file.unlink(missing_ok=True)  # left by a stopped sweep before
    write_sweep_file(out, command, outcome.records)
    fn = remote_task(threads)
    start = time.perf_counter()
    pending = {}
    for spec in specs:
        stem = stem_of(logs, spec)
        ref = fn.remote(spec.command(), os.getcwd(), stem + ".stdout.txt", stem + ".stderr.txt", threads,
                        stop_path=os.path.abspath(stop_file))
        pending[ref] = spec
    bar = tqdm(total=len(specs) + len(skipped), initial=len(skipped), unit="run", disable=not progress,
               dynamic_ncols=True, file=sys.stderr)
    stop_wait_until = None
    with StopRequest() as stop:
        try:
            while pending:
                if stop.requested and stop_wait_until is None:
                    outcome.interrupted = True
                    bar.write(f"sweep: stopping ({stop.signal_name}): {len(pending)} runs not finished are "
                              "cancelled; finished runs are kept (run the same command again to resume)", file=sys.stderr)
                    stop_file.touch()  # running tasks see it and SIGTERM their runs (a cancel may not reach them)
                    for ref in pending:
                        ray.cancel(ref)
                    stop_wait_until = time.perf_counter() + CANCEL_WAIT
                if stop_wait_until is not None and time.perf_counter() > stop_wait_until:
                    break
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for ref in done:
                    spec = pending.pop(ref)
                    outcome.records[spec.name] = rec = _finish(spec, ref, stem_of(logs, spec))
                    if rec["status"] == "ok":
                        mark_finished(spec, rec)
                    elif rec["status"] == "failed":
                        bar.write(f"sweep: run {spec.name} failed: {rec['error']} (log: {rec['stderr']})", file=sys.stderr)
                    write_sweep_file(out, command, outcome.records)
                    bar.update(1)
                    bar.set_postfix_str(_postfix(outcome), refresh=False)
        except KeyboardInterrupt:  # a second signal: stop waiting now
            outcome.interrupted = True
        finally:
            bar.close()
            for ref in pending:
                ray.cancel(ref, force=True)
    for spec in pending.values():
        outcome.records[spec.name]["status"] = "interrupted"
    stop_file.unlink(missing_ok=True)
    outcome.wall_seconds = time.perf_counter() - start
    write_sweep_file(out, command, outcome.records)
    return outcome


def stem_of(logs: Path, spec: RunSpec) -> str:
    return str(logs / spec.name.replace("/", "__"))


def _finish(spec: RunSpec, ref, stem: str) -> dict:  # noqa: ANN001
    import ray
    from ray.exceptions import RayError, TaskCancelledError

    try:
        res = ray.get(ref)
    except TaskCancelledError:
        return _record(spec, "interrupted", seconds=None, returncode=None, error="cancelled",
                       stderr=stem + ".stderr.txt")
    except RayError as exc:  # the worker itself died (killed, out of memory)
        return _record(spec, "failed", seconds=None, returncode=None,
                       error=f"Ray task failed: {str(exc).strip().splitlines()[0]}", stderr=stem + ".stderr.txt")
    status, error = res["status"], res["error"]
    if status == "ok":  # exit code 0 is not enough: the run must say it finished
        problem = run_finished_cleanly(spec)
        if problem is not None:
            status, error = "failed", problem
    return _record(spec, status, seconds=res["seconds"], returncode=res["returncode"],
                   error=error, stderr=stem + ".stderr.txt")


def _postfix(outcome: SweepOutcome) -> str:
    return (f"ok {outcome.count('ok')} failed {outcome.count('failed')} skipped {outcome.count('skipped')}")
