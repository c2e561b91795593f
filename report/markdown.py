"""The report's summary.md: what was compared, the final tables per group, and the charts."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from process.messages import one_line
from report.aggregate import FEW_RUNS, Summary
from report.load import Run
from report.metrics import EPISODE_SCORES, EVAL_SCORES
from safe_io.atomic import atomic_write_text

#: characters of run data that markdown would read as markup: written as entities or escaped
_MARKUP = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "\\": "\\\\", "`": "\\`", "*": "\\*",
           "[": "\\[", "]": "\\]", "#": "\\#", "$": "\\$", "!": "\\!"}


def md(text: object) -> str:
    """Text from run data (group names, environments, seeds) as literal markdown: one line (a newline
    cannot start a heading or a table row), HTML and markup characters escaped, a table cell's `|`
    too."""
    return "".join(_MARKUP.get(ch, ch) for ch in one_line(text))


def code_span(text: str) -> str:
    """`text` as one inline code span, whatever backticks it holds."""
    line = one_line(text)
    longest, current = 0, 0
    for ch in line:
        current = current + 1 if ch == "`" else 0
        longest = max(longest, current)
    fence = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


PERCENT = {"success", "certified_share", "eval_success_rate", "eval_certified_share", "eval_return_gain"}


def fmt(score: str, x: float) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if score in PERCENT:
        return f"{100 * x:.0f}%"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _cell(s: Summary) -> tuple[str, str]:
    if s.runs == 0:
        return "-", "-"
    few = " (few runs)" if s.runs < FEW_RUNS else ""  # the interval of a handful of runs means little
    return (f"{fmt(s.score, s.median)} [{fmt(s.score, s.q25)}, {fmt(s.score, s.q75)}]",
            f"{fmt(s.score, s.iqm)} [{fmt(s.score, s.ci_low)}, {fmt(s.score, s.ci_high)}]{few}")


def _table(summaries: list[Summary], task: str, names: list[str], titles: dict[str, str]) -> list[str]:
    rows = [s for s in summaries if s.task == task and s.score in names]
    groups = list(dict.fromkeys(s.group for s in rows))
    head = "| group | runs | " + " | ".join(f"{titles[n]}: median [IQR] | IQM [95% CI]" for n in names) + " |"
    lines = [head, "|---|---|" + "---|---|" * len(names)]
    index = {(s.group, s.score): s for s in rows}
    for g in groups:
        cells = []
        runs = 0
        for n in names:
            s = index[(g, n)]
            runs = max(runs, s.runs)
            cells.extend(_cell(s))
        lines.append(f"| {md(g)} | {runs} | " + " | ".join(cells) + " |")
    return lines


def _range(x: tuple[float, float, float], percent: bool = False) -> str:
    med, lo, hi = x
    if not math.isfinite(med):
        return "-"
    f = (lambda v: f"{100 * v:.2f}%") if percent else (lambda v: f"{v:.4g}")
    return f"{f(med)} ({f(lo)} to {f(hi)})" if hi != lo else f(med)


def _safety_table(rows: list[dict], task: str) -> list[str]:
    rows = [r for r in rows if r["environment"] == task]
    if not rows:
        return []
    head = ("| group | runs | episodes (median) | reached the goal | failed | nominal's expected failures | "
            "boundary exits | certified share, second half |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {md(r['group'])} | {r['runs']} | {r['episodes']:.0f} | {_range(r['success_rate'], True)} | "
                     f"{_range(r['failures'])} | {_range(r['nominal_expected_failures'])} | "
                     f"{_range(r['boundary_exits'])} | {_range(r['certified_share_second_half'], True)} |")
    return lines


def write_markdown(path: Path, runs: list[Run], groups: dict[str, dict[str, list[Run]]], summaries: list[Summary],
                   last: int, window: int, charts: list[Path], command: str, reps: int,
                   safety: dict[str, list[dict]] | None = None) -> Path:
    tasks = list(dict.fromkeys(t for g in groups.values() for t in g))
    has_eval = any(r.evals is not None for r in runs)
    lines = [f"# Report: {len(runs)} runs, {len(groups)} groups, {len(tasks)} environment"
             f"{'s' if len(tasks) > 1 else ''}", "", f"Made with {code_span(command)}.", "",
             "| group | environment | runs | seeds | episodes per run (median) |", "|---|---|---|---|---|"]
    for label, by_task in groups.items():
        for task, rs in by_task.items():
            seeds = sorted(str(r.seed) for r in rs)
            shown = ", ".join(seeds[:12]) + (", ..." if len(seeds) > 12 else "")
            eps = np.median([len(r.episodes["episode"]) for r in rs])
            lines.append(f"| {md(label)} | {md(task)} | {len(rs)} | {md(shown)} | {eps:.0f} |")
    lines += ["", "Median and interquartile range (IQR) over runs; IQM is the interquartile mean with its 95 % "
              f"confidence interval from a stratified bootstrap over runs ({reps} replicates, percentile method).", ""]
    few = sorted({(label, task, len(rs)) for label, by_task in groups.items() for task, rs in by_task.items()
                  if len(rs) < FEW_RUNS})
    if few:
        names = ", ".join(f"{md(label)} on {md(task)} ({n} run{'s' if n != 1 else ''})" for label, task, n in few)
        lines += [f"**Warning: few runs.** {names}: with fewer than {FEW_RUNS} runs a bootstrap interval means "
                  "little (it can only recombine those few scores; with 2 runs it spans the range between them), so "
                  "those intervals are marked \"(few runs)\" and drawn dashed. Compare the runs themselves, or run "
                  "more seeds.", ""]
    ep_titles = {k: v.split(",")[0] for k, v in EPISODE_SCORES.items()}
    ev_titles = {f"eval_{k}": v for k, v in EVAL_SCORES.items()}
    for task in tasks:
        lines += [f"## {md(task)}", "", f"Training episodes (the last {last} of each run):", ""]
        lines += _table(summaries, task, ["success", "return", "certified_share"], ep_titles)
        if has_eval:
            lines += ["", "The last evaluation of each run (fixed starts, no exploration noise):", ""]
            lines += _table(summaries, task, list(ev_titles), ev_titles)
        for group, title in (("learners", "every learner"), ("cohort", "the policy cohort")):
            table = _safety_table((safety or {}).get(group, []), task)
            if table:
                lines += ["", f"Safety while training, {title}: all its training episodes, median over runs "
                          "(range); the nominal's expected failures are its failure rate without noise, measured "
                          "on the same start distribution, times as many episodes:", ""] + table
        lines.append("")
    if len(tasks) > 1:
        lines += ["## Across environments", "", "Scores pooled over environments; the bootstrap resamples runs "
                  "within each environment (stratified).", ""]
        lines += _table(summaries, "*", ["success", "return", "certified_share"], ep_titles)
        if has_eval:
            lines += [""] + _table(summaries, "*", list(ev_titles), ev_titles)
        lines.append("")
    if charts:
        lines += ["## Charts", "", f"Curves are moving means over {window} episodes (training) or the evaluations "
                  "themselves, summarised across a group's runs by the median and the 25th-75th percentile band.", ""]
        lines += [f"![{c.stem}]({c.name})" for c in charts]
    return atomic_write_text(path, "\n".join(lines) + "\n")
