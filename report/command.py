"""`python app.py report DIR...`: compare run folders (one sweep's, several sweeps', or single runs).

Writes into --out (default DIR/report/ of the first DIR): summary.md (tables and charts),
report.json (every number of the tables), curves_episodes.png, curves_eval.png (when runs
evaluated), final_scores.png and safety.png (training-time failures by group of agents, when the
runs recorded them). Bad input is one line on stderr, exit code 2, nothing written.
"""
from __future__ import annotations

import sys
from pathlib import Path

from cli.arguments import (
    EXIT_USAGE,
    OneLineParser,
    UsageError,
    _count,
    _nonempty,
    _path,
)
from process.messages import one_line
from process.program import command, prog
from report.aggregate import chart_scores, summarise
from report.charts import episode_curves, eval_curves, final_chart
from report.groups import by_group_and_task, label_runs
from report.load import ReportError, load_runs
from report.markdown import write_markdown
from report.safety import GROUPS as SAFETY_GROUPS
from report.safety import safety_rows
from report.safety_chart import safety_chart
from runfiles.outputs import check_writable_dir
from safe_io.atomic import atomic_write_json


def _prog() -> str:
    return f"{prog()} report"


def build_parser() -> OneLineParser:
    p = OneLineParser(
        prog=_prog(),
        description="Compare run folders: learning curves across seeds (median and interquartile band), final "
        "scores per group (median, IQR, and the IQM with a 95 percent stratified-bootstrap interval), PNG charts and a "
        "markdown summary. Runs are grouped by the settings that differ between them (the seed aside); the "
        "environment is the task the bootstrap stratifies by. A damaged run folder is named in one line and left out.",
        epilog=f"Examples: {command()} report runs/sweep1 | {command()} report runs/a runs/b --out cmp "
        "--group-by training.policy,calf.nu_bar",
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run folders, or folders holding them (any depth)")
    p.add_argument("--out", type=_path("--out"), metavar="DIR", help="where the report goes (default DIR/report)")
    p.add_argument("--last", type=_count(1, 1_000_000, "--last"), default=20, metavar="K",
                   help="final training scores over each run's last K episodes (default 20)")
    p.add_argument("--window", type=_count(1, 1_000_000, "--window"), default=10, metavar="W",
                   help="moving-mean window of the training curves, in episodes (default 10)")
    p.add_argument("--group-by", type=_nonempty("--group-by"), metavar="KEYS",
                   help="comma-separated config keys (section.key) that name the groups (default: the keys "
                   "whose values differ between the runs)")
    p.add_argument("--reps", type=_count(100, 1_000_000, "--reps"), default=10_000, metavar="N",
                   help="bootstrap replicates (default 10000)")
    p.add_argument("--no-charts", action="store_true",
                   help="tables only: report.json and summary.md without the PNG charts (seconds faster)")
    return p


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} exists and is not a directory")
    base = out
    while not base.exists():
        base = base.parent
    check_writable_dir(base, "--out")


def _charts(groups, summaries, runs, tasks, out: Path, args) -> list[Path]:
    """The PNG charts that exist for these runs (matplotlib's layout and drawing: most of a report's time)."""
    charts = [episode_curves(groups, tasks, out / "curves_episodes.png", args.window)]
    ev = eval_curves(groups, tasks, out / "curves_eval.png")
    if ev is not None:
        charts.append(ev)
    charts.append(final_chart(groups, summaries, chart_scores(runs), out / "final_scores.png", args.last))
    safety = safety_chart(groups, tasks, out / "safety.png")
    if safety is not None:
        charts.append(safety)
    return charts


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        runs = load_runs(args.dirs, warn=lambda line: print(f"{_prog()}: warning: {one_line(line)}", file=sys.stderr,
                                                             flush=True))
        group_by = None
        if args.group_by:
            group_by = [k.strip() for k in args.group_by.split(",")]
            for key in group_by:
                section, dot, name = key.partition(".")
                if not dot or not any(section in r.config and name in r.config[section] for r in runs):
                    raise UsageError(f"--group-by: no run has the config key {key!r} (use section.key, "
                                     "e.g. training.policy)")
        out = Path(args.out) if args.out else Path(args.dirs[0]) / "report"
        _check_out(out)
    except (UsageError, ReportError) as exc:
        print(f"{_prog()}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    labels = label_runs(runs, group_by)
    groups = {label: by for label, by in by_group_and_task(runs).items()}
    groups = {label: groups[label] for label in labels}
    tasks = list(dict.fromkeys(r.system for r in runs))
    print(one_line(f"report: {len(runs)} runs in {len(groups)} groups ({' | '.join(labels)}) on {', '.join(tasks)}"),
          file=sys.stderr, flush=True)
    summaries = summarise(groups, args.last, reps=args.reps)
    out.mkdir(parents=True, exist_ok=True)
    charts = [] if args.no_charts else _charts(groups, summaries, runs, tasks, out, args)
    safety_tables = {g: safety_rows(groups, g) for g in SAFETY_GROUPS}
    made_with = " ".join([f"{command()} report", *argv])
    atomic_write_json(out / "report.json", {
        "command": made_with,
        "last": args.last,
        "runs": [{"folder": str(r.folder), "group": r.label, "environment": r.system, "seed": r.seed,
                  "episodes": int(len(r.episodes["episode"])), "evaluations": 0 if r.evals is None
                  else int(len(r.evals["total_steps"]))} for r in runs],
        "summaries": [s.as_dict() for s in summaries],
        "safety": {g: [{k: (list(v) if isinstance(v, tuple) else v) for k, v in row.items()} for row in rows]
                   for g, rows in safety_tables.items()},
    })
    md = write_markdown(out / "summary.md", runs, groups, summaries, args.last, args.window, charts, made_with,
                        args.reps, safety_tables)
    print(f"report written to {md} ({', '.join([*(c.name for c in charts), 'report.json'])})")
    return 0
