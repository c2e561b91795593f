"""What the time warp buys: simulation steps per second of the live view at several warps, offscreen.

One process, one offscreen app (1280x720, EGL), N visual agents with training on (the defaults of
`python app.py --offscreen --agents N --warp K`). For each warp (a number of steps per frame, or
"auto": as many as keep 20 FPS) a fresh world runs --warmup frames, then --seconds of wall time;
reported: rendered frames per second, simulation steps per second, the training agent's
episodes per minute, and the TD3 updates per simulation step the learner did (of the configured
`training.train_steps_per_frame`; a background learner that cannot keep up skips the rest in the
view, `training.learner_when_behind`). With --learners, each warp runs once per learner setting
(`training.learner`: inline, inside the frame; background, a worker thread). Warps and learners
run in alternating rounds so the machine's load falls on all alike; medians over rounds; the
1-minute load average is recorded.

    python bench/warp_throughput.py                 # prints a table, writes bench/results/warp_throughput.json
    python bench/warp_throughput.py --agents 30 --warps 1 25 100 auto --rounds 2 --learners inline background
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/warp_throughput.py`
from bench import common  # noqa: E402


def measure(app, agents: int, warp: str, seconds: float, warmup: int, seed: int,  # noqa: ANN001
            learner: str = "auto") -> dict:
    from components.time_warp import TimeWarp
    from components.training_stats import TrainingStats
    from rl.background_learner import Learner

    visual = {"agents": agents, "warp_auto": warp == "auto"}
    if warp != "auto":
        visual["warp"] = int(warp)
    cfg = common.config({"visual": visual, "run": {"seed": seed}, "training": {"learner": learner}})
    with common.opened(common.offscreen_world(cfg, app)) as world:
        tw = world.resource(TimeWarp)
        stats = world.resource(TrainingStats)
        lrn = world.resource(Learner)

        def frame() -> None:
            world.steps_per_frame = tw.steps
            t0 = time.perf_counter()
            done = world.step()
            tw.observe(time.perf_counter() - t0, world.last_simulation_ns * 1e-9, done)

        for _ in range(warmup):
            frame()
        load = common.load1()
        f0, s0, e0, d0, k0 = world.frame, world.steps, stats.episodes, lrn.done, lrn.skipped
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            frame()
        wall = time.perf_counter() - t0
        steps = max(1, world.steps - s0)
        return {"warp": warp, "learner": lrn.mode, "fps": (world.frame - f0) / wall,
                "steps_per_s": (world.steps - s0) / wall,
                "episodes_per_min": 60.0 * (stats.episodes - e0) / wall, "final_k": tw.steps,
                "updates_per_step": (lrn.done - d0) / steps, "skipped_per_step": (lrn.skipped - k0) / steps,
                "load": load, "load_after": common.load1()}


def main(argv: list[str] | None = None) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--agents", type=int, default=30)
    ap.add_argument("--warps", nargs="+", default=["1", "10", "25", "100", "auto"])
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--warmup", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--learners", nargs="+", default=["auto"], choices=("auto", "inline", "background"),
                    help="training.learner settings to compare (default: the program's, background in the view)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(common.RESULTS / "warp_throughput.json"))
    args = ap.parse_args(argv)

    app = common.offscreen_app()
    rows = []
    for r in range(args.rounds):
        for warp in common.flip(args.warps, r):
            for learner in common.flip(args.learners, r):
                row = measure(app, args.agents, warp, args.seconds, args.warmup, args.seed, learner)
                row["round"] = r
                rows.append(row)
                print(f"round {r} warp {warp:>5} {row['learner']:<10}: {row['fps']:6.1f} FPS  {row['steps_per_s']:8.0f} "
                      f"steps/s  {row['episodes_per_min']:6.1f} episodes/min  updates/step {row['updates_per_step']:.2f} "
                      f"(K now {row['final_k']}, load {row['load']:.2f})", flush=True)
    print(f"\nN = {args.agents}, offscreen 1280x720, training on; medians over {args.rounds} rounds")
    print(f"{'warp':>6} {'learner':<10} {'FPS':>7} {'steps/s':>9} {'x warp 1':>9} {'episodes/min':>13} {'updates/step':>13}")
    summary = {}
    for learner in sorted({x["learner"] for x in rows}):
        base = np.median([x["steps_per_s"] for x in rows if x["warp"] == args.warps[0] and x["learner"] == learner])
        for warp in args.warps:
            mine = [x for x in rows if x["warp"] == warp and x["learner"] == learner]
            s = common.medians(mine, ("fps", "steps_per_s", "episodes_per_min", "updates_per_step", "skipped_per_step"))
            s["steps_ratio_to_first"] = s["steps_per_s"] / base
            summary[f"{learner}/{warp}"] = s
            print(f"{warp:>6} {learner:<10} {s['fps']:7.1f} {s['steps_per_s']:9.0f} {s['steps_ratio_to_first']:9.1f} "
                  f"{s['episodes_per_min']:13.1f} {s['updates_per_step']:13.2f}")
    loads = [x["load"] for x in rows] + [x["load_after"] for x in rows]
    print(f"load average (1 min): {common.load_span(loads)}")
    common.save_json(args.out, {"rows": rows, "summary": summary, "agents": args.agents, "seconds": args.seconds,
                                "command": common.command_line(__file__, argv)})
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
