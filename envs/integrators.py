"""A vectorised RK4 step that reuses scratch buffers, so a frame allocates (almost) nothing.

With large batches, numpy temporaries above glibc's mmap threshold are mapped and unmapped on
every operation (page faults each time); in-place arithmetic into preallocated buffers avoids it.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

Derivatives = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


class RK4:
    """Classical Runge-Kutta 4 with the action held constant over the step."""

    def __init__(self) -> None:
        self._buf = np.empty((5, 0, 0))

    def _scratch(self, shape: tuple[int, ...]) -> np.ndarray:
        """Five (n, d) buffers; grown by doubling so a changing n rarely reallocates."""
        n, tail = shape[0], shape[1:]
        if self._buf.shape[2:] != tail:
            self._buf = np.empty((5, n, *tail))
        elif self._buf.shape[1] < n:
            self._buf = np.empty((5, max(n, 2 * self._buf.shape[1]), *tail))
        return self._buf[:, :n]

    def step(self, f: Derivatives, s: np.ndarray, a: np.ndarray, h: float, out: np.ndarray | None = None) -> np.ndarray:
        k1, k2, k3, k4, tmp = self._scratch(s.shape)
        f(s, a, k1)
        np.multiply(k1, 0.5 * h, out=tmp)
        tmp += s
        f(tmp, a, k2)
        np.multiply(k2, 0.5 * h, out=tmp)
        tmp += s
        f(tmp, a, k3)
        np.multiply(k3, h, out=tmp)
        tmp += s
        f(tmp, a, k4)
        # s + h/6 (k1 + 2 k2 + 2 k3 + k4)
        k2 += k3
        k2 *= 2.0
        k1 += k4
        k1 += k2
        k1 *= h / 6.0
        if out is None:
            out = np.empty_like(s)
        np.add(s, k1, out=out)
        return out
