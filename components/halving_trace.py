"""A bounded per-step trace: when full it keeps every other point and doubles its stride.

Shared by the training agent's certificate timeline (TrainingStats) and the inspected agent's
(CertificateTrace), so a long episode costs fixed memory and the plot still spans all of it.
"""
from __future__ import annotations

import numpy as np


def append_halving(q: np.ndarray, mode: np.ndarray, length: int, stride: int, count: int,
                   q_value: float, mode_value: int) -> tuple[int, int, bool]:
    """Offer step `count` (0-based within the episode) to the trace held in `q`, `mode`, `length`,
    `stride`. Returns the new (length, stride) and whether the arrays changed."""
    if count % stride:
        return length, stride, False
    cap = q.size
    if cap == 0:
        return length, stride, False
    if length >= cap:
        half = cap // 2
        q[:half] = q[0:cap:2][:half]
        mode[:half] = mode[0:cap:2][:half]
        length, stride = half, stride * 2
        if count % stride:
            return length, stride, True
    q[length] = q_value
    mode[length] = mode_value
    return length + 1, stride, True
