"""The checks behind docs/LEARNING.md's claims, from the evaluations of finished runs (eval.csv).

    python experiments/learning_evidence.py RUNS_DIR [RUNS_DIR ...] [--markdown OUT.md]

Reads every finished run folder under the given folders (eval.csv and run_summary.json, no run
holding the folder's lock),
groups runs by environment, policy and label (the sweep folder's name), and prints:

- per seed, the last evaluation: success against the nominal policy's on the same starts, the
  return gain over the nominal, the certified share; with the median and interquartile range;
- whether CALF's success was at least the nominal's at the last evaluation and at every one, and
  its lowest success over all evaluations (with the episode);
- the wall time and training-agent steps at which each run first met the targets (success >= the
  nominal's, return gain >= 10 %, certified share >= 30 %), to compare collection settings;
- safety while training, per seed: the learners' and the cohort's training episodes, how many
  failed (timeouts, boundary exits, non-finite resets) against the noiseless nominal policy's
  expected failures on as many episodes, and the learners' certified share over the second half
  of training (what the trails show then).

It refuses in one line, and writes nothing, when a folder holds no finished run.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runfiles.run_folder import holder_of  # noqa: E402

TARGET_GAIN = 0.10
TARGET_CERTIFIED = 0.30


def _float(text: str) -> float:
    return math.nan if text in ("", None) else float(text)


def load_runs(roots: list[Path]) -> list[dict]:
    runs = []
    for root in roots:
        for ev in sorted(root.rglob("eval.csv")):
            folder = ev.parent
            summary_path = folder / "run_summary.json"
            if not summary_path.is_file() or holder_of(folder) is not None:
                continue  # not a run, or one still running
            summary = json.loads(summary_path.read_text())
            with open(ev, newline="", encoding="utf-8") as f:
                rows = [{k: (v if k == "policy" else _float(v)) for k, v in r.items()} for r in csv.DictReader(f)]
            if not rows or summary.get("interrupted"):
                continue  # nothing evaluated, or stopped before its budget: not comparable
            runs.append({"folder": folder, "label": root.name, "system": summary["system"],
                         "policy": summary["policy"], "seed": summary["seed"], "evals": rows,
                         "safety": summary.get("safety", {}), "episodes_csv": folder / "episodes.csv",
                         "interrupted": summary.get("interrupted")})
    return runs


def first_target(evals: list[dict]) -> dict | None:
    for r in evals:
        if (r["success_rate"] >= r["nominal_success_rate"] and r["return_gain"] >= TARGET_GAIN
                and r["certified_share"] >= TARGET_CERTIFIED):
            return r
    return None


def _pct(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:.0%}"


def _med_iqr(values: list[float], fmt: str) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if not v.size:
        return "-"
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return f"{format(med, fmt)} [{format(q1, fmt)}, {format(q3, fmt)}]"


def tables(runs: list[dict]) -> list[str]:
    out: list[str] = []
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["system"], r["label"], r["policy"]), []).append(r)
    for (system, label, policy), members in sorted(groups.items()):
        members.sort(key=lambda r: r["seed"])
        out += ["", f"### {system}: {label}, policy {policy} ({len(members)} runs)", "",
                "| seed | steps | success (nominal) | return gain | certified | bare actor success | "
                "success >= nominal: last / every evaluation | lowest success (episode) | "
                "targets first met (wall s, steps) |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in members:
            last = r["evals"][-1]
            every = all(e["success_rate"] >= e["nominal_success_rate"] for e in r["evals"])
            hit = first_target(r["evals"]) if policy == "calf" else None
            when = f"{hit['wall_time']:.0f} s, {int(hit['total_steps'])}" if hit else "not met"
            worst = min(r["evals"], key=lambda e: e["success_rate"])
            out.append(
                f"| {r['seed']} | {int(last['total_steps'])} | {last['success_rate']:.0%} "
                f"({last['nominal_success_rate']:.0%}) | {last['return_gain']:+.1%} | "
                f"{_pct(last['certified_share'])} | {_pct(last['actor_success_rate'])} | "
                f"{'yes' if last['success_rate'] >= last['nominal_success_rate'] else 'NO'} / "
                f"{'yes' if every else 'no'} ({len(r['evals'])}) | "
                f"{worst['success_rate']:.0%} ({int(worst['episode'])}) | {when if policy == 'calf' else '-'} |")
        lasts = [m["evals"][-1] for m in members]
        out.append(
            f"| median [IQR] | {_med_iqr([e['total_steps'] for e in lasts], '.0f')} | "
            f"{_med_iqr([e['success_rate'] for e in lasts], '.0%')} | "
            f"{_med_iqr([e['return_gain'] for e in lasts], '+.1%')} | "
            f"{_med_iqr([e['certified_share'] for e in lasts], '.0%')} | "
            f"{_med_iqr([e['actor_success_rate'] for e in lasts], '.0%')} | | "
            f"{_med_iqr([min(e['success_rate'] for e in m['evals']) for m in members], '.0%')} | |")
        walls = [m["evals"][-1]["wall_time"] for m in members]
        out.append(f"\nWall time of the whole run (s): median {np.median(walls):.0f}, range "
                   f"{min(walls):.0f}-{max(walls):.0f}.")
    return out


def second_half_certified(path: Path) -> float:
    """The learners' certified share of filter decisions over the second half of training episodes."""
    if not path.is_file():
        return math.nan
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if len(rows) < 2 or "learners_decided" not in rows[0]:
        return math.nan
    a, b = rows[len(rows) // 2], rows[-1]
    diff = {k: int(b[f"learners_{k}"]) - int(a[f"learners_{k}"]) for k in ("decided", "interventions", "relaxes")}
    if diff["decided"] <= 0:
        return math.nan
    return (diff["decided"] - diff["interventions"] - diff["relaxes"]) / diff["decided"]


def safety_tables(runs: list[dict]) -> list[str]:
    out: list[str] = []
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        if r["safety"].get("learners"):
            groups.setdefault((r["system"], r["label"], r["policy"]), []).append(r)
    for (system, label, policy), members in sorted(groups.items()):
        members.sort(key=lambda r: r["seed"])
        out += ["", f"### {system}: {label}, policy {policy}: safety while training ({len(members)} runs)", "",
                "| seed | learner episodes | reached the goal | timeouts / boundary / non-finite | "
                "nominal's expected failures | cohort episodes: reached | learners certified / relax (all) | "
                "learners certified, 2nd half |",
                "|---|---|---|---|---|---|---|---|"]
        rates, halves = [], []
        for r in members:
            ln, co = r["safety"]["learners"], r["safety"].get("cohort", {})
            half = second_half_certified(r["episodes_csv"])
            rates.append(ln["success_rate"])
            halves.append(half)
            cohort = (f"{co['episodes']}: {co['success_rate']:.2%}" if co.get("episodes") else "-")
            out.append(
                f"| {r['seed']} | {ln['episodes']} | {ln['success_rate']:.2%} | {ln['timeouts']} / "
                f"{ln['boundary_exits']} / {ln['nonfinite']} | {ln.get('nominal_expected_failures', math.nan):.1f} | "
                f"{cohort} | {_pct(ln['certification_rate'])} / {ln['relax_rate']:.1%} | {_pct(half)} |")
        out.append(f"| median [IQR] | | {_med_iqr(rates, '.2%')} | | | | | {_med_iqr(halves, '.0%')} |")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("roots", nargs="+", type=Path, help="sweep or run folders")
    p.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = p.parse_args(argv)
    missing = [str(r) for r in args.roots if not r.is_dir()]
    if missing:
        print(f"learning_evidence: error: not a folder: {missing[0]}", file=sys.stderr)
        return 2
    runs = load_runs(args.roots)
    if not runs:
        print("learning_evidence: error: no finished run (eval.csv with run_summary.json) under "
              f"{', '.join(map(str, args.roots))}", file=sys.stderr)
        return 2
    text = "\n".join(tables(runs) + safety_tables(runs)) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
