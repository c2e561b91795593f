"""The performance study: baseline vs optimised over N, offscreen and headless, then docs/PERFORMANCE.md.

    python bench/perf_study.py                  # the sweep (skips runs already done), micro-benchmarks,
                                                # visual regression, then the report
    python bench/perf_study.py --report-only    # regenerate docs/PERFORMANCE.md and its charts from the JSONs
    python bench/perf_study.py --agents 20 --repeats 1 --render offscreen   # a subset (the report uses what exists)
    python bench/perf_study.py --redo           # measure everything again

Every run is a child process (bench/perf_run.py: one Ursina app per process, a clean heap, the
same start-up for both variants) writing bench/results/perf/runs/<render>-<variant>-n<N>-r<k>.json.
For each repeat, N and render mode the two variants run back to back, and which goes first
alternates, so drift on this shared machine hits both. Training is on (the real workload: one
TD3 update per step after 100 warm-up steps), the seed fixed, the warm-up frames excluded.
Before each run it waits (up to QUIET_WAIT s) until other processes use under QUIET_CPU % of the
machine, and records what it saw.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runtime.atomic import atomic_write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "perf"
AGENTS = (3, 5, 10, 20, 30, 100, 300, 1000)
RENDERS = ("offscreen", "headless")
VARIANTS = ("baseline", "optimized")
REPEATS = 3
FRAMES = {"offscreen": 300, "headless": 600}  # measured frames per run, after the warm-up
WARMUP = 150  # > 100: TD3 updates run in every measured frame
SEED = 42
REGRESSION_AGENTS = (20, 300)
QUIET_CPU = 30.0  # % of all cores busy (our own processes idle) below which a run may start
QUIET_WAIT = 240.0  # seconds to wait for that at most


def wait_for_quiet(limit: float = QUIET_CPU, max_wait: float = QUIET_WAIT) -> dict:
    """Before a run: wait until the machine's other work uses under `limit` % of the cores (1 s samples).

    The machine is shared; a run that starts while someone's test suite is rendering measures them
    too. Waiting costs only time, and what was seen is recorded in the run's JSON."""
    import psutil

    start = time.perf_counter()
    seen = []
    while True:
        busy = psutil.cpu_percent(interval=1.0)
        seen.append(busy)
        waited = time.perf_counter() - start
        if busy < limit or waited >= max_wait:
            return {"cpu_busy_before": busy, "waited_seconds": waited, "quiet": busy < limit,
                    "cpu_busy_max_while_waiting": max(seen)}
        time.sleep(2.0)


def run_path(results: Path, render: str, variant: str, n: int, repeat: int) -> Path:
    return results / "runs" / f"{render}-{variant}-n{n:04d}-r{repeat}.json"


def plan(agents, renders, repeats: int) -> list[tuple[int, int, str, str]]:  # noqa: ANN001
    """(repeat, N, render, variant) in run order: the pair's order flips with every (repeat, N, render)."""
    order = []
    k = 0
    for repeat in range(1, repeats + 1):
        for n in agents:
            for render in renders:
                pair = VARIANTS if k % 2 == 0 else VARIANTS[::-1]
                order += [(repeat, n, render, v) for v in pair]
                k += 1
    return order


def run_child(render: str, variant: str, n: int, repeat: int, path: Path, frames: int, warmup: int) -> float:
    """One measured run in a fresh process, once the machine is quiet; returns its wall time (start-up included)."""
    quiet = wait_for_quiet()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="calf-perf-") as tmp:
        cmd = [sys.executable, str(ROOT / "bench" / "perf_run.py"), "--render", render, "--variant", variant,
               "--agents", str(n), "--frames", str(frames), "--warmup", str(warmup), "--seed", str(SEED),
               "--result", str(path), "--out", os.path.join(tmp, "run")]
        res = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if res.returncode != 0 or not path.exists():
        raise RuntimeError(f"{render} {variant} N={n} failed (exit {res.returncode}):\n{res.stderr[-2000:]}")
    data = json.loads(path.read_text())
    data["study"]["repeat"] = repeat
    data["study"]["process_seconds"] = seconds
    data["study"].update(quiet)
    atomic_write_json(path, data)
    return seconds


def sweep(results: Path, agents, renders, repeats: int, redo: bool) -> list[str]:  # noqa: ANN001
    todo = plan(agents, renders, repeats)
    failures = []
    done_seconds = 0.0
    measured = 0
    t0 = time.perf_counter()
    for i, (repeat, n, render, variant) in enumerate(todo, 1):
        path = run_path(results, render, variant, n, repeat)
        label = f"[{i:3d}/{len(todo)}] {render:9s} {variant:9s} N={n:<5d} repeat {repeat}"
        if path.exists() and not redo:
            print(f"{label}: done before, kept", flush=True)
            continue
        try:
            seconds = run_child(render, variant, n, repeat, path, FRAMES[render], WARMUP)
        except RuntimeError as exc:
            print(f"{label}: FAILED\n{exc}", flush=True)
            failures.append(label)
            continue
        done_seconds += seconds
        measured += 1
        frame = json.loads(path.read_text())["frame"]
        left = len(todo) - i
        eta = done_seconds / measured * left / 60
        waited = json.loads(path.read_text())["study"]["waited_seconds"]
        print(f"{label}: {seconds:5.1f} s (waited {waited:3.0f} s), frame median {frame['median_ms']:7.2f} ms "
              f"(elapsed {(time.perf_counter() - t0) / 60:.1f} min, about {eta:.0f} min left)", flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agents", type=int, nargs="+", default=list(AGENTS))
    p.add_argument("--render", choices=RENDERS, nargs="+", default=list(RENDERS))
    p.add_argument("--repeats", type=int, default=REPEATS)
    p.add_argument("--redo", action="store_true", help="measure again even where a result exists")
    p.add_argument("--report-only", action="store_true", help="only regenerate the report from existing JSONs")
    p.add_argument("--skip-extras", action="store_true", help="no micro-benchmarks or visual regression")
    p.add_argument("--results", default=str(RESULTS))
    p.add_argument("--docs", default=str(ROOT / "docs"))
    args = p.parse_args(argv)
    results = Path(args.results)
    failures: list[str] = []
    if not args.report_only:
        started = time.time()
        failures = sweep(results, args.agents, args.render, args.repeats, args.redo)
        if not args.skip_extras:
            if args.redo or not (results / "micro.json").exists():
                print("micro-benchmarks ...", flush=True)
                from bench import micro_perf

                micro_perf.main(["--out", str(results / "micro.json")])
            for n in REGRESSION_AGENTS:
                folder = results / "regression" / f"n{n}"
                if args.redo or not (folder / "regression.json").exists():
                    print(f"visual regression, N = {n} ...", flush=True)
                    subprocess.run([sys.executable, str(ROOT / "bench" / "visual_regression.py"), "--agents", str(n),
                                    "--out", str(folder)], cwd=ROOT, check=False)
        log = results / "sweep_log.json"
        history = json.loads(log.read_text()) if log.exists() else []
        history.append({"started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                        "seconds": time.time() - started, "agents": args.agents, "render": args.render,
                        "repeats": args.repeats, "redo": args.redo, "failures": failures})
        atomic_write_json(log, history)
    from bench.perf_report import write_report

    path = write_report(results, Path(args.docs))
    print(f"written {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
