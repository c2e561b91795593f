"""What the policy cohort's drawing and the learning-curve panel cost the live view: this checkout
against another one (the code before them), offscreen 1280x720, N = 30 and 1000, training on.

Each measurement is one `app.py --offscreen --agents N --frames F --warmup W --profile ...` process
(the program's defaults: every agent a learner, the policy cohort of `visual.cohort` agents, TD3
updating every step), run from the checkout it measures. The two checkouts alternate within each
round (order flipped every round) so the machine's load falls on both alike; the report gives
medians over rounds of the frame's median time, the draw calls counted per frame (PStats), and
the view systems' median times (RenderSystem includes llvmpipe's rasterising; LearningCurveSystem
is the panel's data, summed over the frame's steps).

    git clone -q . /tmp/calf-before && git -C /tmp/calf-before checkout -q <commit before the change>
    python bench/view_cost.py --before /tmp/calf-before --rounds 3        # -> bench/results/view_cost.json
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/view_cost.py`
from bench import common  # noqa: E402

SYSTEMS = ("RenderSystem", "StatsSystem", "LearningCurveSystem", "TrailBatchSystem")


def run_once(checkout: Path, n: int, frames: int, warmup: int, seed: int) -> dict:
    load = common.load1()
    cmd = [sys.executable, "app.py", "--offscreen", "--agents", str(n), "--frames", str(frames + warmup),
           "--warmup", str(warmup), "--seed", str(seed), "--profile", "{tmp}/p.json", "--out", "{tmp}/run",
           "--no-progress"]
    rep = common.child_json(cmd, "{tmp}/p.json", cwd=checkout, timeout=1800)
    systems = rep["systems"]
    return {"frame_median_ms": rep["frame"]["median_ms"], "frame_mean_ms": rep["frame"]["mean_ms"],
            "draw_calls": rep["counters"].get("draw_calls", {}).get("per_frame"),
            "systems_median_ms": {k: systems[k]["median_ms"] for k in SYSTEMS if k in systems},
            "load_before": load, "load_after": common.load1()}


def main(argv: list[str] | None = None) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--before", required=True, help="a checkout of the code to compare with")
    ap.add_argument("--agents", default="30,1000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(common.RESULTS / "view_cost.json"))
    args = ap.parse_args(argv)
    checkouts = {"before": Path(args.before).resolve(), "after": common.ROOT}
    ns = [int(x) for x in args.agents.split(",")]
    runs: dict[str, dict[str, list]] = {f"{v}@{n}": [] for v in checkouts for n in ns}
    for r in range(args.rounds):
        for n in ns:
            for variant in common.flip(checkouts, r):
                m = run_once(checkouts[variant], n, args.frames, args.warmup, args.seed)
                runs[f"{variant}@{n}"].append(m)
                print(f"round {r + 1} N={n:<5} {variant:6s} frame {m['frame_median_ms']:6.2f} ms  draw calls "
                      f"{m['draw_calls']}  " + "  ".join(f"{k} {v:.3f}" for k, v in m["systems_median_ms"].items())
                      + f"  load {m['load_before']:.1f}", flush=True)
    summary = {}
    for key, ms in runs.items():
        summary[key] = {
            "frame_median_ms": float(np.median([m["frame_median_ms"] for m in ms])),
            "draw_calls": sorted({m["draw_calls"] for m in ms}),
            "systems_median_ms": common.system_medians(ms, SYSTEMS),
            "load": [min(m["load_before"] for m in ms), max(m["load_after"] for m in ms)],
        }
    print("\nmedians over rounds (ms per frame):")
    print(f"{'N':>5} {'':6} {'frame':>7} {'draw calls':>10} " + " ".join(f"{s:>19}" for s in SYSTEMS))
    for n in ns:
        for variant in checkouts:
            s = summary[f"{variant}@{n}"]
            print(f"{n:>5} {variant:6} {s['frame_median_ms']:7.2f} {str(s['draw_calls']):>10} "
                  + " ".join(f"{s['systems_median_ms'][k]:19.3f}" for k in SYSTEMS))
        ratio = summary[f"after@{n}"]["frame_median_ms"] / summary[f"before@{n}"]["frame_median_ms"]
        print(f"{n:>5} after / before: x{ratio:.3f}")
    common.save_json(args.out, {"args": vars(args), "runs": runs, "summary": summary}, indent=1)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
