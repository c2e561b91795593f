"""Safety during training, as safe-RL papers report it: how many training episodes failed (timeouts,
boundary exits, non-finite resets) as training went on, against what the noiseless nominal policy
would have failed on as many episodes, and how often the filter fell back.

From each run's episodes.csv (its `learners_*` and `cohort_*` columns: every agent's counters by
group, cumulative, one row per training-agent episode) and its run_summary.json (the nominal's
failure rate, `safety.<group>.nominal`). Across a group's runs the curves are summarised at every
point by the IQM with a 95 % bootstrap interval over runs (report.stats), as the final scores are.
"""
from __future__ import annotations

import math

import numpy as np
from attrs import define

from report.load import Run
from report.stats import iqm, stratified_bootstrap_ci

#: the agent groups episodes.csv counts (components.agent_groups)
GROUPS = ("learners", "cohort")
FAILURES = ("timeouts", "boundary_exits", "nonfinite")


def has_safety(run: Run, group: str = "learners") -> bool:
    return f"{group}_episodes" in run.episodes and len(run.episodes[f"{group}_episodes"]) > 0


def nominal_failure_rate(run: Run, group: str) -> float:
    """The noiseless nominal's failure rate the run measured for `group`'s starts (NaN if unknown)."""
    try:
        rate = run.summary["safety"][group]["nominal"]["failure_rate"]
    except (KeyError, TypeError):
        return math.nan
    return float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else math.nan


def _column(run: Run, group: str, name: str) -> np.ndarray:
    return np.asarray(run.episodes[f"{group}_{name}"], float)


def cumulative(run: Run, group: str) -> dict[str, np.ndarray]:
    """x (the group's agent steps) and the cumulative failures, episodes, fallbacks and the nominal's
    expected failures at each row of episodes.csv (rows with any NaN dropped)."""
    steps = _column(run, group, "steps")
    failures = sum(_column(run, group, f) for f in FAILURES)
    episodes = _column(run, group, "episodes")
    ok = np.isfinite(steps) & np.isfinite(failures) & np.isfinite(episodes)
    return {"steps": steps[ok], "failures": failures[ok], "episodes": episodes[ok],
            "expected": nominal_failure_rate(run, group) * episodes[ok]}


@define
class SafetyBand:
    """IQM and its 95 % bootstrap interval across runs, at each x, of a cumulative count."""

    x: np.ndarray
    iqm: np.ndarray
    low: np.ndarray
    high: np.ndarray
    nominal: np.ndarray  # IQM of the nominal's expected failures at the same x
    runs: int


def safety_band(runs: list[Run], group: str, points: int = 50, reps: int = 2000) -> SafetyBand | None:
    """Cumulative failures against the group's agent steps, on a grid over the steps every run covers."""
    series = [c for c in (cumulative(r, group) for r in runs if has_safety(r, group)) if len(c["steps"]) >= 2]
    if not series:
        return None
    hi = min(c["steps"][-1] for c in series)
    lo = max(c["steps"][0] for c in series)
    if not hi > lo:
        return None
    grid = np.linspace(lo, hi, points)
    fails = np.array([np.interp(grid, c["steps"], c["failures"]) for c in series])
    expected = np.array([np.interp(grid, c["steps"], c["expected"]) for c in series])
    rng = np.random.default_rng(0)
    stats = np.array([stratified_bootstrap_ci(fails[:, j], "iqm", reps=reps, rng=rng) for j in range(points)])
    with np.errstate(invalid="ignore"):
        nominal = np.array([iqm(expected[:, j]) if np.isfinite(expected[:, j]).all() else math.nan
                            for j in range(points)])
    return SafetyBand(grid, stats[:, 0], stats[:, 1], stats[:, 2], nominal, len(series))


def _share(c: dict[str, np.ndarray], part: str, whole: str, since: int) -> float:
    a, b = c[part], c[whole]
    d = b[-1] - b[since]
    return float((a[-1] - a[since]) / d) if d > 0 else math.nan


def run_safety(run: Run, group: str) -> dict[str, float] | None:
    """One run's training-time safety for `group`: episodes, failures by kind, the nominal's expected
    failures on as many episodes, and the fallback share over all training and over its second half."""
    if not has_safety(run, group):
        return None
    last = {name: float(_column(run, group, name)[-1]) for name in
            ("episodes", "goals", "steps", "decided", "interventions", "relaxes", *FAILURES)}
    failures = sum(last[f] for f in FAILURES)
    decided = _column(run, group, "decided")
    cols = {"decided": decided, "interventions": _column(run, group, "interventions"),
            "relaxes": _column(run, group, "relaxes")}
    certified = cols["decided"] - cols["interventions"] - cols["relaxes"]
    cols["certified"] = certified
    half = len(decided) // 2
    rate = nominal_failure_rate(run, group)
    return {
        "episodes": last["episodes"], "failures": failures, "timeouts": last["timeouts"],
        "boundary_exits": last["boundary_exits"], "nonfinite": last["nonfinite"],
        "success_rate": last["goals"] / last["episodes"] if last["episodes"] else math.nan,
        "nominal_failure_rate": rate, "nominal_expected_failures": rate * last["episodes"],
        "fallback_share": last["interventions"] / last["decided"] if last["decided"] else math.nan,
        "certified_share": (last["decided"] - last["interventions"] - last["relaxes"]) / last["decided"]
        if last["decided"] else math.nan,
        "certified_share_second_half": _share(cols, "certified", "decided", half) if half else math.nan,
    }


SAFETY_TITLES = {
    "success_rate": "training episodes reaching the goal",
    "failures": "failed training episodes",
    "nominal_expected_failures": "the nominal's expected failures",
    "boundary_exits": "boundary exits",
    "certified_share_second_half": "certified share, second half",
}


def safety_rows(groups: dict[str, dict[str, list[Run]]], group: str) -> list[dict]:
    """Per report group and environment: the median and range over runs of each safety figure."""
    out = []
    for label, by_task in groups.items():
        for task, runs in by_task.items():
            per_run = [s for s in (run_safety(r, group) for r in runs) if s is not None]
            if not per_run:
                continue
            row = {"group": label, "environment": task, "runs": len(per_run),
                   "episodes": float(np.median([s["episodes"] for s in per_run]))}
            for key in SAFETY_TITLES:
                values = np.array([s[key] for s in per_run], float)
                values = values[np.isfinite(values)]
                row[key] = (float(np.median(values)), float(values.min()), float(values.max())) if values.size \
                    else (math.nan, math.nan, math.nan)
            out.append(row)
    return out
