"""Headless scaling and profiler overhead (README, Benchmarks).

For N in --agents (default 30, 1000, 10000): build a headless world, warm up, time --frames
frames with the profiler on, and report the frame median and per-system medians. Then, in the
same world, alternate blocks of frames with the profiler on and off and compare the median
per-frame wall time: that is the profiler's own overhead.

    python bench/headless_scaling.py                # prints a table, writes bench/results/headless_scaling.json
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/headless_scaling.py`
from bench import common  # noqa: E402


def on_off(prof, run, rounds: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """Seconds of `run()` with the profiler on and off, in blocks whose order flips every round."""
    def block(enabled: bool) -> float:
        prof.set_enabled(enabled)
        return common.per_call(run, 1)

    pair = common.alternate((True, False), rounds, block)
    return pair[True], pair[False]


def measure(n: int, frames: int, warmup: int, blocks: int, block_frames: int, system: str) -> dict:
    cfg = common.config({"visual": {"agents": n}, "env": {"system": system}, "profiler": {"window": frames}})
    world = common.headless_world(cfg)
    prof = world.system("ProfilerSystem")
    rep = common.profiled(world, frames, warmup).report

    # overhead: pairs of on/off blocks in the same world (order alternating), ratio per pair
    on, off = ([t / block_frames * 1e3 for t in side] for side in on_off(prof, lambda: world.run(block_frames), blocks))
    ratios = [a / b for a, b in zip(on, off)]
    prof.set_enabled(True)
    world.shutdown()
    on_med, off_med = float(np.median(on)), float(np.median(off))
    q1, q3 = np.percentile(ratios, [25, 75])
    return {
        "agents": n,
        "rows": n + 1,
        "frame_median_ms": rep["frame"]["median_ms"],
        "frame_p95_ms": rep["frame"]["p95_ms"],
        "fps": rep["frame"]["fps"],
        "systems_median_ms": {k: v["median_ms"] for k, v in rep["systems"].items()},
        "overhead": {
            "profiler_on_ms": on_med,
            "profiler_off_ms": off_med,
            "overhead_percent": 100.0 * (float(np.median(ratios)) - 1.0),
            "overhead_percent_iqr": [100.0 * (q1 - 1.0), 100.0 * (q3 - 1.0)],
            "blocks": blocks,
            "block_frames": block_frames,
        },
    }


def isolated_overhead_us(systems: int, frames: int = 20000, reps: int = 15) -> dict:
    """The profiler's cost per frame with nothing else to measure: a world of no-op systems,
    stepped with the recorder on and off in alternating blocks. On a shared machine this is far
    steadier than the paired blocks above, whose noise is larger than the effect."""
    from ecs.frame_times import FrameTimes
    from ecs.system import System
    from ecs.world import World
    from systems.profiler import ProfilerSystem

    class Noop(System):
        def process(self, world, dt):
            pass

    world = World()
    for i in range(systems):
        world.add_system(type(f"Noop{i}", (Noop,), {"name": f"Noop{i}"})())
    prof = world.add_system(ProfilerSystem(window=1000))
    times: FrameTimes = prof.times
    on, off = ([t / frames * 1e6 for t in side] for side in on_off(prof, lambda: world.run(frames), reps))
    world.shutdown()
    assert times.frames_recorded > 0
    return {"systems": systems, "on_us": float(np.median(on)), "off_us": float(np.median(off)),
            "overhead_us_per_frame": float(np.median(on) - np.median(off))}


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--agents", type=int, nargs="+", default=[30, 1000, 10000])
    p.add_argument("--frames", type=int, default=500)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--blocks", type=int, default=60, help="on/off block pairs for the overhead check")
    p.add_argument("--block-frames", type=int, default=300)
    p.add_argument("--system", default="point_mass")
    p.add_argument("--out", default=str(common.RESULTS / "headless_scaling.json"))
    args = p.parse_args()
    results = []
    for n in args.agents:
        print(f"N = {n} ...", file=sys.stderr, flush=True)
        results.append(measure(n, args.frames, args.warmup, args.blocks, args.block_frames, args.system))
    iso = isolated_overhead_us(len(results[0]["systems_median_ms"]) - 1)
    base = results[0]["frame_median_ms"]
    names = list(results[0]["systems_median_ms"])
    print(f"\nheadless, {args.system}, {args.frames} frames after {args.warmup} warm-up, profiler on")
    print(common.md_head("N", "frame median ms", f"x N={args.agents[0]}", *names, "profiler overhead"))
    for r in results:
        o = r["overhead"]
        print(common.md_row(r["agents"], f"{r['frame_median_ms']:.4f}", f"{r['frame_median_ms'] / base:.2f}",
                            *(f"{r['systems_median_ms'].get(k, float('nan')):.4f}" for k in names),
                            f"{o['overhead_percent']:+.2f} % (IQR {o['overhead_percent_iqr'][0]:+.1f}.."
                            f"{o['overhead_percent_iqr'][1]:+.1f})"))
    print(f"\nprofiler cost, isolated ({iso['systems']} no-op systems + ProfilerSystem, on vs off): "
          f"{iso['overhead_us_per_frame']:.2f} us per frame")
    for r in results:
        print(f"  = {100 * iso['overhead_us_per_frame'] / (1000 * r['frame_median_ms']):.3f} % of the N = {r['agents']} "
              f"frame ({r['frame_median_ms']:.3f} ms)")
    common.save_json(args.out, {**common.machine(), "frames": args.frames, "warmup": args.warmup,
                                "results": results, "isolated_overhead": iso})
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    main()
