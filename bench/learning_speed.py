"""Time to the learning targets: one learner against many, over seeds, the same evaluation.

Each run is an ordinary headless training run (`python app.py --headless --train-preset quick
--agents A --seed S`, the defaults otherwise, plus any `--set`), in its own process with one
torch thread. A run meets the targets at its first evaluation (the fixed starts, no noise) with
success >= the nominal policy's on the same starts, return gain >= --gain (default +15 %) and
certified share >= 30 %; its time to target is that evaluation's wall time (eval.csv's
`wall_time`: seconds since the run started, evaluations included) and its training-agent steps.

The runs of one seed (one per agent count) are started together (--parallel, default as many as
there are agent counts) and the seeds one after another, so the machine's load falls on the
settings being compared alike; the ratio of each seed's times is taken within the seed, and the
table gives medians over seeds with the range. The 1-minute load average is recorded at the start
and end of every seed. A run that never meets the targets counts as its whole run's wall time
(marked "not met"): a lower bound on its time to target.

    python bench/learning_speed.py                                   # 1 vs 64 learners, seeds 1-5
    python bench/learning_speed.py --seeds 1-3 --agents 0 63 --set training.train_steps_per_frame=1
    python bench/learning_speed.py --swarm-set td3.batch_size=1024 --out bench/results/learning_speed_b1024
    python bench/learning_speed.py --report-only --out bench/results/learning_speed
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/learning_speed.py`
from bench import common  # noqa: E402
from bench.common import ROOT  # noqa: E402

TARGET_GAIN = 0.15
TARGET_CERTIFIED = 0.30


def parse_seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += list(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def first_target(rows: list[dict], gain: float, certified: float) -> dict | None:
    """The first evaluation that meets the targets (None: none did)."""
    for r in rows:
        if (float(r["success_rate"]) >= float(r["nominal_success_rate"]) and float(r["return_gain"]) >= gain
                and float(r["certified_share"]) >= certified):
            return r
    return None


def read_run(folder: Path, gain: float, certified: float) -> dict | None:
    """What one finished run says about its time to target (None: not finished)."""
    summary_path, eval_path = folder / "run_summary.json", folder / "eval.csv"
    if not summary_path.is_file() or not eval_path.is_file():
        return None
    summary = json.loads(summary_path.read_text())
    with open(eval_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    hit = first_target(rows, gain, certified)
    last = rows[-1]
    return {"met": hit is not None,
            "wall_s": float(hit["wall_time"]) if hit else float(last["wall_time"]),
            "steps": int(float(hit["total_steps"])) if hit else int(float(last["total_steps"])),
            "episode": int(float(hit["episode"])) if hit else None,
            "run_wall_s": float(last["wall_time"]), "run_steps": int(float(last["total_steps"])),
            "final_success": float(last["success_rate"]), "final_gain": float(last["return_gain"]),
            "final_certified": float(last["certified_share"]),
            "steps_per_second": summary.get("steps_per_second"), "interrupted": summary.get("interrupted")}


def run_seed(seed: int, agents: list[int], args: argparse.Namespace, out: Path) -> list[dict]:
    """Start one run per agent count for this seed (at most --parallel at a time), wait for all."""
    pending = list(agents)
    running: list[tuple[int, subprocess.Popen, Path, object]] = []
    done: list[dict] = []
    load0 = common.load1()
    t0 = time.time()
    while pending or running:
        while pending and len(running) < args.parallel:
            a = pending.pop(0)
            folder = out / f"agents{a}_seed{seed}"
            cmd = [sys.executable, str(ROOT / "app.py"), "--headless", "--no-progress", "--overwrite",
                   "--train-preset", args.train_preset, "--agents", str(a), "--seed", str(seed),
                   "--out", str(folder)]
            for s in args.set + (args.swarm_set if a > 0 else []):
                cmd += ["--set", s]
            log = open(out / f"agents{a}_seed{seed}.log", "w")  # noqa: SIM115 - closed when the run ends
            print(f"seed {seed}: agents {a} started", flush=True)
            running.append((a, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT), folder, log))
        time.sleep(1.0)
        for entry in list(running):
            a, proc, folder, log = entry
            if proc.poll() is None:
                continue
            running.remove(entry)
            log.close()
            r = read_run(folder, args.gain, TARGET_CERTIFIED) if proc.returncode == 0 else None
            if r is None:
                print(f"seed {seed}: agents {a} FAILED (exit {proc.returncode}); see {folder}.log", flush=True)
                continue
            r.update(seed=seed, agents=a, folder=str(folder))
            done.append(r)
            print(f"seed {seed}: agents {a}: targets {'met' if r['met'] else 'NOT met'} at {r['wall_s']:.0f} s, "
                  f"{r['steps']} steps", flush=True)
    load1 = common.load1()
    for r in done:
        r.update(load_start=load0, load_end=load1, seed_wall_s=time.time() - t0)
    return done


def summarise(rows: list[dict], agents: list[int]) -> list[str]:
    lines = ["| seed | " + " | ".join(f"{a + 1} learner{'s' if a else ''}: time to target (steps)" for a in agents)
             + " | " + " | ".join(f"ratio {a + 1} / {agents[0] + 1}" for a in agents[1:]) + " | load |",
             "|---" * (2 * len(agents)) + "|---|"]
    by = {(r["seed"], r["agents"]): r for r in rows}
    ratios: dict[int, list[float]] = {a: [] for a in agents[1:]}
    for seed in sorted({r["seed"] for r in rows}):
        cells, rcells = [], []
        for a in agents:
            r = by.get((seed, a))
            cells.append("-" if r is None else f"{r['wall_s']:.0f} s ({r['steps']}){'' if r['met'] else ' not met'}")
        base = by.get((seed, agents[0]))
        for a in agents[1:]:
            r = by.get((seed, a))
            if r is None or base is None:
                rcells.append("-")
                continue
            q = r["wall_s"] / base["wall_s"]
            ratios[a].append(q)
            rcells.append(f"{q:.2f}")
        loads = [x for a in agents if (seed, a) in by for x in (by[(seed, a)]["load_start"], by[(seed, a)]["load_end"])]
        load = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"
        lines.append(f"| {seed} | " + " | ".join(cells) + " | " + " | ".join(rcells) + f" | {load} |")
    med = []
    for a in agents:
        mine = [by[k] for k in by if k[1] == a]
        walls = [r["wall_s"] for r in mine]
        met = sum(r["met"] for r in mine)
        med.append(f"{np.median(walls):.0f} s [{min(walls):.0f}-{max(walls):.0f}], met {met}/{len(mine)}"
                   if walls else "-")
    lines.append("| median [range] | " + " | ".join(med) + " | " + " | ".join(
        f"**{np.median(v):.2f}** [{min(v):.2f}-{max(v):.2f}]" if v else "-" for v in ratios.values()) + " | |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--seeds", default="1-5", help="seeds, e.g. 1-5 or 1,3,7")
    ap.add_argument("--agents", type=int, nargs="+", default=[0, 63], help="--agents of each setting (0: one learner)")
    ap.add_argument("--train-preset", default="quick")
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE passed to every run (app.py --set)")
    ap.add_argument("--swarm-set", action="append", default=[],
                    help="KEY=VALUE passed only to the runs with more than one learner (a larger batch, say)")
    ap.add_argument("--gain", type=float, default=TARGET_GAIN, help="return gain the targets ask for (0.15: +15 %%)")
    ap.add_argument("--parallel", type=int, default=0, help="runs at a time (default: one per agent count)")
    ap.add_argument("--out", default=str(common.RESULTS / "learning_speed"))
    ap.add_argument("--report-only", action="store_true", help="only the table, from the runs already in --out")
    args = ap.parse_args(argv)
    args.parallel = args.parallel or len(args.agents)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    if args.report_only:
        old = out / "learning_speed.json"
        if not old.is_file():
            print(f"learning_speed: error: no {old}", file=sys.stderr)
            return 2
        rows = json.loads(old.read_text())["runs"]
        for r in rows:  # re-read with this --gain
            again = read_run(Path(r["folder"]), args.gain, TARGET_CERTIFIED)
            if again is not None:
                r.update(again)
    else:
        for seed in parse_seeds(args.seeds):
            rows += run_seed(seed, args.agents, args, out)
            common.save_json(out / "learning_speed.json", {
                "runs": rows, "gain": args.gain, "certified": TARGET_CERTIFIED, "set": args.set, "swarm_set": args.swarm_set,
                "train_preset": args.train_preset, "command": common.command_line(__file__, argv)},
                indent=1, keep_nan=True)  # --report-only reads it back
    if not rows:
        print("learning_speed: error: no finished run", file=sys.stderr)
        return 1
    print(f"\nTime to the targets (success >= nominal, gain >= {args.gain:+.0%}, certified >= "
          f"{TARGET_CERTIFIED:.0%}), {args.train_preset} preset{', ' + ' '.join(args.set) if args.set else ''}"
          f"{'; more than one learner: ' + ' '.join(args.swarm_set) if args.swarm_set else ''}:\n")
    print("\n".join(summarise(rows, args.agents)))
    finals = {a: [r for r in rows if r["agents"] == a] for a in args.agents}
    for a, mine in finals.items():
        if mine:
            print(f"agents {a}: final success {np.median([r['final_success'] for r in mine]):.0%}, gain "
                  f"{np.median([r['final_gain'] for r in mine]):+.1%}, certified "
                  f"{np.median([r['final_certified'] for r in mine]):.0%}, "
                  f"{np.median([r['steps_per_second'] or math.nan for r in mine]):.0f} steps/s (medians)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
