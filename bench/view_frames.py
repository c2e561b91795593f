"""Offscreen 1280x720 frame costs of the live view at several agent counts (docs/VIEW.md's figures).

For each N (default 5, 30, 300) a child process renders offscreen through EGL (Ursina is one app
per process): --warmup frames, then --frames timed frames with the profiler on. Reported per N:
frame median, per-system medians, draw calls and network forward calls per frame, and the summed
cost of the non-render systems (the data systems must scale well; rendering is llvmpipe's).

    python bench/view_frames.py                      # table on stdout, bench/results/view_frames.json
    python bench/view_frames.py --agents 20 --frames 600
    python bench/view_frames.py --flags-off          # the three baseline paths instead

The world is the one `python app.py --offscreen` runs (with training, when the build has it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/view_frames.py`
from bench import common  # noqa: E402

RENDER_SYSTEMS = ("RenderSystem",)


def child(n: int, frames: int, warmup: int, flags_off: bool, system: str, out: str) -> None:
    visual = {"agents": n}
    if flags_off:
        visual.update(use_vectorized_heights=False, use_stats_cache=False, use_batched_trails=False)
    cfg = common.config({"visual": visual, "env": {"system": system}, "profiler": {"window": frames},
                         "run": {"seed": 42}})
    app = common.offscreen_app(cfg.visual.window_width, cfg.visual.window_height)
    world = common.offscreen_world(cfg, app)
    rep = common.profiled(world, frames, warmup).report
    renderer = common.renderer(app)
    world.shutdown()
    systems = rep["systems"]
    non_render = [k for k in systems if k not in RENDER_SYSTEMS]
    result = {
        "agents": n,
        "rows": n + 1,
        "frames": frames,
        "flags_off": flags_off,
        "renderer": renderer,
        "frame_median_ms": rep["frame"]["median_ms"],
        "frame_p95_ms": rep["frame"]["p95_ms"],
        "fps_from_median": 1000.0 / rep["frame"]["median_ms"],
        "systems_median_ms": {k: v["median_ms"] for k, v in systems.items()},
        "non_render_sum_of_medians_ms": sum(systems[k]["median_ms"] for k in non_render),
        "non_render_sum_of_means_ms": sum(systems[k]["mean_ms"] for k in non_render),
        "draw_calls_per_frame": rep["counters"]["draw_calls"]["per_frame"],
        "network_forward_calls_per_frame": rep["counters"]["network_forward_calls"]["per_frame"],
        "cpu_percent": rep["process"]["cpu_percent_run"],
    }
    common.save_json(out, result)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--agents", type=int, nargs="+", default=[5, 30, 300])
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--system", default="point_mass")
    p.add_argument("--flags-off", action="store_true", help="run the three naive baseline paths")
    p.add_argument("--out", default=str(common.RESULTS / "view_frames.json"))
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        child(args.child, args.frames, args.warmup, args.flags_off, args.system, args.child_out)
        return
    results = []
    for n in args.agents:
        print(f"N = {n} ...", file=sys.stderr, flush=True)
        results.append(common.child_json(
            [sys.executable, __file__, "--child", str(n), "--child-out", "{tmp}/r.json", "--frames", str(args.frames),
             "--warmup", str(args.warmup), "--system", args.system] + (["--flags-off"] if args.flags_off else []),
            "{tmp}/r.json"))
    names = list(results[0]["systems_median_ms"])
    base = {r["agents"]: r for r in results}
    label = "flags off (naive paths)" if args.flags_off else "flags on"
    print(f"\noffscreen 1280x720, {results[0]['renderer']}, {args.system}, {label}, "
          f"{args.frames} frames after {args.warmup} warm-up; medians in ms")
    print(common.md_head("N", "frame", "FPS", *(n.replace("System", "") for n in names), "non-render (sum)",
                         "draw calls/frame", "forward calls/frame"))
    for r in results:
        print(common.md_row(r["agents"], f"{r['frame_median_ms']:.2f}", f"{r['fps_from_median']:.0f}",
                            *(f"{r['systems_median_ms'].get(k, float('nan')):.3f}" for k in names),
                            f"{r['non_render_sum_of_medians_ms']:.3f}", f"{r['draw_calls_per_frame']:.2f}",
                            f"{r['network_forward_calls_per_frame']:.3f}"))
    if 30 in base and 300 in base:
        ratio = base[300]["non_render_sum_of_medians_ms"] / base[30]["non_render_sum_of_medians_ms"]
        ratio_mean = base[300]["non_render_sum_of_means_ms"] / base[30]["non_render_sum_of_means_ms"]
        print(f"\nnon-render systems, N = 300 vs N = 30: x{ratio:.2f} (sum of medians), x{ratio_mean:.2f} (sum of means)")
    common.save_json(args.out, {**common.machine(), "results": results}, indent=1)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
