"""What the finite check costs per frame: headless runs at N = 30, 1 000 and 10 000 agents (with
the Lyapunov-monitor plugin, so the check also runs once after a plugin), read from the profiler,
which times every system. Prints a table and saves bench/results/finite_check_cost.json.

    python bench/finite_check_cost.py [--frames 300] [--agents 30 1000 10000]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure(agents: int, frames: int, with_view: bool) -> dict:
    from config import build_config
    from plugins.loading import parse_plugin_arg
    from runtime.build import build_world

    cfg = build_config(overrides={"visual": {"agents": agents}, "profiler": {"window": frames}},
                       extra_plugins=[parse_plugin_arg("examples.lyapunov_monitor:LyapunovMonitor")])
    extend = None
    if with_view:
        from runtime.view_systems import add_view_systems

        def extend(w):  # noqa: ANN001, ANN202
            add_view_systems(w, cfg)
    world = build_world(cfg, extend=extend)
    world.run(30)  # warm-up
    profiler = world.system("ProfilerSystem")
    profiler.reset()
    t0 = time.perf_counter()
    world.run(frames)
    wall = time.perf_counter() - t0
    rep = profiler.report()
    check = rep["systems"]["FiniteCheckSystem"]
    plugin = rep["systems"]["LyapunovMonitor"]
    columns = len(world.resource(__import__("systems.finite_check", fromlist=["FiniteCheck"]).FiniteCheck)
                  .columns(world.resource(__import__("components.agent_table", fromlist=["AgentTable"]).AgentTable)))
    world.shutdown()
    return {"agents": agents, "view_systems": with_view, "frames": frames, "checked_columns": columns,
            "frame_median_ms": rep["frame"]["median_ms"], "check_median_ms": check["median_ms"],
            "check_share": check["share"],
            # the plugin's time includes the check after it (same work as the frame-start check)
            "lyapunov_plus_check_median_ms": plugin["median_ms"], "wall_s": wall}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--agents", type=int, nargs="+", default=[30, 1000, 10000])
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "finite_check_cost.json"))
    args = p.parse_args(argv)
    rows = []
    for n in args.agents:
        for view in (False, True):
            r = measure(n, args.frames, view)
            rows.append(r)
            print(f"N={n:>6} view={'yes' if view else 'no ':3} columns={r['checked_columns']:>2}  frame median "
                  f"{r['frame_median_ms']:8.3f} ms  check median {r['check_median_ms']:7.3f} ms "
                  f"({100 * r['check_share']:.1f} % of the frame)  plugin+check {r['lyapunov_plus_check_median_ms']:.3f} ms",
                  flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"command": "python bench/finite_check_cost.py " + " ".join(argv or sys.argv[1:]),
                                          "rows": rows}, indent=2) + "\n")
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
