"""A sweep on Ray against the same runs one after another, and what Ray adds per run.

    python bench/sweep_overhead.py                     # 10 runs, 3 episodes of at most 300 steps each
    python bench/sweep_overhead.py --runs 10 --episodes 3 --steps 300 --cpus 2

Both halves run the identical app.py command lines (seeds 0..runs-1, CALF, point mass, no visual
agents) in one invocation of this script: first one after another as plain child processes, then as
one `app.py sweep` on a fresh local Ray with `--cpus` CPUs (Ray's start-up included). Printed and
saved to bench/results/sweep/sweep_overhead.json and .png:

- sequential: the sum of the runs' wall times;
- sweep: its wall time, and the ratio sweep / sequential (the ideal on 2 free cores is 0.5);
- Ray's overhead per run: (cpus x sweep wall time - the sum of the runs' own wall times inside the
  sweep) / runs, i.e. CPU-slot seconds per run not spent in a run: Ray's start, worker start-up,
  scheduling, the tail where a slot idles, and result collection;
- the slowdown of a run when runs share the machine (their mean time in the sweep over their mean
  time alone): contention for cores, memory bandwidth and other engineers' jobs, not Ray;
- Ray's own cost per task with children that do nothing (`python -c pass`), first round (Ray's
  workers starting) and second, where the machine's load hardly enters;
- the load average before and after each half (other people's work on a shared machine shows here).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/sweep_overhead.py`
from bench import common  # noqa: E402
from bench.common import ROOT  # noqa: E402

RESULTS = common.RESULTS / "sweep"


def run_args(episodes: int, steps: int) -> list[str]:
    return ["--episodes", str(episodes), "--set", f"env.max_steps_per_episode={steps}", "--no-progress"]


def sequential(specs, base: Path) -> list[float]:  # noqa: ANN001
    times = []
    for i, spec in enumerate(specs, 1):
        argv = list(spec.argv)
        argv[argv.index("--out") + 1] = str(base / spec.name)
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, str(ROOT / "app.py"), *argv], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"run {spec.name} failed: {res.stderr.strip().splitlines()[-1:]}")
        print(f"  sequential {i}/{len(specs)}: {times[-1]:.2f} s", flush=True)
    return times


def trivial_tasks(count: int, cpus: int) -> dict:
    """Ray's own cost per task, with runs that do nothing (`python -c pass`), so the machine's load
    hardly enters: the same children directly, then as Ray tasks on a fresh local Ray."""
    import ray

    from sweep.execute import remote_task, start_ray
    from sweep.task import run_process

    tmp = tempfile.mkdtemp(prefix="calf-sweep-trivial-")
    argv = [sys.executable, "-c", "pass"]
    t0 = time.perf_counter()
    direct = [run_process(argv, tmp, f"{tmp}/o{i}", f"{tmp}/e{i}", 1)["seconds"] for i in range(count)]
    direct_wall = time.perf_counter() - t0
    _, start = start_ray(cpus, None)
    try:
        fn = remote_task(1)
        rounds = []
        for _ in range(2):  # the first round also starts the workers
            t0 = time.perf_counter()
            res = ray.get([fn.remote(argv, tmp, f"{tmp}/ro{i}", f"{tmp}/re{i}", 1) for i in range(count)])
            wall = time.perf_counter() - t0
            inside = sum(r["seconds"] for r in res)
            rounds.append({"wall": wall, "overhead_per_task": (cpus * wall - inside) / count})
    finally:
        ray.shutdown()
    return {"tasks": count, "direct_seconds_per_task": direct_wall / count, "child_seconds": sum(direct) / count,
            "ray_start": start, "first_round": rounds[0], "second_round": rounds[1]}


def chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    a1.barh(["sweep on Ray", "one after another"], [result["sweep_seconds"], result["sequential_seconds"]],
            color=["tab:blue", "tab:gray"])
    a1.axvline(result["sequential_seconds"] / result["cpus"], color="k", ls="--", lw=1,
               label=f"sequential / {result['cpus']} (ideal)")
    a1.set_xlabel("wall time (s)")
    a1.set_title(f"{result['runs']} runs: sweep / sequential = {result['ratio']:.2f}")
    a1.legend(fontsize=8)
    a2.bar(["alone", "in the sweep"], [result["mean_run_alone"], result["mean_run_in_sweep"]],
           color=["tab:gray", "tab:blue"])
    a2.set_ylabel("seconds per run")
    a2.set_title(f"Ray: {result['ray_overhead_per_run']:.2f} slot-s per run ({result['ray_overhead_per_run_without_start']:.2f}"
                 f" without its {result['ray_start']:.1f} s start)", fontsize=10)
    fig.suptitle(f"load average before: {result['load_before'][0]:.2f}, after: {result['load_after'][0]:.2f} "
                 "(1-minute)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--steps", type=int, default=300, help="max steps per episode")
    p.add_argument("--cpus", type=int, default=2)
    args = p.parse_args()
    from sweep.grid import expand

    work = Path(tempfile.mkdtemp(prefix="calf-sweep-bench-"))
    specs = expand(work / "sweep", list(range(args.runs)), ["calf"], {}, ["--agents", "0", *run_args(args.episodes,
                                                                                                      args.steps)])
    load_before = os.getloadavg()
    print(f"{args.runs} runs, one after another (load average {load_before[0]:.2f}):", flush=True)
    seq = sequential(specs, work / "sequential")
    load_mid = os.getloadavg()
    print(f"the same {args.runs} runs as one sweep on a local Ray with {args.cpus} CPUs (load average "
          f"{load_mid[0]:.2f}):", flush=True)
    cmd = [sys.executable, str(ROOT / "app.py"), "sweep", "--out", str(work / "sweep"), "--seeds",
           f"0-{args.runs - 1}", "--policies", "calf", "--agents", "0", "--cpus", str(args.cpus), "--no-progress",
           *[a for a in run_args(args.episodes, args.steps) if a != "--no-progress"]]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    sweep_seconds = time.perf_counter() - t0
    load_after = os.getloadavg()
    if res.returncode != 0:
        raise SystemExit(f"sweep failed ({res.returncode}): {res.stderr}")
    ray_start = float(res.stderr.split("Ray started in ")[1].split(" s")[0]) if "Ray started in " in res.stderr \
        else float("nan")
    records = json.loads((work / "sweep" / "sweep.json").read_text())["runs"]
    inside = [r["seconds"] for r in records]
    result = {
        "runs": args.runs, "cpus": args.cpus, "episodes": args.episodes, "max_steps": args.steps,
        "sequential_seconds": sum(seq), "sweep_seconds": sweep_seconds, "ratio": sweep_seconds / sum(seq),
        "ray_start": ray_start,
        "ray_overhead_per_run": (args.cpus * sweep_seconds - sum(inside)) / args.runs,
        "ray_overhead_per_run_without_start": (args.cpus * (sweep_seconds - ray_start) - sum(inside)) / args.runs,
        "mean_run_alone": sum(seq) / len(seq), "mean_run_in_sweep": sum(inside) / len(inside),
        "run_seconds_alone": seq, "run_seconds_in_sweep": inside,
        "load_before": load_before, "load_between": load_mid, "load_after": load_after,
        "command": " ".join(["python bench/sweep_overhead.py", *sys.argv[1:]]),
    }
    print("Ray's own cost per task, with children that do nothing:", flush=True)
    result["trivial"] = trivial_tasks(args.runs, args.cpus)
    result["load_end"] = os.getloadavg()
    common.save_json(RESULTS / "sweep_overhead.json", result)
    chart(result, RESULTS / "sweep_overhead.png")
    print(f"sequential {result['sequential_seconds']:.1f} s, sweep {sweep_seconds:.1f} s (Ray start "
          f"{ray_start:.1f} s): ratio {result['ratio']:.2f}")
    print(f"Ray overhead per run {result['ray_overhead_per_run']:.2f} s "
          f"({result['ray_overhead_per_run_without_start']:.2f} s without Ray's start)")
    print(f"a run alone {result['mean_run_alone']:.2f} s, in the sweep {result['mean_run_in_sweep']:.2f} s "
          f"(x{result['mean_run_in_sweep'] / result['mean_run_alone']:.2f} from sharing the machine)")
    t = result["trivial"]
    print(f"trivial tasks: {t['direct_seconds_per_task']:.3f} s each directly; on Ray "
          f"{t['first_round']['overhead_per_task']:.3f} slot-s per task more in the first round (workers "
          f"starting), {t['second_round']['overhead_per_task']:.3f} in the second")
    print(f"load average (1, 5, 15 min): before {load_before}, between {load_mid}, after {load_after}")
    print(f"written {RESULTS / 'sweep_overhead.json'} and {RESULTS / 'sweep_overhead.png'}")


if __name__ == "__main__":
    main()
