"""safety.png: training-time safety per group of agents, against the noiseless nominal policy.

One column per environment; rows: the learners' cumulative failed training episodes against their
agent steps, the policy cohort's, and the learners' certified and fallback shares (per stretch of
episodes.csv rows). Each report group is one colour: the IQM across its runs with the 95 % bootstrap
interval as a band; the dashed line of the same colour is what the nominal policy alone would have
failed on as many episodes (its failure rate measured on the same start distribution, IQM across runs).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from report.charts import _colors, _grid
from report.load import Run
from report.safety import GROUPS, has_safety, safety_band
from report.stats import iqm
from safe_io.atomic import atomic_write_with

TITLES = {"learners": "learners: failed training episodes", "cohort": "policy cohort: failed episodes"}


def _shares(runs: list[Run], points: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """x, and the IQM across runs of the learners' certified and fallback shares between grid points."""
    series = []
    for r in runs:
        if not has_safety(r):
            continue
        ep = r.episodes
        steps = np.asarray(ep["learners_steps"], float)
        dec = np.asarray(ep["learners_decided"], float)
        itv = np.asarray(ep["learners_interventions"], float)
        rel = np.asarray(ep["learners_relaxes"], float)
        ok = np.isfinite(steps) & np.isfinite(dec) & np.isfinite(itv) & np.isfinite(rel)
        if ok.sum() >= 3:
            series.append((steps[ok], dec[ok], itv[ok], rel[ok]))
    if not series:
        return None
    lo, hi = max(s[0][0] for s in series), min(s[0][-1] for s in series)
    if not hi > lo:
        return None
    edges = np.linspace(lo, hi, points + 1)
    cert, fall = [], []
    for steps, dec, itv, rel in series:
        d = np.diff(np.interp(edges, steps, dec))
        i = np.diff(np.interp(edges, steps, itv))
        x = np.diff(np.interp(edges, steps, rel))
        with np.errstate(invalid="ignore", divide="ignore"):
            cert.append(np.where(d > 0, (d - i - x) / d, np.nan))
            fall.append(np.where(d > 0, i / d, np.nan))
    cert, fall = np.array(cert), np.array(fall)
    mid = 0.5 * (edges[1:] + edges[:-1])
    with np.errstate(invalid="ignore"):
        return (mid, np.array([iqm(c[np.isfinite(c)]) for c in cert.T]),
                np.array([iqm(f[np.isfinite(f)]) for f in fall.T]))


def safety_chart(groups: dict[str, dict[str, list[Run]]], tasks: list[str], path: Path) -> Path | None:
    colors = _colors(list(groups))
    plt, fig, axes = _grid(len(GROUPS) + 1, len(tasks))
    drawn = False
    for j, task in enumerate(tasks):
        for i, group in enumerate(GROUPS):
            ax = axes[i, j]
            for label, by_task in groups.items():
                b = safety_band(by_task.get(task, []), group)
                if b is None:
                    continue
                drawn = True
                c = colors[label]
                ax.fill_between(b.x, b.low, b.high, color=c, alpha=0.22, lw=0)
                ax.plot(b.x, b.iqm, color=c, lw=1.8, label=f"{label} ({b.runs} runs)")
                if np.isfinite(b.nominal).any():
                    ax.plot(b.x, b.nominal, color=c, lw=1.2, ls="--")
            ax.set_title(f"{task}: {TITLES[group]}", fontsize=9)
            ax.set_xlabel(f"agent steps of the {'learners' if group == 'learners' else 'cohort'}", fontsize=8)
            top = max([1.0, *(line.get_ydata().max() for line in ax.get_lines() if len(line.get_ydata()))])
            ax.set_ylim(-0.03 * top, 1.08 * top)
            ax.grid(alpha=0.3)
        ax = axes[len(GROUPS), j]
        for label, by_task in groups.items():
            s = _shares(by_task.get(task, []))
            if s is None:
                continue
            x, cert, fall = s
            ax.plot(x, cert, color=colors[label], lw=1.8)
            ax.plot(x, fall, color=colors[label], lw=1.2, ls=":")
        ax.set_title(f"{task}: learners' certified (solid) and fallback (dotted) shares, IQM over runs", fontsize=9)
        ax.set_xlabel("agent steps of the learners", fontsize=8)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    if not drawn:
        plt.close(fig)
        return None
    # one legend for the figure, below the plots, so long group names never cover a curve
    handles, names = axes[0, 0].get_legend_handles_labels()
    names = [textwrap.fill(n, 110, subsequent_indent="    ") for n in names]
    rows = sum(n.count("\n") + 1 for n in names)
    legend_h = 0.22 * rows + 0.2
    fig.set_figheight(fig.get_figheight() + legend_h)
    fig.legend(handles, names, loc="lower left", fontsize=7, frameon=False, bbox_to_anchor=(0.01, 0.0))
    fig.suptitle("Safety while training: failed episodes, IQM across runs with its 95 % bootstrap band;\n"
                 "dashed: the nominal policy's expected failures on as many episodes", fontsize=10)
    fig.tight_layout(rect=(0, legend_h / fig.get_figheight(), 1, 1 - 0.6 / fig.get_figheight()))
    atomic_write_with(path, lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)
    return path
