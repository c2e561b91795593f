"""Micro-benchmarks of the three optimisations, each against its naive path in the same process.

    python bench/micro_perf.py                 # prints tables, writes bench/results/perf/micro.json
    python bench/micro_perf.py --rounds 31     # more rounds (default 21)

1. Interpolation: HeightSystem's per-agent loop vs the vectorised BilinearSampler (and, for the
   record, the gather kernel this branch replaced) at N = 10, 20, 30, 50, 1000.
2. Trails: one Geom per agent rebuilt every frame (PerAgentTrails) vs the batched Geom
   (BatchedTrailMesh), CPU time of one frame's update of the Panda3D arrays (no rendering: the
   sweep measures the rendered frame) at N = 10, 20, 50, 1000.
3. Stats cache on vs off: StatsSystem time per frame (as each world's profiler timed it), network
   calls and HUD string assignments per frame, training on (two worlds with the same seed, stepped
   in alternating blocks).

Method: the machine is shared and noisy, so the two sides of every comparison are timed in
alternating blocks (order flipped every round); each block repeats the call until it lasts at
least `--block-ms`; a round's ratio compares the two blocks of that round. Reported: the median
time per call of each side, and the median (and quartiles) of the per-round ratios.
Nothing here passes or fails.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/micro_perf.py`
from bench import common  # noqa: E402
from config.schema import AppConfig  # noqa: E402

INTERP_NS = (10, 20, 30, 50, 1000)
TRAIL_NS = (10, 20, 50, 1000)
OUT = common.RESULTS / "perf" / "micro.json"


def gather_kernel(grid: np.ndarray, lo: float, hi: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The vectorised kernel HeightSystem used before BilinearSampler (kept here as the 'before' figure)."""
    g = grid.shape[0]
    scale = (g - 1) / (hi - lo)
    u = np.clip((np.asarray(a, dtype=np.float64) - lo) * scale, 0.0, g - 1)
    v = np.clip((np.asarray(b, dtype=np.float64) - lo) * scale, 0.0, g - 1)
    i0 = np.minimum(u.astype(np.int64), g - 2)
    j0 = np.minimum(v.astype(np.int64), g - 2)
    fu = u - i0
    fv = v - j0
    return ((grid[i0, j0] * (1.0 - fu) + grid[i0 + 1, j0] * fu) * (1.0 - fv)
            + (grid[i0, j0 + 1] * (1.0 - fu) + grid[i0 + 1, j0 + 1] * fu) * fv)


def per_call_us(fn, block_ms: float) -> float:  # noqa: ANN001
    """Microseconds per call of `fn`, over a block of at least `block_ms`."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t0
        if dt * 1e3 >= block_ms:
            return dt / number * 1e6
        number = max(number * 2, int(number * block_ms / max(dt * 1e3, 1e-3)) + 1)


def alternate(sides: dict, rounds: int, block_ms: float) -> dict[str, list[float]]:
    """Time every side once per round, in an order that flips every round."""
    return common.alternate(list(sides), rounds, lambda name: per_call_us(sides[name], block_ms))


def summary(times: dict[str, list[float]], slow: str, fast: str) -> dict:
    ratios = np.array(times[slow]) / np.array(times[fast])
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])
    return {
        **{f"{k}_us": float(np.median(v)) for k, v in times.items()},
        **{f"{k}_us_range": [float(np.min(v)), float(np.max(v))] for k, v in times.items()},
        "ratio_median": float(med), "ratio_q1": float(q1), "ratio_q3": float(q3),
        "rounds": len(ratios),
    }


def view_world(agents: int, seed: int, policy: str = "nominal", training: bool = False, **sections):  # noqa: ANN003, ANN201
    """A headless world with the view's data systems (no renderer); the trainer off unless asked for."""
    cfg = common.config({"visual": {"agents": agents}, "run": {"seed": seed}, "training": {"policy": policy}}, sections)
    world = common.headless_world(cfg, view_systems=True)
    if not training:
        world.schedule.disable("TrainingSystem")
    return world


# -- 1. interpolation ------------------------------------------------------------------------------
def interpolation(rounds: int, block_ms: float) -> dict:
    from systems.height import BilinearSampler, bilinear_loop

    rng = np.random.default_rng(5)
    g, lim = 21, 5.0  # the medium preset's grid over the default boundary_limit
    grid = rng.normal(size=(g, g))
    rows = []
    for n in INTERP_NS:
        pts = rng.uniform(-1.1 * lim, 1.1 * lim, (n, 2))  # a few agents beyond the grid's edge
        a, b = pts[:, 0], pts[:, 1]  # strided views of an (n, 2) array, as HeightSystem passes them
        sampler = BilinearSampler(grid, -lim, lim)
        assert np.max(np.abs(sampler(a, b) - bilinear_loop(grid, -lim, lim, a, b))) < 1e-9
        times = alternate({
            "loop": lambda: bilinear_loop(grid, -lim, lim, a, b),
            "vectorized": lambda: sampler(a, b),
            "gather_before": lambda: gather_kernel(grid, -lim, lim, a, b),
        }, rounds, block_ms)
        row = {"n": n, **summary(times, "loop", "vectorized")}
        before = np.array(times["loop"]) / np.array(times["gather_before"])
        row["ratio_before_median"] = float(np.median(before))
        rows.append(row)
        print(f"interpolation N={n:5d}: loop {row['loop_us']:8.1f} us, vectorised {row['vectorized_us']:6.2f} us "
              f"(x{row['ratio_median']:.0f}, IQR {row['ratio_q1']:.0f}-{row['ratio_q3']:.0f}), "
              f"before {row['gather_before_us']:6.1f} us (x{row['ratio_before_median']:.0f})", flush=True)
    build = alternate({"build": lambda: BilinearSampler(grid, -lim, lim)}, 5, block_ms)["build"]
    return {"grid": g, "limit": lim, "rows": rows, "sampler_build_us": float(np.median(build))}


# -- 2. trails -------------------------------------------------------------------------------------
def _changes_copy(src):  # noqa: ANN001, ANN202
    from systems.trails import TrailChanges

    c = TrailChanges()
    c.dirty = src.dirty.copy()
    c.appends = src.appends
    c.reprojected = src.reprojected
    return c


def trails(rounds: int, warmup: int) -> dict:
    """Per frame: step the world, then time each renderer's update on that frame's data (order flipping)."""
    from panda3d.core import NodePath

    from components.agent_table import AgentTable
    from render.trail_mesh import BatchedTrailMesh, PerAgentTrails
    from systems.trails import TrailChanges
    rows = []
    for n in TRAIL_NS:
        world = view_world(agents=n, seed=42)
        root = NodePath("micro-trails")
        renderers = {"per_agent": PerAgentTrails(root, world.resource(AppConfig).visual.trail_max_length),
                     "batched": BatchedTrailMesh(root, world.resource(AppConfig).visual.trail_max_length)}
        table = world.resource(AgentTable)
        changes = world.resource(TrailChanges)
        times: dict[str, list[float]] = {k: [] for k in renderers}
        frames = warmup + rounds
        for f in range(frames):
            world.step()
            copies = {k: _changes_copy(changes) for k in renderers}
            changes.take(table.n)
            for name in common.flip(renderers, f):
                t0 = time.perf_counter()
                renderers[name].sync(table, copies[name])
                dt = (time.perf_counter() - t0) * 1e6
                if f >= warmup:
                    times[name].append(dt)
        live = float(np.mean(table.trail_len))
        for r in renderers.values():
            r.destroy()
        world.shutdown()
        row = {"n": n, "mean_trail_points": live, **summary(times, "per_agent", "batched")}
        rows.append(row)
        print(f"trails N={n:5d} (mean {live:.0f} points per trail): per-agent Geoms {row['per_agent_us']:9.1f} us, "
              f"batched Geom {row['batched_us']:7.1f} us (x{row['ratio_median']:.1f})", flush=True)
    return {"warmup_frames": warmup, "rows": rows}


# -- 3. stats cache --------------------------------------------------------------------------------
def stats_cache(frames: int, warmup: int, n: int = 20) -> dict:
    """Two worlds (cache on / off), same seed, training on, stepped in alternating blocks of 10 frames;
    StatsSystem's cost is what each world's profiler timed for it in the scheduled frames."""
    from components.view_state import HudText
    from systems.heatmap import VIEW_CALLS

    worlds = {flag: view_world(agents=n, seed=42, policy="calf", training=True,
                               visual={"use_stats_cache": flag}) for flag in (False, True)}
    for w in worlds.values():
        w.run(warmup)
        w.system("ProfilerSystem").reset()
    versions = {flag: (w.resource(HudText).stats_version, w.resource(HudText).profiler_version)
                for flag, w in worlds.items()}
    block = 10
    for r in range(frames // block):
        for flag in common.flip((False, True), r):
            worlds[flag].run(block)
    out = {"agents": n, "frames": frames, "warmup": warmup}
    for flag, w in worlds.items():
        rep = w.system("ProfilerSystem").report()
        stats = rep["systems"]["StatsSystem"]
        hud = w.resource(HudText)
        sv, pv = versions[flag]
        measured = rep["meta"]["frames"]
        out["cache_on" if flag else "cache_off"] = {
            "stats_us_median": 1e3 * stats["median_ms"],
            "stats_us_mean": 1e3 * stats["mean_ms"],
            "stats_us_p95": 1e3 * stats["p95_ms"],
            "view_network_calls_per_frame": rep["counters"][VIEW_CALLS]["per_frame"],
            "hud_assignments_per_frame": ((hud.stats_version - sv) + (hud.profiler_version - pv)) / measured,
        }
        w.shutdown()
    off, on = out["cache_off"], out["cache_on"]
    out["ratio_median"] = off["stats_us_median"] / on["stats_us_median"]
    out["ratio_mean"] = off["stats_us_mean"] / on["stats_us_mean"]
    print(f"stats cache, N={n}: off {off['stats_us_mean']:.0f} us mean ({off['stats_us_median']:.0f} median), "
          f"{off['view_network_calls_per_frame']:.2f} calls, {off['hud_assignments_per_frame']:.2f} assignments / frame; "
          f"on {on['stats_us_mean']:.0f} us mean ({on['stats_us_median']:.0f} median), "
          f"{on['view_network_calls_per_frame']:.3f} calls, {on['hud_assignments_per_frame']:.2f} assignments / frame",
          flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--rounds", type=int, default=21, help="alternating rounds per comparison")
    p.add_argument("--block-ms", type=float, default=20.0, help="minimum length of one timed block")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    started = time.time()
    load = os.getloadavg()
    result = {
        **common.machine(), "numpy": np.__version__,
        "loadavg_before": list(load), "rounds": args.rounds, "block_ms": args.block_ms,
        "interpolation": interpolation(args.rounds, args.block_ms),
        "trails": trails(args.rounds * 3, warmup=300),
        "stats_cache": stats_cache(frames=600, warmup=150),
    }
    result["loadavg_after"] = list(os.getloadavg())
    result["seconds"] = time.time() - started
    common.save_json(args.out, result)
    print(f"written {args.out} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
