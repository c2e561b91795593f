"""The report's PNG charts (matplotlib, no display needed).

- curves_episodes.png: training curves over episodes, one column per environment, one colour per group:
  the median across the group's runs and the interquartile band.
- curves_eval.png (when runs evaluated): evaluation success, return, return gain and certified share
  against total steps, and the certified share against wall time.
- final_scores.png: every run's final score as a dot, and each group's IQM with its 95 % bootstrap interval.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from process.messages import one_line
from report.aggregate import FEW_RUNS, Summary
from report.load import Run
from report.metrics import (
    EPISODE_CURVES,
    EPISODE_SCORES,
    EVAL_CURVES,
    EVAL_SCORES,
    episode_band,
    eval_band,
    final_scores,
)
from safe_io.atomic import atomic_write_with

#: scores that are shares of something (drawn on [0, 1])
SHARES = {"success", "certified_share", "eval_success_rate", "eval_certified_share"}
X_LABELS = {"total_steps": "training-agent steps", "wall_time": "wall time (s)"}


#: longest group or environment name drawn in a chart (the full name is in summary.md and report.json)
MAX_LABEL = 60


def shown(text: object) -> str:
    """A name from run data as a chart draws it: one line, at most MAX_LABEL characters. Mathtext is
    off (`_plt`), so a `$` in it is a dollar sign, never a formula to parse."""
    line = one_line(text)
    return line if len(line) <= MAX_LABEL else line[: MAX_LABEL - 1] + "\u2026"


def _plt():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # labels come from run data: '$\\frac{' is text
    import matplotlib.pyplot as plt

    return plt


def _colors(labels: list[str]) -> dict[str, tuple]:
    plt = _plt()
    cmap = plt.get_cmap("tab10")
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def _grid(rows: int, cols: int, row_height: float = 2.9):  # noqa: ANN202
    plt = _plt()
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols + 1.0, row_height * rows + 0.8), squeeze=False)
    return plt, fig, axes


def _title(fig, text: str, fontsize: float = 10, note: str | None = None) -> None:  # noqa: ANN001
    """The figure's title wrapped to its width (a long one was clipped on both sides) and the axes
    laid out below it; `note` goes under the axes, wrapped too."""
    per_line = max(20, int(fig.get_figwidth() * 72 / (0.62 * fontsize)))  # characters that fit a line
    title = "\n".join(textwrap.wrap(text, per_line))
    fig.suptitle(title, fontsize=fontsize)
    height = fig.get_figheight()
    top = 1 - (0.08 + 0.17 * (title.count("\n") + 1)) / height
    bottom = 0.0
    if note:
        small = fontsize - 1.5
        note = "\n".join(textwrap.wrap(note, max(20, int(fig.get_figwidth() * 72 / (0.62 * small)))))
        fig.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=small, color="0.25")
        bottom = (0.1 + 0.17 * (note.count("\n") + 1)) / height
    fig.tight_layout(rect=(0, bottom, 1, top))


def _draw(ax, b, color, label) -> None:  # noqa: ANN001
    ax.fill_between(b.x, b.q25, b.q75, color=color, alpha=0.22, lw=0)
    ax.plot(b.x, b.median, color=color, lw=1.8, label=f"{shown(label)} ({b.runs} runs)")


def episode_curves(groups: dict[str, dict[str, list[Run]]], tasks: list[str], path: Path, window: int) -> Path:
    colors = _colors(list(groups))
    plt, fig, axes = _grid(len(EPISODE_CURVES), len(tasks))
    for i, (name, title) in enumerate(EPISODE_CURVES.items()):
        for j, task in enumerate(tasks):
            ax = axes[i, j]
            for label, by_task in groups.items():
                b = episode_band(by_task.get(task, []), name, window) if task in by_task else None
                if b is not None:
                    _draw(ax, b, colors[label], label)
            ax.set_title(f"{shown(task)}: {title}, window {window}", fontsize=9)
            ax.set_xlabel("episode", fontsize=8)
            if name in ("success", "certified_share"):
                ax.set_ylim(-0.03, 1.03)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="best")
    _title(fig, "Training curves: median across runs, band from the 25th to the 75th percentile")
    atomic_write_with(path, lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)
    return path


def eval_curves(groups: dict[str, dict[str, list[Run]]], tasks: list[str], path: Path) -> Path | None:
    colors = _colors(list(groups))
    drawn = False
    plt, fig, axes = _grid(len(EVAL_CURVES), len(tasks))
    for i, ((column, x_column), title) in enumerate(EVAL_CURVES.items()):
        for j, task in enumerate(tasks):
            ax = axes[i, j]
            for label, by_task in groups.items():
                b = eval_band(by_task.get(task, []), column, x_column)
                if b is not None:
                    _draw(ax, b, colors[label], label)
                    drawn = True
            ax.set_title(f"{shown(task)}: {title}", fontsize=9)
            ax.set_xlabel(X_LABELS[x_column], fontsize=8)
            if column in ("success_rate", "certified_share"):
                ax.set_ylim(-0.03, 1.03)
            if column == "return_gain":
                ax.axhline(0.0, color="k", lw=0.8, ls="--")
            ax.grid(alpha=0.3)
    if not drawn:
        plt.close(fig)
        return None
    axes[0, 0].legend(fontsize=7, loc="best")
    _title(fig, "Evaluations on fixed starts: median across runs, interquartile band")
    atomic_write_with(path, lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)
    return path


def final_chart(groups: dict[str, dict[str, list[Run]]], summaries: list[Summary], names: list[str], path: Path,
                last: int) -> Path:
    """Dots: each run's final score; bar: the group's IQM and its 95 % interval (per environment)."""
    titles = {**{k: v.format(last=last) for k, v in EPISODE_SCORES.items()},
              **{f"eval_{k}": v for k, v in EVAL_SCORES.items()}}
    tasks = list(dict.fromkeys(t for g in groups.values() for t in g))
    labels = list(groups)
    colors = _colors(labels)
    plt, fig, axes = _grid(len(names), len(tasks), row_height=1.0 + 0.45 * len(labels))
    index = {(s.group, s.task, s.score): s for s in summaries}
    rng = np.random.default_rng(0)
    few: set[tuple[str, str]] = set()  # (group, environment) with fewer than FEW_RUNS runs
    for i, name in enumerate(names):
        for j, task in enumerate(tasks):
            ax = axes[i, j]
            for k, label in enumerate(labels):
                runs = groups[label].get(task, [])
                values = np.array([final_scores(r, last)[name] for r in runs], float)
                y = k + rng.uniform(-0.12, 0.12, len(values))
                ax.scatter(values, y, s=14, color=colors[label], alpha=0.7, zorder=3)
                s = index.get((label, task, name))
                if s is not None and np.isfinite(s.iqm):
                    if s.runs < FEW_RUNS:  # an interval of a few runs: drawn as a thin dashed line, and said
                        few.add((label, task))
                        ax.plot([s.ci_low, s.ci_high], [k, k], color=colors[label], lw=1.5, ls=(0, (3, 2)),
                                alpha=0.9, zorder=2)
                    else:
                        ax.plot([s.ci_low, s.ci_high], [k, k], color=colors[label], lw=5, alpha=0.45, zorder=2)
                    ax.plot([s.iqm], [k], marker="|", ms=16, mew=2.5, color="k", zorder=4)
            ax.set_yticks(range(len(labels)))
            names = [f"{shown(g)}\n(n = {len(groups[g].get(task, []))}, few runs)" if (g, task) in few else shown(g)
                     for g in labels]
            ax.set_yticklabels(names if j == 0 else [""] * len(labels), fontsize=7)
            ax.set_ylim(-0.6, len(labels) - 0.4)
            ax.set_title(f"{shown(task)}: {titles[name]}", fontsize=9)
            if name in SHARES:
                ax.set_xlim(-0.03, 1.03)
            ax.grid(alpha=0.3, axis="x")
    note = None
    if few:
        counts = sorted({len(groups[g][t]) for g, t in few})
        note = (f"Dashed: an interval from {' or '.join(map(str, counts))} run{'s' if counts != [1] else ''} "
                f"(fewer than {FEW_RUNS}) means little: a bootstrap can only recombine those few scores. "
                "Read the dots; run more seeds for an interval.")
    _title(fig, "Final scores: dots are runs; black tick is the IQM, the bar its 95 % stratified-bootstrap interval",
           note=note)
    atomic_write_with(path, lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)
    return path
