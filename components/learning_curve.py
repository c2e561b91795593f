"""LearningCurve: how learning goes, episode by episode, for the view's learning-curve panel.

Two bounded series over the training agent's episodes:

- per episode: the CALF filter's decisions of the learners and of the policy cohort during that
  episode (decided steps and certified ones, as counts, so merging two points is exact);
- per evaluation (rl.evaluation.EvalResult): the episode, success rate, return gain over the
  nominal policy, certified share and the nominal policy's success rate on the same starts.

Both are bounded (CAPACITY points): when the episode series is full, neighbouring points are
merged in pairs and each new point covers twice as many episodes (its `stride`), so a run of any
length is drawn over its whole span in fixed memory; when the evaluations are full, every other one
is dropped. systems/learning_curve.py writes it; render/learning_plot.py draws it.
"""
from __future__ import annotations

import math

import numpy as np

CAPACITY = 512
#: the columns of an evaluation point
EVAL_FIELDS = ("episode", "success", "gain", "certified", "nominal_success")
#: the counts of an episode point: learners' decided and certified steps, the cohort's
EPISODE_COUNTS = ("learners_decided", "learners_certified", "cohort_decided", "cohort_certified")


class LearningCurve:
    """Resource: the two series and a version that moves whenever either changes."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError(f"capacity must be an even number >= 2, got {capacity}")
        self.capacity = int(capacity)
        self.episode = np.zeros(capacity, dtype=np.int64)  # the last episode a point covers
        self.counts = np.zeros((capacity, len(EPISODE_COUNTS)), dtype=np.int64)
        self.length = 0
        self.stride = 1  # episodes per point
        self._pending = np.zeros(len(EPISODE_COUNTS), dtype=np.int64)
        self._pending_episodes = 0
        self.first_episode: int | None = None  # the first episode the series covers (a resumed run: later than 1)
        self.evals = np.full((capacity, len(EVAL_FIELDS)), math.nan)
        self.eval_length = 0
        self.version = 0

    # -- writing ---------------------------------------------------------------------------------
    def add_episode(self, episode: int, counts) -> None:  # noqa: ANN001 - four ints, EPISODE_COUNTS
        """One finished episode of the training agent (number `episode`, all time) and the filter's
        decisions during it."""
        if self.first_episode is None:
            self.first_episode = int(episode)
        self._pending += np.asarray(counts, dtype=np.int64)
        self._pending_episodes += 1
        if self._pending_episodes < self.stride:
            return
        if self.length == self.capacity:
            half = self.capacity // 2
            self.counts[:half] = self.counts[0::2] + self.counts[1::2]
            self.episode[:half] = self.episode[1::2]
            self.length, self.stride = half, self.stride * 2
            if self._pending_episodes < self.stride:
                self.version += 1
                return
        self.episode[self.length] = int(episode)
        self.counts[self.length] = self._pending
        self.length += 1
        self._pending[:] = 0
        self._pending_episodes = 0
        self.version += 1

    def add_evaluation(self, episode: int, success: float, gain: float, certified: float,
                       nominal_success: float) -> None:
        if self.first_episode is None:
            self.first_episode = int(episode)
        if self.eval_length == self.capacity:
            half = self.capacity // 2
            self.evals[:half] = self.evals[1::2]  # keep the newer of each pair: the last one stays
            self.evals[half:] = math.nan
            self.eval_length = half
        self.evals[self.eval_length] = (episode, success, gain, certified, nominal_success)
        self.eval_length += 1
        self.version += 1

    # -- reading ---------------------------------------------------------------------------------
    def shares(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(episode, learners' certified share, cohort's certified share) per point (NaN: nothing decided)."""
        c = self.counts[: self.length].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            learners = np.where(c[:, 0] > 0, c[:, 1] / np.maximum(c[:, 0], 1), math.nan)
            cohort = np.where(c[:, 2] > 0, c[:, 3] / np.maximum(c[:, 2], 1), math.nan)
        return self.episode[: self.length].copy(), learners, cohort

    def evaluations(self) -> np.ndarray:
        """(evaluations, len(EVAL_FIELDS)) oldest first."""
        return self.evals[: self.eval_length].copy()

    @property
    def last_evaluation(self) -> dict | None:
        if not self.eval_length:
            return None
        return dict(zip(EVAL_FIELDS, self.evals[self.eval_length - 1].tolist()))

    def gain_range(self) -> float:
        """Half the height of the gain plot: the largest |gain| so far rounded up to a step of
        5 % (at least 5 %, at most 1000 %), so the scale changes seldom and shows every point."""
        gains = self.evals[: self.eval_length, 2]
        gains = np.abs(gains[np.isfinite(gains)])
        top = float(gains.max()) if gains.size else 0.0
        return float(min(10.0, max(0.05, math.ceil(top / 0.05 - 1e-9) * 0.05)))

    def span(self) -> tuple[int, int] | None:
        """(first, last) episode the series cover, or None while empty."""
        last = []
        if self.length:
            last.append(int(self.episode[self.length - 1]))
        if self.eval_length:
            last.append(int(self.evals[self.eval_length - 1, 0]))
        if self.first_episode is None or not last:
            return None
        return self.first_episode, max(last)
