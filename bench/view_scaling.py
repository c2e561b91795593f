"""The live view at N = 30, 1000 and 10 000 agents in one run: offscreen 1280x720 FPS with training on.

One process, one offscreen app (EGL); each N gets a fresh world with the defaults of
`python app.py --offscreen --agents N` (the CALF filter for every agent, TD3 training the
training agent, the trail level of detail and the point markers switching on by themselves),
--warmup frames (past TD3's first update), then --frames frames timed by the profiler. The Ns
run in alternating rounds (30, 1000, 10 000, then backwards), so load from other processes
falls on all of them alike; the ratio to N = 30 is taken within each round, then the median.
The 1-minute load average is recorded around every measurement: on a shared machine the
absolute FPS moves with it, the ratios much less.

    python bench/view_scaling.py                       # prints a table, writes bench/results/view_scaling.json
    python bench/view_scaling.py --rounds 3 --frames 300 --chart docs/view_scaling.png
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {1000: 30.0, 10_000: 10.0}  # FPS the issue asks for


def measure(app, n: int, frames: int, warmup: int, seed: int, trail_lod: bool = True) -> dict:  # noqa: ANN001
    from components.agent_table import AgentTable
    from components.training_stats import TrainingStats
    from config import build_config
    from runtime.rendered import build_rendered_world

    cfg = build_config(overrides={"visual": {"agents": n, "trail_lod": trail_lod}, "run": {"seed": seed},
                                  "profiler": {"window": frames}})
    world = build_rendered_world(cfg, app, "offscreen")
    try:
        prof = world.system("ProfilerSystem")
        world.run(warmup)
        prof.reset()
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        world.run(frames)
        wall = time.perf_counter() - t0
        load_after = os.getloadavg()[0]
        rep = prof.report()
        rs = world.system("RenderSystem")
        stats = world.resource(TrainingStats)
        return {
            "n": n, "rows": world.resource(AgentTable).n, "frame_median_ms": rep["frame"]["median_ms"],
            "frame_mean_ms": rep["frame"]["mean_ms"], "fps_median": 1000.0 / rep["frame"]["median_ms"],
            "fps_wall": frames / wall, "systems_median_ms": {k: v["median_ms"] for k, v in rep["systems"].items()},
            "draw_calls_per_frame": rep["counters"].get("draw_calls", {}).get("per_frame"),
            "train_updates_per_frame": rep["counters"].get("train_updates", {}).get("per_frame"),
            "trail_lod": rs.lod_active, "trail_stride": rs.lod.stride, "trail_points_drawn": rs.lod.points,
            "point_markers": rs.markers.points_mode, "phase": stats.phase,
            "load_before": load_before, "load_after": load_after,
            "cpu_percent_run": rep["process"]["cpu_percent_run"],
        }
    finally:
        world.shutdown()


def chart(summary: dict, rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted(summary)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for r in rows:
        ax.scatter(r["n"], r["fps_median"], color="0.6", s=12, zorder=2)
    ax.plot(ns, [summary[n]["fps_median"] for n in ns], "o-", color="C0", zorder=3, label="median over rounds")
    for n, target in TARGETS.items():
        ax.plot([n / 1.6, n * 1.6], [target, target], color="C3", lw=2)
        ax.annotate(f"target {target:g} FPS", (n * 1.6, target), textcoords="offset points", xytext=(4, -3),
                    color="C3", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_yticks([5, 10, 20, 30, 50, 100])
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("agents N (log)")
    ax.set_ylabel("frames per second (median, log)")
    loads = [r["load_before"] for r in rows] + [r["load_after"] for r in rows]
    ax.set_title(f"Offscreen 1280x720, training on; load avg {min(loads):.1f}-{max(loads):.1f} on 2 cores", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def compare_lod(app, args) -> int:  # noqa: ANN001
    """Frame medians with the level of detail on and off, per N, alternating; written to --out."""
    from safe_io.atomic import atomic_write_json

    rows = []
    for r in range(args.rounds):
        for n in args.agents:
            for lod in ((True, False) if r % 2 == 0 else (False, True)):
                row = measure(app, n, args.frames, args.warmup, args.seed, trail_lod=lod)
                row.update(round=r, trail_lod_on=lod)
                rows.append(row)
                print(f"round {r} N = {n:>6} level of detail {'on ' if lod else 'off'}: frame median "
                      f"{row['frame_median_ms']:7.1f} ms, load {row['load_before']:.2f}", flush=True)
    for n in args.agents:
        on = np.median([x["frame_median_ms"] for x in rows if x["n"] == n and x["trail_lod_on"]])
        off = np.median([x["frame_median_ms"] for x in rows if x["n"] == n and not x["trail_lod_on"]])
        print(f"N = {n}: {on:.1f} ms with the level of detail, {off:.1f} ms without (x{off / on:.2f})")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)  # bench results may go to a new folder
    atomic_write_json(args.out, {"rows": rows, "command": "python bench/view_scaling.py " + " ".join(sys.argv[1:])})
    print(f"written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, nargs="+", default=[30, 1000, 10_000])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "view_scaling.json"))
    ap.add_argument("--chart", default=None, help="also draw FPS against N into this PNG")
    ap.add_argument("--replot", action="store_true", help="only draw --chart from the results in --out")
    ap.add_argument("--compare-lod", action="store_true",
                    help="instead: each N with the trail level of detail on and off (--no-trail-lod), alternating")
    args = ap.parse_args(argv)
    if args.replot:
        import json

        data = json.loads(Path(args.out).read_text())
        chart({int(k): v for k, v in data["summary"].items()}, data["rows"], args.chart)
        print(f"chart written to {args.chart}")
        return 0

    from render.app_setup import create_app
    from safe_io.atomic import atomic_write_json

    app = create_app("offscreen", 1280, 720)
    if args.compare_lod:
        return compare_lod(app, args)
    rows = []
    for r in range(args.rounds):
        order = args.agents if r % 2 == 0 else args.agents[::-1]
        for n in order:
            row = measure(app, n, args.frames, args.warmup, args.seed)
            row["round"] = r
            rows.append(row)
            print(f"round {r} N = {n:>6}: frame median {row['frame_median_ms']:7.1f} ms ({row['fps_median']:5.1f} FPS), "
                  f"trail stride {row['trail_stride']}, point markers {row['point_markers']}, "
                  f"load {row['load_before']:.2f} -> {row['load_after']:.2f}", flush=True)
    base = min(args.agents)
    summary = {}
    for n in args.agents:
        mine = [x for x in rows if x["n"] == n]
        ratios = [next(b for b in rows if b["n"] == base and b["round"] == x["round"])["frame_median_ms"]
                  / x["frame_median_ms"] for x in mine]
        med = float(np.median([x["frame_median_ms"] for x in mine]))
        summary[n] = {"frame_median_ms": med, "fps_median": 1000.0 / med,
                      "fps_ratio_to_smallest": float(np.median(ratios)),
                      "systems_median_ms": {k: float(np.median([x["systems_median_ms"].get(k, np.nan) for x in mine]))
                                            for k in mine[0]["systems_median_ms"]}}
    print(f"\n{'N':>7} {'frame ms':>9} {'FPS':>6} {'FPS / FPS(N=' + str(base) + ')':>18} {'target':>7}")
    for n in args.agents:
        s = summary[n]
        target = TARGETS.get(n)
        print(f"{n:>7} {s['frame_median_ms']:9.1f} {s['fps_median']:6.1f} {s['fps_ratio_to_smallest']:18.3f} "
              f"{'' if target is None else format(target, 'g'):>7}")
    loads = [x["load_before"] for x in rows] + [x["load_after"] for x in rows]
    print(f"load average (1 min) during the run: {min(loads):.2f} to {max(loads):.2f} on {os.cpu_count()} cores")
    out = {"rows": rows, "summary": {str(k): v for k, v in summary.items()}, "targets_fps": TARGETS,
           "frames": args.frames, "warmup": args.warmup, "rounds": args.rounds, "platform": platform.platform(),
           "command": "python bench/view_scaling.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)  # bench results may go to a new folder
    atomic_write_json(args.out, out)
    print(f"written to {args.out}")
    if args.chart:
        chart(summary, rows, args.chart)
        print(f"chart written to {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
