"""Mode colours as lookup tables, so a whole column of modes becomes colours in one indexing."""
from __future__ import annotations

import numpy as np

from components.modes import MODE_COLORS, TRAINING_CERTIFIED_COLOR, Mode
from render.vertex_arrays import rgba8

#: row m = colour of Mode m (RGBA, alpha 1); components.modes says why these colours
MODE_RGBA = np.array([(*MODE_COLORS[Mode(m)], 1.0) for m in range(len(Mode))], dtype=np.float32)
TRAINING_CERTIFIED_RGBA = np.array((*TRAINING_CERTIFIED_COLOR, 1.0), dtype=np.float32)
MODE_RGBA8 = rgba8(MODE_RGBA)
TRAINING_CERTIFIED_RGBA8 = rgba8(TRAINING_CERTIFIED_RGBA)


def mode_colors8(modes: np.ndarray, training_mask: np.ndarray | None = None) -> np.ndarray:
    """uint8 RGBA per entry of `modes`; entries where `training_mask` is set and the mode is
    CERTIFIED get the training agent's yellow."""
    out = MODE_RGBA8[modes]
    if training_mask is not None:
        out[training_mask & (modes == Mode.CERTIFIED)] = TRAINING_CERTIFIED_RGBA8
    return out
