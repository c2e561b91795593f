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

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/view_scaling.py`
from bench import common  # noqa: E402

TARGETS = {1000: 30.0, 10_000: 10.0}  # FPS the issue asks for


def measure(app, n: int, frames: int, warmup: int, seed: int, trail_lod: bool = True) -> dict:  # noqa: ANN001
    from components.agent_table import AgentTable
    from components.training_stats import TrainingStats

    cfg = common.config({"visual": {"agents": n, "trail_lod": trail_lod}, "run": {"seed": seed},
                         "profiler": {"window": frames}})
    with common.opened(common.offscreen_world(cfg, app)) as world:
        m = common.profiled(world, frames, warmup)
        rep = m.report
        rs = world.system("RenderSystem")
        return {
            "n": n, "rows": world.resource(AgentTable).n, "frame_median_ms": rep["frame"]["median_ms"],
            "frame_mean_ms": rep["frame"]["mean_ms"], "fps_median": 1000.0 / rep["frame"]["median_ms"],
            "fps_wall": frames / m.wall, "systems_median_ms": {k: v["median_ms"] for k, v in rep["systems"].items()},
            "draw_calls_per_frame": rep["counters"].get("draw_calls", {}).get("per_frame"),
            "train_updates_per_frame": rep["counters"].get("train_updates", {}).get("per_frame"),
            "trail_lod": rs.lod_active, "trail_stride": rs.lod.stride, "trail_points_drawn": rs.lod.points,
            "point_markers": rs.markers.points_mode, "phase": world.resource(TrainingStats).phase,
            "load_before": m.load_before, "load_after": m.load_after,
            "cpu_percent_run": rep["process"]["cpu_percent_run"],
        }


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
    rows = []
    for r in range(args.rounds):
        for n in args.agents:
            for lod in common.flip((True, False), r):
                row = measure(app, n, args.frames, args.warmup, args.seed, trail_lod=lod)
                row.update(round=r, trail_lod_on=lod)
                rows.append(row)
                print(f"round {r} N = {n:>6} level of detail {'on ' if lod else 'off'}: frame median "
                      f"{row['frame_median_ms']:7.1f} ms, load {row['load_before']:.2f}", flush=True)
    for n in args.agents:
        on = np.median([x["frame_median_ms"] for x in rows if x["n"] == n and x["trail_lod_on"]])
        off = np.median([x["frame_median_ms"] for x in rows if x["n"] == n and not x["trail_lod_on"]])
        print(f"N = {n}: {on:.1f} ms with the level of detail, {off:.1f} ms without (x{off / on:.2f})")
    common.save_json(args.out, {"rows": rows, "command": common.command_line(__file__)})
    print(f"written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--agents", type=int, nargs="+", default=[30, 1000, 10_000])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(common.RESULTS / "view_scaling.json"))
    ap.add_argument("--chart", default=None, help="also draw FPS against N into this PNG")
    ap.add_argument("--replot", action="store_true", help="only draw --chart from the results in --out")
    ap.add_argument("--compare-lod", action="store_true",
                    help="instead: each N with the trail level of detail on and off (--no-trail-lod), alternating")
    args = ap.parse_args(argv)
    if args.replot:
        data = json.loads(Path(args.out).read_text())
        chart({int(k): v for k, v in data["summary"].items()}, data["rows"], args.chart)
        print(f"chart written to {args.chart}")
        return 0

    app = common.offscreen_app()
    if args.compare_lod:
        return compare_lod(app, args)
    rows = []
    for r in range(args.rounds):
        for n in common.flip(args.agents, r):
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
        ratios = common.round_ratios([b for b in rows if b["n"] == base], mine, "frame_median_ms")
        med = float(np.median([x["frame_median_ms"] for x in mine]))
        summary[n] = {"frame_median_ms": med, "fps_median": 1000.0 / med,
                      "fps_ratio_to_smallest": float(np.median(ratios)),
                      "systems_median_ms": common.system_medians(mine, mine[0]["systems_median_ms"])}
    print(f"\n{'N':>7} {'frame ms':>9} {'FPS':>6} {'FPS / FPS(N=' + str(base) + ')':>18} {'target':>7}")
    for n in args.agents:
        s = summary[n]
        target = TARGETS.get(n)
        print(f"{n:>7} {s['frame_median_ms']:9.1f} {s['fps_median']:6.1f} {s['fps_ratio_to_smallest']:18.3f} "
              f"{'' if target is None else format(target, 'g'):>7}")
    loads = [x["load_before"] for x in rows] + [x["load_after"] for x in rows]
    print(f"load average (1 min) during the run: {common.load_span(loads)}")
    out = {"rows": rows, "summary": {str(k): v for k, v in summary.items()}, "targets_fps": TARGETS,
           "frames": args.frames, "warmup": args.warmup, "rounds": args.rounds, "platform": common.machine()["machine"],
           "command": common.command_line(__file__, argv)}
    common.save_json(args.out, out)
    print(f"written to {args.out}")
    if args.chart:
        chart(summary, rows, args.chart)
        print(f"chart written to {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
