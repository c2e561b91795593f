"""LearningCurveSystem: fills the view's learning curve (components.learning_curve) as training goes.

After each simulation step (so every episode is seen at any time warp): when the training agent
finished an episode, the learners' and the policy cohort's CALF decisions since the previous one
(TrainingStats' per-group counters) become one point; every evaluation (the `evaluation_done`
event, rl.evaluation.EvalResult) becomes one point too. A resumed run starts its curve at the
episode it resumes from. Nothing here touches the agents, the networks or the random streams.
"""
from __future__ import annotations

import numpy as np

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
