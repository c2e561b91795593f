"""The critic surface's banded colour scale: light violet (low) -> blue -> cyan -> green -> yellow -> orange -> red (high).

Pure numpy so the surface colours are computed (and tested) without a renderer.
"""
from __future__ import annotations

import numpy as np

#: colour stops from low to high (RGB in [0, 1]), as the original program drew the surface
SURFACE_STOPS = np.array(
    [
        (0.80, 0.70, 1.00),  # light violet
        (0.20, 0.35, 1.00),  # blue
        (0.00, 0.85, 0.95),  # cyan
        (0.15, 0.80, 0.25),  # green
        (1.00, 0.92, 0.10),  # yellow
        (1.00, 0.55, 0.05),  # orange
        (0.90, 0.10, 0.10),  # red
    ]
)
#: number of flat colour bands the scale is cut into
SURFACE_BANDS = 12


def banded_gradient(t: np.ndarray, alpha: float, bands: int = SURFACE_BANDS,
                    stops: np.ndarray = SURFACE_STOPS) -> np.ndarray:
    """RGBA float32 for every value of `t` in [0, 1] (clipped): `t` is cut into `bands` equal bands,
    coloured evenly along the stops from the first (lowest band) to the last (highest band)."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    band = np.minimum(np.floor(t * bands), bands - 1)
    pos = band / (bands - 1) * (len(stops) - 1)
    i0 = np.minimum(pos.astype(np.int64), len(stops) - 2)
    frac = (pos - i0)[..., None]
    rgb = stops[i0] * (1.0 - frac) + stops[i0 + 1] * frac
    out = np.empty(t.shape + (4,), dtype=np.float32)
    out[..., :3] = rgb
    out[..., 3] = alpha
    return out
