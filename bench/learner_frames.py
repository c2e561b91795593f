"""The live view's frame with training on: the learner inside the frame against the learner beside it.

One process, one offscreen app (1280x720, EGL). For each N and each learner setting
(`training.learner = inline | background`, the other defaults of `python app.py --offscreen
--agents N`) a fresh world runs --warmup frames (past TD3's first update) and then --frames frames
timed by the profiler. The settings alternate within every round (the order flips each round)
and the Ns alternate between rounds, so the machine's load falls on all of them alike; the ratio
background / inline is taken within each round, then the median over rounds. Recorded per run:
the frame's median and mean, FPS (1000 / median), the per-system medians, the process's CPU share,
the updates per simulation step the learner achieved (its figure against the configured ratio),
its lag and skips, and the 1-minute load average before and after.

    python bench/learner_frames.py                          # N = 20, 1000, 10 000; 3 rounds
    python bench/learner_frames.py --agents 20 --rounds 5 --frames 400
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/learner_frames.py`
from bench import common  # noqa: E402

SETTINGS = ("inline", "background")
TARGETS = {20: ("frame median <= 12 ms", lambda r: r["frame_median_ms"] <= 12.0),
           1000: (">= 30 FPS", lambda r: r["fps_median"] >= 30.0),
           10_000: (">= 10 FPS", lambda r: r["fps_median"] >= 10.0)}


def measure(app, n: int, learner: str, frames: int, warmup: int, seed: int, extra: dict) -> dict:  # noqa: ANN001
    from components.training_stats import TrainingStats
    from rl.background_learner import Learner

    cfg = common.config({"visual": {"agents": n}, "run": {"seed": seed}, "profiler": {"window": frames},
                         "training": {"learner": learner}}, extra)
    with common.opened(common.offscreen_world(cfg, app)) as world:
        world.run(warmup)
        lrn = world.resource(Learner)
        stats = world.resource(TrainingStats)
        done0, granted0, skipped0, steps0, wait0 = lrn.done, lrn.granted, lrn.skipped, world.steps, lrn.waited_s
        m = common.profiled(world, frames)
        rep = m.report
        steps = world.steps - steps0
        return {
            "n": n, "learner": learner, "frame_median_ms": rep["frame"]["median_ms"],
            "frame_mean_ms": rep["frame"]["mean_ms"], "frame_p95_ms": rep["frame"]["p95_ms"],
            "frame_max_ms": rep["frame"]["max_ms"],
            "control_max_ms": rep["systems"].get("ControlSystem", {}).get("max_ms", 0.0),
            "fps_median": 1000.0 / rep["frame"]["median_ms"], "fps_wall": frames / m.wall,
            "systems_median_ms": {k: v["median_ms"] for k, v in rep["systems"].items()},
            "cpu_share": m.cpu / m.wall, "updates_per_step": (lrn.done - done0) / steps if steps else 0.0,
            "granted_per_step": (lrn.granted - granted0) / steps if steps else 0.0,
            "skipped_per_step": (lrn.skipped - skipped0) / steps if steps else 0.0,
            "configured_per_step": cfg.training.train_steps_per_frame, "lag_end": lrn.lag,
            "waited_s": lrn.waited_s - wait0, "batch": lrn.batch_size, "phase": stats.phase,
            "load_before": m.load_before, "load_after": m.load_after,
        }


def main(argv: list[str] | None = None) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--agents", type=int, nargs="+", default=[20, 1000, 10_000])
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--set", action="append", default=[], help="section.key=value for every run (TOML value)")
    ap.add_argument("--out", default=str(common.RESULTS / "learner_frames.json"))
    args = ap.parse_args(argv)

    import tomllib

    extra: dict = {}
    for item in args.set:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value
        extra.setdefault(section, {})[name] = parsed
    app = common.offscreen_app()
    rows = []
    for r in range(args.rounds):
        for n in common.flip(args.agents, r):
            for learner in common.flip(args.settings, r):
                row = measure(app, n, learner, args.frames, args.warmup, args.seed, extra)
                row["round"] = r
                rows.append(row)
                print(f"round {r} N = {n:>6} {learner:<10}: frame median {row['frame_median_ms']:7.2f} ms "
                      f"({row['fps_median']:5.1f} FPS), Training {row['systems_median_ms'].get('TrainingSystem', 0):.2f} "
                      f"ms, Render {row['systems_median_ms'].get('RenderSystem', 0):.2f} ms, mean {row['frame_mean_ms']:.2f} / "
                      f"p95 {row['frame_p95_ms']:.2f} / max {row['frame_max_ms']:.2f} ms (Control max "
                      f"{row['control_max_ms']:.2f}), updates/step "
                      f"{row['updates_per_step']:.2f} (skipped {row['skipped_per_step']:.2f}), CPU "
                      f"{row['cpu_share']:.2f} cores, load {row['load_before']:.2f}", flush=True)
    print(f"\nOffscreen 1280x720, training on; medians over {args.rounds} rounds")
    print(common.md_head("N", "learner", "frame median ms", "FPS", "Training ms", "Render ms",
                         "updates / step (of configured)", "CPU cores", "background / inline", "target"))
    summary: dict = {}
    for n in args.agents:
        for learner in args.settings:
            mine = [x for x in rows if x["n"] == n and x["learner"] == learner]
            s = common.medians(mine, ("frame_median_ms", "fps_median", "cpu_share", "updates_per_step",
                                      "skipped_per_step"))
            s["training_ms"] = float(np.median([x["systems_median_ms"].get("TrainingSystem", 0) for x in mine]))
            s["render_ms"] = float(np.median([x["systems_median_ms"].get("RenderSystem", 0) for x in mine]))
            s["frame_range_ms"] = [min(x["frame_median_ms"] for x in mine), max(x["frame_median_ms"] for x in mine)]
            ratio = ""
            if learner == "background" and "inline" in args.settings:
                q = common.round_ratios(mine, [i for i in rows if i["n"] == n and i["learner"] == "inline"],
                                        "frame_median_ms")
                s["ratio_to_inline"] = float(np.median(q))
                ratio = f"{s['ratio_to_inline']:.2f} [{min(q):.2f}-{max(q):.2f}]"
            target = ""
            if n in TARGETS:
                what, ok = TARGETS[n]
                target = f"{what}: {'met' if ok(s) else 'missed'}"
            summary[f"{n}/{learner}"] = s
            print(common.md_row(n, learner, f"{s['frame_median_ms']:.2f} ({s['frame_range_ms'][0]:.2f}-"
                                f"{s['frame_range_ms'][1]:.2f})", f"{s['fps_median']:.1f}", f"{s['training_ms']:.2f}",
                                f"{s['render_ms']:.2f}",
                                f"{s['updates_per_step']:.2f} (of {mine[0]['configured_per_step']})",
                                f"{s['cpu_share']:.2f}", ratio, target))
    loads = [x["load_before"] for x in rows] + [x["load_after"] for x in rows]
    print(f"load average (1 min): {common.load_span(loads)}")
    common.save_json(args.out, {"rows": rows, "summary": summary, "machine": common.machine()["machine"],
                                "cores": os.cpu_count(), "command": common.command_line(__file__, argv)})
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
