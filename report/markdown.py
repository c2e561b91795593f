"""The report's summary.md: what was compared, the final tables per group, and the charts."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from report.aggregate import Summary
from report.load import Run
from report.metrics import EPISODE_SCORES, EVAL_SCORES
from runtime.atomic import atomic_write_text
from runtime.messages import one_line

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
    return (f"{fmt(s.score, s.median)} [{fmt(s.score, s.q25)}, {fmt(s.score, s.q75)}]",
            f"{fmt(s.score, s.iqm)} [{fmt(s.score, s.ci_low)}, {fmt(s.score, s.ci_high)}]")


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


def write_markdown(path: Path, runs: list[Run], groups: dict[str, dict[str, list[Run]]], summaries: list[Summary],
                   last: int, window: int, charts: list[Path], command: str, reps: int) -> Path:
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
    ep_titles = {k: v.split(",")[0] for k, v in EPISODE_SCORES.items()}
    ev_titles = {f"eval_{k}": v for k, v in EVAL_SCORES.items()}
    for task in tasks:
        lines += [f"## {md(task)}", "", f"Training episodes (the last {last} of each run):", ""]
        lines += _table(summaries, task, ["success", "return", "certified_share"], ep_titles)
        if has_eval:
            lines += ["", "The last evaluation of each run (fixed starts, no exploration noise):", ""]
            lines += _table(summaries, task, list(ev_titles), ev_titles)
        lines.append("")
    if len(tasks) > 1:
        lines += ["## Across environments", "", "Scores pooled over environments; the bootstrap resamples runs "
                  "within each environment (stratified).", ""]
        lines += _table(summaries, "*", ["success", "return", "certified_share"], ep_titles)
        if has_eval:
            lines += [""] + _table(summaries, "*", list(ev_titles), ev_titles)
        lines.append("")
    lines += ["## Charts", "", f"Curves are moving means over {window} episodes (training) or the evaluations "
              "themselves, summarised across a group's runs by the median and the 25th-75th percentile band.", ""]
    lines += [f"![{c.stem}]({c.name})" for c in charts]
    return atomic_write_text(path, "\n".join(lines) + "\n")
