"""LearningCurveSystem: fills the view's learning curve (components.learning_curve) as training goes.

After each simulation step (so every episode is seen at any time warp): when the training agent
finished an episode, the learners' and the policy cohort's CALF decisions since the previous one
(TrainingStats' per-group counters) become one point; every evaluation (the `evaluation_done`
event, rl.evaluation.EvalResult) becomes one point too. A resumed run's curve starts with the run
it resumes (its episodes.csv and eval.csv up to the checkpoint, `preload_history`). Nothing here touches the agents, the networks or the random streams.
"""
from __future__ import annotations

import numpy as np

import csv
import math
from pathlib import Path

from components.learning_curve import LearningCurve
from components.training_stats import TrainingStats
from ecs.system import System


def _decisions(stats: TrainingStats) -> np.ndarray:
    """The all-time counts LearningCurve's episode points are made of (EPISODE_COUNTS)."""
    learners, cohort = stats.learners, stats.cohort
    return np.array([learners.decided, learners.certified, cohort.decided, cohort.certified], dtype=np.int64)


class LearningCurveSystem(System):
    phase = "simulation"
    after = ("EvaluationSystem",)
    reads = ("TrainingStats",)
    writes = ("LearningCurve",)

    def setup(self, world) -> None:  # noqa: ANN001
        self.curve = world.try_resource(LearningCurve) or world.insert_resource(LearningCurve())
        self._seen: int | None = None  # the training agent's episodes at the last step
        self._base = np.zeros(4, dtype=np.int64)  # the counts when the last episode ended
        world.events.subscribe("evaluation_done", self._on_evaluation)
        self._world = world

    def teardown(self, world) -> None:  # noqa: ANN001
        world.events.unsubscribe("evaluation_done", self._on_evaluation)

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        stats = world.resource(TrainingStats)
        episodes = stats.episodes
        if self._seen is None or episodes < self._seen:  # the first step (or a restored checkpoint): a baseline
            self._seen = episodes
            self._base = _decisions(stats)
            return
        if episodes == self._seen:
            return
        now = _decisions(stats)
        self.curve.add_episode(episodes, now - self._base)
        self._base = now
        self._seen = episodes

    def _on_evaluation(self, result) -> None:  # noqa: ANN001 - rl.evaluation.EvalResult
        self.curve.add_evaluation(result.episode, result.success_rate, result.return_gain, result.certified_share,
                                  result.nominal_success_rate)


#: an eval.csv this large is not a run's (one row every few episodes): not read
EVAL_CSV_MAX_BYTES = 16 * 2**20


def _read_rows(path: Path) -> list[dict] | None:
    """A small run file's CSV rows, or None when it is missing, too large or unreadable."""
    try:
        if not path.is_file() or path.stat().st_size > EVAL_CSV_MAX_BYTES:
            return None
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):  # a damaged file is no reason to stop the run
        return None


def _number(row: dict, key: str) -> float:
    try:
        return float(row.get(key) or "nan")
    except (TypeError, ValueError):
        return math.nan


def preload_history(world, folder: str | Path) -> tuple[int, int]:  # noqa: ANN001
    """The learning curve of a run being resumed from `folder`: its episodes (episodes.csv's
    all-time counters by group, differenced row by row) and its evaluations (eval.csv), up to the
    episode the checkpoint holds. Returns (episode points, evaluations) added."""
    folder = Path(folder)
    return preload_episodes(world, folder / "episodes.csv"), preload_evaluations(world, folder / "eval.csv")


def preload_episodes(world, path: str | Path) -> int:  # noqa: ANN001
    """episodes.csv's rows up to the checkpoint's episode as the curve's episode points (a file
    without the per-group counters, from an older version, adds nothing)."""
    curve = world.try_resource(LearningCurve)
    rows = _read_rows(Path(path)) if curve is not None else None
    if not rows or "learners_decided" not in rows[0]:
        return 0
    upto = world.resource(TrainingStats).episodes

    def counts(row: dict) -> np.ndarray | None:
        v = {k: _number(row, k) for k in ("learners_decided", "learners_interventions", "learners_relaxes",
                                          "cohort_decided", "cohort_interventions", "cohort_relaxes")}
        if not all(math.isfinite(x) for x in v.values()):
            return None
        return np.array([v["learners_decided"], v["learners_decided"] - v["learners_interventions"] - v["learners_relaxes"],
                         v["cohort_decided"], v["cohort_decided"] - v["cohort_interventions"] - v["cohort_relaxes"]],
                        dtype=np.int64)

    added, before, last_episode = 0, None, None
    for row in rows:
        episode, now = _number(row, "episode"), counts(row)
        if not math.isfinite(episode) or now is None or episode > upto:
            continue
        if before is None and episode == 1:
            before = np.zeros(4, dtype=np.int64)  # the run's first episode: counted from zero
        if before is not None and last_episode is not None and episode != last_episode + 1:
            before = None  # a gap (rows lost): start again from the next row
        if before is not None and np.all(now >= before):
            curve.add_episode(int(episode), now - before)
            added += 1
        before, last_episode = now, int(episode)
    return added


def preload_evaluations(world, path: str | Path) -> int:  # noqa: ANN001
    """Put the evaluations of a run being resumed (its eval.csv, rows up to the episode the
    checkpoint holds) into the learning curve, so the panel shows the whole run; returns how many.
    A missing, unreadable or odd file adds nothing (the run goes on; its own outputs say the rest)."""
    curve = world.try_resource(LearningCurve)
    rows = _read_rows(Path(path)) if curve is not None else None
    if not rows:
        return 0
    upto = world.resource(TrainingStats).episodes
    number = _number
    added = 0
    for row in rows:
        episode = number(row, "episode")
        if not math.isfinite(episode) or episode > upto:
            continue
        curve.add_evaluation(int(episode), number(row, "success_rate"), number(row, "return_gain"),
                             number(row, "certified_share"), number(row, "nominal_success_rate"))
        added += 1
    return added
