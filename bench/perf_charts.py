"""The performance report's charts (matplotlib, Agg), drawn from a perf_data.Study and the micro-benchmarks."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bench.perf_data import RENDERS, VARIANTS, Study  # noqa: E402

COLORS = {"baseline": "#c0392b", "optimized": "#2471a3"}
LABELS = {"baseline": "baseline (flags off)", "optimized": "optimised (flags on)"}
TITLES = {"offscreen": "offscreen 1280x720 (llvmpipe)", "headless": "headless (view data systems, no renderer)"}
SYSTEM_COLORS = {
    "PopulationSystem": "#7f8c8d", "ControlSystem": "#8e44ad", "PhysicsSystem": "#16a085",
    "TrainingSystem": "#d35400", "HeatmapSystem": "#f1c40f", "HeightSystem": "#27ae60",
    "TrailBatchSystem": "#2980b9", "StatsSystem": "#c0392b", "RenderSystem": "#34495e", "ProfilerSystem": "#bdc3c7",
}


def _save(fig, path: Path) -> Path:  # noqa: ANN001
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _median_range(series) -> tuple:  # noqa: ANN001 - (N, values) pairs
    """(Ns, medians, [below, above]) for error bars over the Ns that have values."""
    ns, mid, lo, hi = [], [], [], []
    for n, v in series:
        if not v:
            continue
        ns.append(n)
        m = float(np.median(v))
        mid.append(m)
        lo.append(m - min(v))
        hi.append(max(v) - m)
    return np.array(ns), np.array(mid), np.array([lo, hi])


def _errorbars(study: Study, render: str, variant: str, key: str) -> tuple:
    return _median_range((n, study.values(render, variant, n, key)) for n in study.agents)


def _decorate(ax, xlabel: str, ylabel: str, title: str, logy: bool = True) -> None:  # noqa: ANN001
    """Log N axis (and log y), labels, a 10-point title, grid and legend."""
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def fps_vs_n(study: Study, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, render in zip(axes, RENDERS):
        for variant in VARIANTS:
            ns, mid, err = _errorbars(study, render, variant, "fps_mean")
            if len(ns):
                ax.errorbar(ns, mid, yerr=err, marker="o", capsize=3, color=COLORS[variant], label=LABELS[variant])
        _decorate(ax, "visual agents N (+ the training agent)", "FPS (1000 / mean frame ms)", TITLES[render])
    fig.suptitle("FPS vs N: median of the repeats, bars show their range", fontsize=11)
    return _save(fig, path)


def speedup_vs_n(study: Study, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    markers = {"offscreen": "o", "headless": "s"}
    for render in RENDERS:
        speedups = ((n, [1.0 / x for x in study.ratios(render, n, "frame_mean_ms")]) for n in study.agents)
        ns, mid, err = _median_range(speedups)  # baseline / optimised
        if len(ns):
            ax.errorbar(ns, mid, yerr=err, marker=markers[render], capsize=3, label=TITLES[render])
    ax.axhline(2.0, color="k", ls="--", lw=1, label="target at N = 20: x2")
    ax.axhline(1.3, color="grey", ls=":", lw=1, label="seed target: +30 % FPS (x1.3)")
    ax.axhline(1.0, color="grey", lw=0.5)
    _decorate(ax, "visual agents N", "speed-up: baseline frame / optimised frame (mean ms)",
              "Speed-up vs N (per-repeat ratios of back-to-back runs; median and range)", logy=False)
    return _save(fig, path)


def systems_stacked(study: Study, n: int, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1, 1]})
    for ax, render in zip(axes, RENDERS):
        names = study.systems(render)
        bottoms = np.zeros(len(VARIANTS))
        for name in names:
            vals = np.array([study.value(render, v, n, f"sys_mean:{name}") for v in VARIANTS])
            vals = np.nan_to_num(vals)
            ax.bar([LABELS[v] for v in VARIANTS], vals, bottom=bottoms, color=SYSTEM_COLORS.get(name, None),
                   label=name.replace("System", ""), width=0.55)
            bottoms += vals
        frames = [study.value(render, v, n, "frame_mean_ms") for v in VARIANTS]
        for x, (total, frame) in enumerate(zip(bottoms, frames)):
            ax.text(x, total, f"{total:.1f} ms\n(frame {frame:.1f})", ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, max(bottoms.max(), max(frames)) * 1.22)
        ax.set_ylabel(f"mean ms per frame at N = {n}")
        ax.set_title(TITLES[render], fontsize=10)
        ax.legend(fontsize=7, ncol=2, loc="upper right")
    fig.suptitle(f"Where a frame goes at N = {n}: mean time per system (median of repeats)", fontsize=11)
    return _save(fig, path)


def draw_calls_vs_n(study: Study, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for variant in VARIANTS:
        ns, mid, err = _errorbars(study, "offscreen", variant, "draw_calls")
        if len(ns):
            ax.plot(ns, mid, marker="o", color=COLORS[variant], label=LABELS[variant])
    _decorate(ax, "visual agents N", "GL draw calls per frame (PStats)", "Draw calls per frame, offscreen")
    return _save(fig, path)


def interpolation(micro: dict, path: Path) -> Path:
    rows = micro["interpolation"]["rows"]
    ns = [r["n"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    for key, label, color in (("loop_us", "per-agent loop (baseline)", COLORS["baseline"]),
                              ("gather_before_us", "gather kernel (before this study)", "#95a5a6"),
                              ("vectorized_us", "BilinearSampler (optimised)", COLORS["optimized"])):
        ax.plot(ns, [r[key] for r in rows], marker="o", label=label, color=color)
    _decorate(ax, "agents N", "microseconds per call (median)", "Bilinear height interpolation")
    ax = axes[1]
    ax.errorbar(ns, [r["ratio_median"] for r in rows],
                yerr=[[r["ratio_median"] - r["ratio_q1"] for r in rows], [r["ratio_q3"] - r["ratio_median"] for r in rows]],
                marker="o", capsize=3, color=COLORS["optimized"], label="loop / BilinearSampler")
    ax.plot(ns, [r["ratio_before_median"] for r in rows], marker="s", color="#95a5a6", label="loop / gather kernel (before)")
    ax.plot([30, 1000], [20, 200], "k*", markersize=10, label="targets (x20 at 30, x200 at 1000)")
    _decorate(ax, "agents N", "speed-up (median of alternating rounds, IQR bars)", "Vectorised vs loop")
    return _save(fig, path)


def regression_pair(baseline_png: Path, optimized_png: Path, path: Path) -> Path:
    from matplotlib import image as mpimg

    a, b = mpimg.imread(baseline_png), mpimg.imread(optimized_png)
    fig, axes = plt.subplots(1, 2, figsize=(12.8, 3.9))
    for ax, img, title in zip(axes, (a, b), ("baseline (flags off)", "optimised (flags on)")):
        ax.imshow(img)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    return _save(fig, path)
