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
machine; each run records the CPU share other processes took during its frame loop, and a pair whose
two runs saw shares more than UNEVEN_MAX apart (contention that would bias their ratio) is measured
again, up to ATTEMPTS times, keeping the most even attempt.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/perf_study.py`
from bench import common  # noqa: E402
from bench.common import ROOT  # noqa: E402

RESULTS = common.RESULTS / "perf"
AGENTS = (3, 5, 10, 20, 30, 100, 300, 1000)
RENDERS = ("offscreen", "headless")
VARIANTS = ("baseline", "optimized")
REPEATS = 3
FRAMES = {"offscreen": 300, "headless": 600}  # measured frames per run, after the warm-up
WARMUP = 150  # > 100: TD3 updates run in every measured frame
SEED = 42
REGRESSION_AGENTS = (20, 300)
QUIET_CPU = 30.0  # % of all cores busy (our own processes idle) below which a run may start
QUIET_WAIT = 30.0  # seconds to wait for that at most (a long job of someone else's will not end sooner)
UNEVEN_MAX = 0.15  # a pair is measured again if other processes took shares of the cores this much apart
ATTEMPTS = 3  # measurements of a pair at most (the most even one is kept)


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
    """(repeat, N, render, variant) in run order. Which variant of a pair goes first flips from one N to
    the next and from one repeat to the next, within each render mode."""
    order = []
    for repeat in range(1, repeats + 1):
        for i, n in enumerate(agents):
            for j, render in enumerate(renders):
                pair = VARIANTS if (repeat + i + j) % 2 == 0 else VARIANTS[::-1]
                order += [(repeat, n, render, v) for v in pair]
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
    common.save_json(path, data)
    return seconds


def pairs(agents, renders, repeats: int) -> list[tuple[int, int, str, tuple[str, str]]]:  # noqa: ANN001
    """(repeat, N, render, variant order): the two variants back to back, the order flipping pair by pair."""
    out = []
    plan_ = plan(agents, renders, repeats)
    for k in range(0, len(plan_), 2):
        (repeat, n, render, first), (_, _, _, second) = plan_[k], plan_[k + 1]
        out.append((repeat, n, render, (first, second)))
    return out


def sweep(results: Path, agents, renders, repeats: int, redo: bool) -> list[str]:  # noqa: ANN001
    todo = pairs(agents, renders, repeats)
    failures = []
    done_seconds, measured = 0.0, 0
    t0 = time.perf_counter()
    for i, (repeat, n, render, order) in enumerate(todo, 1):
        paths = {v: run_path(results, render, v, n, repeat) for v in order}
        label = f"[{i:2d}/{len(todo)}] {render:9s} N={n:<5d} repeat {repeat}"
        if all(p.exists() for p in paths.values()) and not redo:
            print(f"{label}: done before, kept", flush=True)
            continue
        best = None  # (unevenness, attempt, {variant: json}) of the most even attempt so far
        for attempt in range(1, ATTEMPTS + 1):
            try:
                seconds = {v: run_child(render, v, n, repeat, paths[v], FRAMES[render], WARMUP) for v in order}
            except RuntimeError as exc:
                print(f"{label}: FAILED\n{exc}", flush=True)
                failures.append(label)
                break
            studies = {v: json.loads(paths[v].read_text()) for v in order}
            others = {v: d["study"]["others_share"] for v, d in studies.items()}
            uneven = abs(others[order[0]] - others[order[1]])
            done_seconds += sum(seconds.values())
            measured += 2
            cells = ", ".join(f"{v} {studies[v]['frame']['median_ms']:7.2f} ms (others {others[v]:4.0%}, "
                              f"waited {studies[v]['study']['waited_seconds']:3.0f} s)" for v in order)
            even = uneven <= UNEVEN_MAX
            print(f"{label} attempt {attempt}: {cells}{'' if even else ' -> uneven, again'}", flush=True)
            if best is None or uneven < best[0]:
                best = (uneven, attempt, studies)
            if even:
                break
        if best is not None:
            for v, d in best[2].items():
                d["study"]["attempt"] = best[1]
                d["study"]["attempts"] = attempt
                common.save_json(paths[v], d)
        left = 2 * (len(todo) - i)
        print(f"    elapsed {(time.perf_counter() - t0) / 60:.1f} min, about "
              f"{done_seconds / max(measured, 1) * left / 60:.0f} min left", flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__)
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
        common.save_json(log, history)
    from bench.perf_report import ReportRefused, write_report

    try:
        path = write_report(results, Path(args.docs))
    except ReportRefused as exc:
        if args.report_only:
            print(f"perf_study.py: error: {exc}", file=sys.stderr)
            return 2
        print(f"perf_study.py: the report was not written: {exc}", file=sys.stderr)  # the runs are kept
        return 1 if failures else 0
    print(f"written {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
