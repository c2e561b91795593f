"""What the reach check costs a large swarm's frame: all agents on one step of the period, or groups spread over it.

Headless worlds (the view's data systems, no renderer), training on, N agents. Each setting
(`calf.nominal_reach_rows` = 0: every agent checked on the same step of each period; --rows
values: groups of about that size on evenly spaced steps; and the check off) runs --warmup frames,
then the ControlSystem's time (where the check runs) and the frame's time are read from the
profiler over --frames frames. Settings alternate within every round (order flipped each round),
so the machine's load falls on all of them alike. Recorded: median, mean, p95 and max of the frame
and of ControlSystem, per setting, medians over rounds.

    python bench/reach_spread.py                       # N = 10 000, point mass, 2 rounds
    python bench/reach_spread.py --rows 400 1000 2000  # several group sizes
    python bench/reach_spread.py --agents 5000 --system differential_drive
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/reach_spread.py`
from bench import common  # noqa: E402

def settings(rows: list[int]) -> dict[str, dict]:
    """The compared settings: every agent on one step, groups of each of `rows`, the check off."""
    out = {"one step": {"nominal_reach_rows": 0}}
    out.update({f"groups of {r}": {"nominal_reach_rows": r} for r in rows})
    out["check off"] = {"nominal_reach_check": 0.0}
    return out
STATS = ("median_ms", "mean_ms", "p95_ms", "max_ms")


def measure(n: int, system: str, calf: dict, frames: int, warmup: int, seed: int) -> dict:
    cfg = common.config({"visual": {"agents": n}, "run": {"seed": seed}, "env": {"system": system},
                         "profiler": {"window": frames}, "calf": calf})
    with common.opened(common.headless_world(cfg, view_systems=True)) as world:
        m = common.profiled(world, frames, warmup)
    control = m.report["systems"].get("ControlSystem", {})
    return {"frame": {k: m.report["frame"][k] for k in STATS}, "control": {k: control.get(k, 0.0) for k in STATS},
            "load_before": m.load_before, "load_after": m.load_after}


def main(argv: list[str] | None = None) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--system", default="point_mass")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--warmup", type=int, default=120)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rows", type=int, nargs="+", default=[2000], help="calf.nominal_reach_rows values to compare")
    ap.add_argument("--out", default=str(common.RESULTS / "reach_spread.json"))
    args = ap.parse_args(argv)
    SETTINGS = settings(args.rows)  # noqa: N806
    rows = []
    for r in range(args.rounds):
        for name in common.flip(list(SETTINGS), r):
            row = measure(args.agents, args.system, SETTINGS[name], args.frames, args.warmup, args.seed)
            row.update(setting=name, round=r)
            rows.append(row)
            f, c = row["frame"], row["control"]
            print(f"round {r} {name:<15}: frame median {f['median_ms']:.2f} mean {f['mean_ms']:.2f} p95 "
                  f"{f['p95_ms']:.2f} max {f['max_ms']:.2f} ms; ControlSystem median {c['median_ms']:.2f} "
                  f"mean {c['mean_ms']:.2f} max {c['max_ms']:.2f} ms; load {row['load_before']:.2f}", flush=True)
    print(f"\nN = {args.agents}, {args.system}, headless, training on; medians over {args.rounds} rounds")
    print(common.md_head("reach check", "frame median ms", "frame mean ms", "frame p95 ms", "frame max ms",
                         "ControlSystem mean ms", "ControlSystem max ms"))
    summary = {}
    for name in SETTINGS:
        mine = [x for x in rows if x["setting"] == name]
        s = {f"frame_{k}": float(np.median([x["frame"][k] for x in mine])) for k in STATS}
        s.update({f"control_{k}": float(np.median([x["control"][k] for x in mine])) for k in STATS})
        summary[name] = s
        print(common.md_row(name, f"{s['frame_median_ms']:.2f}", f"{s['frame_mean_ms']:.2f}",
                            f"{s['frame_p95_ms']:.2f}", f"{s['frame_max_ms']:.2f}", f"{s['control_mean_ms']:.2f}",
                            f"{s['control_max_ms']:.2f}"))
    loads = [x["load_before"] for x in rows] + [x["load_after"] for x in rows]
    print(f"load average (1 min): {common.load_span(loads)}")
    common.save_json(args.out, {"rows": rows, "summary": summary, "agents": args.agents, "system": args.system,
                                "machine": common.machine()["machine"], "cores": os.cpu_count(),
                                "command": common.command_line(__file__, argv)})
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
