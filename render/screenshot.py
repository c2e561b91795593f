"""The frame on screen as a PNG file or as a numpy image."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from panda3d.core import Filename

from safe_io.atomic import atomic_write_via_path


def save_png(base, path: str | Path) -> Path:  # noqa: ANN001
    """Write the last rendered frame to `path` (atomically: a temp file beside it, then rename)."""

    def write(tmp: Path) -> None:
        if not base.win.saveScreenshot(Filename.fromOsSpecific(str(tmp))):
            raise RuntimeError(f"Panda3D could not save a screenshot to {tmp}")

    return atomic_write_via_path(path, write)


def grab_rgb(base) -> np.ndarray:  # noqa: ANN001
    """The last rendered frame as (height, width, 3) uint8, top row first."""
    tex = base.win.getScreenshot()
    w, h = tex.getXSize(), tex.getYSize()
    return np.frombuffer(bytes(tex.getRamImageAs("RGB")), dtype=np.uint8).reshape(h, w, 3)[::-1].copy()
