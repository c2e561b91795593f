"""CALF against the bare actor and the nominal policy over many seeds: one sweep, then one report.

    python experiments/calf_vs_baselines.py                       # 5 seeds x 3 policies, point mass, 100 episodes, 64 learners
    python experiments/calf_vs_baselines.py --systems differential_drive --budgets 60 \
        --set env.max_steps_per_episode=1000 --out experiments/results/drive   # docs/LEARNING.md's drive runs
    python experiments/calf_vs_baselines.py --set calf.nu_rate=0.5,2 --policies calf
    python experiments/calf_vs_baselines.py --analyse-only        # the report again from the finished runs
    python experiments/calf_vs_baselines.py --figures docs        # also copy the charts to docs/learning_*.png

Every run is the ordinary headless program (`python app.py --headless --policy P --seed S --agents 63
...`, the `quick` training preset unless --train-preset says otherwise), run by `python app.py sweep` on Ray:
environments and budgets (episodes per run) are variants of the sweep (`--set env.system=...`,
`--set training.episodes=...`), so every combination runs for every policy and seed. The runs go to
OUT/runs/ and the report (`python app.py report`: curves with median and interquartile band, IQM
with stratified-bootstrap intervals, tables) to OUT/report/, and the per-seed evaluation tables of
docs/LEARNING.md (experiments/learning_evidence.py) to OUT/report/evidence.md. Stopped or partly failed? The same
command again runs only what is missing.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_OUT = ROOT / "experiments" / "results" / "calf_vs_baselines"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="1-5", help="seeds: 1-5, 0-9, 1,2,3 ... (default 1-5)")
    p.add_argument("--agents", default="63", help="agents besides the training agent, all learners (default 63)")
    p.add_argument("--policies", default="calf,actor,nominal", help="default calf,actor,nominal")
    p.add_argument("--systems", default="point_mass", help="comma-separated environments (default point_mass)")
    p.add_argument("--budgets", default=None, help="comma-separated episodes per run (default: the training "
                   "preset's, 100 for quick)")
    p.add_argument("--train-preset", default="quick", help="training preset of every run (default quick)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=V1[,V2...]",
                   help="more config variants, as for app.py sweep (repeatable)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="runs in OUT/runs, report in OUT/report")
    p.add_argument("--cpus", help="CPUs of the local Ray (default: all cores)")
    p.add_argument("--address", help="join this Ray cluster instead")
    p.add_argument("--last", default="20", help="final scores over each run's last K episodes (default 20)")
    p.add_argument("--analyse-only", action="store_true", help="only make the report from the runs there are")
    p.add_argument("--figures", metavar="DIR", help="also copy the report's charts to DIR/learning_<chart>.png")
    p.add_argument("--no-progress", action="store_true")
    return p


def sweep_argv(args: argparse.Namespace, runs: Path) -> list[str]:
    argv = ["--out", str(runs), "--seeds", args.seeds, "--policies", args.policies, "--train-preset",
            args.train_preset, "--agents", args.agents, "--set", f"env.system={args.systems}"]
    if args.budgets:
        argv += ["--set", f"training.episodes={args.budgets}"]
    for item in args.set:
        argv += ["--set", item]
    for flag, value in (("--cpus", args.cpus), ("--address", args.address)):
        if value:
            argv += [flag, value]
    if args.no_progress:
        argv.append("--no-progress")
    return argv


def _has_runs(runs: Path) -> bool:
    """Whether the folder holds at least one finished run (a run_summary.json at any depth)."""
    return runs.is_dir() and next(runs.rglob("run_summary.json"), None) is not None


def main(argv: list[str] | None = None) -> int:
    import app

    args = build_parser().parse_args(argv)
    out = Path(args.out)
    runs, report = out / "runs", out / "report"
    if args.analyse_only and not _has_runs(runs):
        print(f"calf_vs_baselines: error: no finished runs in {runs}/ to analyse; run the experiment first "
              "(the same command without --analyse-only); nothing was written", file=sys.stderr)
        return 2
    if not args.analyse_only:
        code = app.main(["sweep", *sweep_argv(args, runs)])
        if code == 2:
            return code
        if code != 0:
            print(f"calf_vs_baselines: the sweep ended with exit code {code}; reporting the runs that finished",
                  file=sys.stderr)
    code = app.main(["report", str(runs), "--out", str(report), "--last", args.last])
    if code != 0:
        return code
    if next(runs.rglob("eval.csv"), None) is None:
        print("calf_vs_baselines: no run holds evaluations (eval.csv); the evidence tables are skipped")
    else:
        from experiments import learning_evidence

        code = learning_evidence.main([str(runs), "--markdown", str(report / "evidence.md")])
        if code != 0:
            return code
    if args.figures:
        dest = Path(args.figures)
        dest.mkdir(parents=True, exist_ok=True)
        for png in sorted(report.glob("*.png")):
            shutil.copyfile(png, dest / f"learning_{png.name}")
            print(f"copied {png.name} to {dest / ('learning_' + png.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
