"""The report's numbers: per group and environment, the final scores' median, quartiles and IQM with
a bootstrap interval; across environments, the IQM with a stratified-bootstrap interval."""
from __future__ import annotations

import math

import numpy as np
from attrs import asdict, define

from report.load import Run
from report.metrics import EPISODE_SCORES, EVAL_SCORES, final_scores
from report.stats import quartiles, stratified_bootstrap_ci


#: below this many runs a group's bootstrap interval means little (it can only recombine those few
#: scores): the chart draws it dashed and says so, the tables mark it
FEW_RUNS = 5


@define
class Summary:
    """One final score of one group, on one environment or pooled over all (task = '*')."""

    group: str
    task: str
    score: str
    runs: int
    median: float
    q25: float
    q75: float
    iqm: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def score_names(runs: list[Run]) -> list[str]:
    names = list(EPISODE_SCORES)
    if any(r.evals is not None for r in runs):
        names += [f"eval_{c}" for c in EVAL_SCORES]
    return names


#: the scores drawn in final_scores.png (the tables have them all)
CHART_SCORES = ("success", "return", "certified_share", "eval_success_rate", "eval_return_gain",
                "eval_certified_share")


def chart_scores(runs: list[Run]) -> list[str]:
    return [n for n in score_names(runs) if n in CHART_SCORES]


def summarise(groups: dict[str, dict[str, list[Run]]], last: int, reps: int = 10_000,
              seed: int = 0) -> list[Summary]:
    """Every group x environment x score; plus pooled rows (task '*') when there are several environments."""
    tasks = list(dict.fromkeys(t for g in groups.values() for t in g))
    all_runs = [r for g in groups.values() for rs in g.values() for r in rs]
    names = score_names(all_runs)
    scores = {id(r): final_scores(r, last) for r in all_runs}
    rng = np.random.default_rng(seed)
    out: list[Summary] = []
    for label, by_task in groups.items():
        for name in names:
            per_task = {}
            for task, runs in by_task.items():
                x = np.array([scores[id(r)][name] for r in runs], float)
                x = x[np.isfinite(x)]
                per_task[task] = x
                q25, med, q75 = quartiles(x)
                point, lo, hi = stratified_bootstrap_ci([x], "iqm", reps=reps, rng=rng) if x.size else (math.nan,) * 3
                out.append(Summary(label, task, name, int(x.size), med, q25, q75, point, lo, hi))
            if len(tasks) > 1:
                pooled = [x for x in per_task.values() if x.size]
                allx = np.concatenate(pooled) if pooled else np.zeros(0)
                q25, med, q75 = quartiles(allx)
                point, lo, hi = stratified_bootstrap_ci(pooled, "iqm", reps=reps, rng=rng) if pooled \
                    else (math.nan,) * 3
                out.append(Summary(label, "*", name, int(allx.size), med, q25, q75, point, lo, hi))
    return out
