"""CohortStarts: where the policy cohort's agents start, one evaluation start after another.

The cohort replays the current policy from the evaluation's fixed start states (rl.evaluation's
`evaluation_starts`, seeded by `evaluation.seed` alone), so what the view shows between two
evaluations is the policy the next evaluation will judge, on the starts it will judge it from.
Each new episode of a cohort agent takes the next start in order, wrapping around.
"""
from __future__ import annotations

import numpy as np


class CohortStarts:
    """Resource: the evaluation starts and a cursor into them."""

    def __init__(self, starts: np.ndarray) -> None:
        starts = np.asarray(starts, dtype=np.float64)
        if starts.ndim != 2 or len(starts) == 0:
            raise ValueError(f"the cohort needs a non-empty (count, state_dim) array of starts, got shape {starts.shape}")
        self.starts = starts
        self.cursor = 0  # index of the next start to hand out

    def take(self, count: int) -> np.ndarray:
        """The next `count` starts (a copy), in order, wrapping around."""
        idx = (self.cursor + np.arange(int(count))) % len(self.starts)
        self.cursor = int((self.cursor + count) % len(self.starts))
        return self.starts[idx].copy()
