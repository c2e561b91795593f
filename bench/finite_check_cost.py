"""What the finite check costs per frame: headless runs at N = 30, 1 000 and 10 000 agents (with
the Lyapunov-monitor plugin, so the check also runs once after a plugin), read from the profiler,
which times every system. Prints a table and saves bench/results/finite_check_cost.json.

    python bench/finite_check_cost.py [--frames 300] [--agents 30 1000 10000]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/finite_check_cost.py`
from bench import common  # noqa: E402


def measure(agents: int, frames: int, with_view: bool) -> dict:
    from components.agent_table import AgentTable
    from plugins.loading import parse_plugin_arg
    from systems.finite_check import FiniteCheck

    cfg = common.config({"visual": {"agents": agents}, "profiler": {"window": frames}},
                        extra_plugins=[parse_plugin_arg("examples.lyapunov_monitor:LyapunovMonitor")])
    world = common.headless_world(cfg, view_systems=with_view)
    m = common.profiled(world, frames, warmup=30)
    check = m.report["systems"]["FiniteCheckSystem"]
    plugin = m.report["systems"]["LyapunovMonitor"]
    columns = len(world.resource(FiniteCheck).columns(world.resource(AgentTable)))
    world.shutdown()
    return {"agents": agents, "view_systems": with_view, "frames": frames, "checked_columns": columns,
            "frame_median_ms": m.report["frame"]["median_ms"], "check_median_ms": check["median_ms"],
            "check_share": check["share"],
            # the plugin's time includes the check after it (same work as the frame-start check)
            "lyapunov_plus_check_median_ms": plugin["median_ms"], "wall_s": m.wall}


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--agents", type=int, nargs="+", default=[30, 1000, 10000])
    p.add_argument("--out", default=str(common.RESULTS / "finite_check_cost.json"))
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
    common.save_json(args.out, {"command": common.command_line(__file__, argv or None), "rows": rows})
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
