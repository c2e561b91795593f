"""TD3 update time and headless training speed, and the choice of torch's thread count.

1. One TD3 update (batch td3.batch_size unless --batch, 2x64 networks, point mass shapes) timed one by one: median and
   p95 over many updates, for torch threads 1 and 2, in alternating blocks within one process
   (so machine noise hits both alike), on an idle machine and with a competing busy process
   (standing in for the renderer, which needs a core of these two).
2. Headless training steps per second (point mass, one training agent, training running, the
   profiler on) with per-system medians, for threads 1 and 2.
3. Update time against the batch (--batches, default 64 to 16384), threads 1 and 2, in alternating
   blocks: what a larger batch costs per update and per transition sampled (the batch that grows
   with the learners, td3.batch_per_learner).
4. Headless training steps per second with the learner inline and in the background (a worker
   thread beside the simulation; training.learner), one learner and 64 (--agents 63).

    python bench/td3_update.py          # prints tables, writes bench/results/td3_update.json
    python bench/td3_update.py --only batches --batches 256 1024 4096
"""
from __future__ import annotations

import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/td3_update.py`
from bench import common  # noqa: E402
from config import build_config  # noqa: E402
from rl.networks import build_networks  # noqa: E402
from rl.replay import ReplayBuffer  # noqa: E402
from rl.td3 import TD3  # noqa: E402


def _spin(stop) -> None:  # noqa: ANN001
    x = 0
    while not stop.is_set():
        x += 1


def make_learner(hidden: int = 64, batch: int = 64) -> tuple[TD3, ReplayBuffer]:
    nets = build_networks(2, 1, np.array([5.0]), hidden=hidden, seed=0)
    td3 = TD3(nets, action_high=np.array([5.0]))
    rb = ReplayBuffer(2, 1, 100_000)
    rng = np.random.default_rng(0)
    n = 20_000
    s = rng.uniform(-2, 2, (n, 2))
    rb.add_batch(s, rng.uniform(-5, 5, (n, 1)), -10 * np.sqrt((s * s).sum(1)), s + 0.01 * rng.normal(size=s.shape),
                 rng.random(n) < 0.01)
    for _ in range(300):  # warm-up: Adam state, allocator, caches
        td3.update(rb, batch)
    return td3, rb


def time_updates(threads_list: list[int], blocks: int, per_block: int, batch: int) -> dict[int, np.ndarray]:
    learners = {t: make_learner(batch=batch) for t in threads_list}
    samples: dict[int, list[float]] = {t: [] for t in threads_list}
    for b in range(blocks):
        for t in common.flip(threads_list, b):
            torch.set_num_threads(t)
            td3, rb = learners[t]
            for _ in range(per_block):
                t0 = time.perf_counter_ns()
                td3.update(rb, batch)
                samples[t].append((time.perf_counter_ns() - t0) / 1e6)
    return {t: np.array(v) for t, v in samples.items()}


def batch_scan(threads_list: list[int], batches: list[int], rounds: int, seconds: float) -> dict:
    """Median update time per (threads, batch): each round runs every pair for about `seconds`."""
    learners = {b: make_learner(batch=b) for b in batches}
    samples: dict[tuple[int, int], list[float]] = {(t, b): [] for t in threads_list for b in batches}
    for r in range(rounds):
        for t in common.flip(threads_list, r):
            torch.set_num_threads(t)
            for b in common.flip(batches, r):
                td3, rb = learners[b]
                end = time.perf_counter() + seconds
                while time.perf_counter() < end:
                    t0 = time.perf_counter_ns()
                    td3.update(rb, b)
                    samples[(t, b)].append((time.perf_counter_ns() - t0) / 1e6)
    torch.set_num_threads(1)
    return {f"{t}/{b}": {"threads": t, "batch": b, "median_ms": float(np.median(v)),
                         "p95_ms": float(np.percentile(v, 95)), "n": len(v),
                         "us_per_transition": 1000.0 * float(np.median(v)) / b} for (t, b), v in samples.items()}


def learner_speed(learner: str, agents: int, frames: int) -> dict:
    """Headless steps/s with the learner inline or in the background (after the warm-up)."""
    from components.training_stats import TrainingStats
    from rl.background_learner import Learner

    cfg = common.config({"visual": {"agents": agents}, "profiler": {"window": frames}, "training": {"learner": learner}},
                        train_preset="quick")
    with common.opened(common.headless_world(cfg)) as world:
        world.run(400)
        lrn = world.resource(Learner)
        d0, s0, w0 = lrn.done, world.steps, lrn.waited_s
        c0, t0 = time.process_time(), time.perf_counter()
        world.run(frames)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        with lrn.paused():
            done = lrn.done - d0
        return {"learner": learner, "agents": agents, "steps_per_second": (world.steps - s0) / secs,
                "updates_per_second": done / secs, "cpu_cores": cpu / secs, "waited_share": (lrn.waited_s - w0) / secs,
                "phase": world.resource(TrainingStats).phase}


def training_speed(threads: int, frames: int) -> dict:
    torch.set_num_threads(threads)
    cfg = common.config({"visual": {"agents": 0}, "profiler": {"window": frames}, "td3": {"torch_threads": threads}},
                        train_preset="quick")
    world = common.headless_world(cfg)
    m = common.profiled(world, frames, warmup=400)  # past the warm-up: TD3 updates every frame
    world.shutdown()
    return {"threads": threads, "steps_per_second": frames / m.wall, "frame_median_ms": m.report["frame"]["median_ms"],
            "systems_median_ms": {k: round(v["median_ms"], 4) for k, v in m.report["systems"].items()}}


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--blocks", type=int, default=20)
    p.add_argument("--per-block", type=int, default=250)
    p.add_argument("--batch", type=int, default=build_config().td3.batch_size,
                   help="minibatch of the timed updates (default: td3.batch_size)")
    p.add_argument("--frames", type=int, default=4000)
    p.add_argument("--batches", type=int, nargs="+", default=[64, 256, 512, 1024, 2048, 4096, 8192, 16384])
    p.add_argument("--scan-rounds", type=int, default=4)
    p.add_argument("--scan-seconds", type=float, default=1.0, help="per (threads, batch) and round")
    p.add_argument("--only", choices=("threads", "batches", "learner"), help="run one part (default: all)")
    p.add_argument("--out", default=str(common.RESULTS / "td3_update.json"))
    args = p.parse_args()
    threads_list = [1, 2]
    out: dict = {"machine": common.machine()["machine"], "cores": mp.cpu_count(), "torch": torch.__version__,
                 "batch": args.batch, "hidden": 64, "load_start": common.load1()}
    if args.only in (None, "batches"):
        print("update time against the batch ...", file=sys.stderr, flush=True)
        out["batches"] = batch_scan(threads_list, args.batches, args.scan_rounds, args.scan_seconds)
        print(f"\nTD3 update against the batch (2x64 networks; medians; load {common.load1():.2f})")
        print(common.md_head("batch", *(f"{t} thread{'s' if t > 1 else ''}: ms (us per transition)"
                                        for t in threads_list)))
        for b in args.batches:
            cells = [out["batches"][f"{t}/{b}"] for t in threads_list]
            print(common.md_row(b, *(f"{c['median_ms']:.2f} ({c['us_per_transition']:.2f})" for c in cells)))
    if args.only in (None, "learner"):
        print("headless steps/s, learner inline and background ...", file=sys.stderr, flush=True)
        rows = []
        for r in range(2):
            for agents in (0, 63):
                for learner in common.flip(("inline", "background"), r):
                    rows.append(dict(learner_speed(learner, agents, args.frames // 4), round=r))
        out["learner"] = rows
        print(f"\nHeadless training, quick preset, 2 updates of {args.batch} per step (medians of 2 rounds)")
        print(common.md_head("learners", "learner", "steps/s", "updates/s", "CPU cores",
                             "share of time waiting for the learner"))
        for agents in (0, 63):
            for learner in ("inline", "background"):
                mine = [x for x in rows if x["agents"] == agents and x["learner"] == learner]
                med = common.medians(mine, ("steps_per_second", "updates_per_second", "cpu_cores", "waited_share"))
                print(common.md_row(agents + 1, learner, f"{med['steps_per_second']:.0f}",
                                    f"{med['updates_per_second']:.0f}", f"{med['cpu_cores']:.2f}",
                                    f"{med['waited_share']:.0%}"))
    if args.only is not None:
        out["load_end"] = common.load1()
        common.save_json(args.out.replace(".json", f"_{args.only}.json"), out)
        return

    def summarise(samples: dict[int, np.ndarray]) -> dict:
        return {str(t): {"median_ms": float(np.median(v)), "p95_ms": float(np.percentile(v, 95)),
                         "mean_ms": float(v.mean()), "n": int(v.size)} for t, v in samples.items()}

    print("TD3 update, idle machine ...", file=sys.stderr, flush=True)
    out["update_idle"] = summarise(time_updates(threads_list, args.blocks, args.per_block, args.batch))
    print("TD3 update, one competing busy process ...", file=sys.stderr, flush=True)
    stop = mp.Event()
    hog = mp.Process(target=_spin, args=(stop,), daemon=True)
    hog.start()
    try:
        out["update_contended"] = summarise(time_updates(threads_list, args.blocks, args.per_block, args.batch))
    finally:
        stop.set()
        hog.join()
    print("headless training speed ...", file=sys.stderr, flush=True)
    out["training"] = [training_speed(t, args.frames) for t in threads_list]

    print(f"\nTD3 update (batch {args.batch}, 2x64, {args.blocks} x {args.per_block} updates per setting)")
    print(common.md_head("torch threads", "idle median ms", "idle p95 ms", "contended median ms", "contended p95 ms"))
    for t in threads_list:
        i, c = out["update_idle"][str(t)], out["update_contended"][str(t)]
        print(common.md_row(t, f"{i['median_ms']:.3f}", f"{i['p95_ms']:.3f}", f"{c['median_ms']:.3f}",
                            f"{c['p95_ms']:.3f}"))
    cfg = build_config(train_preset="quick")
    print(f"\nHeadless training (point mass, 1 training agent, {cfg.training.train_steps_per_frame} TD3 updates of "
          f"{cfg.td3.batch_size} per step)")
    names = list(out["training"][0]["systems_median_ms"])
    print(common.md_head("torch threads", "steps/s", "frame median ms", *names))
    for r in out["training"]:
        print(common.md_row(r["threads"], f"{r['steps_per_second']:.0f}", f"{r['frame_median_ms']:.3f}",
                            *(f"{r['systems_median_ms'][k]:.3f}" for k in names)))
    common.save_json(args.out, out)
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    main()
