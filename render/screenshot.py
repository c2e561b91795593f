"""The frame on screen as a PNG file or as a numpy image."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from panda3d.core import Filename


def save_png(base, path: str | Path) -> Path:  # noqa: ANN001
    """Write the last rendered frame to `path` (atomically: a temp file beside it, then rename)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".png", dir=target.parent or Path("."))
    os.close(fd)
    try:
        if not base.win.saveScreenshot(Filename.fromOsSpecific(tmp)):
            raise RuntimeError(f"Panda3D could not save a screenshot to {tmp}")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def grab_rgb(base) -> np.ndarray:  # noqa: ANN001
    """The last rendered frame as (height, width, 3) uint8, top row first."""
    tex = base.win.getScreenshot()
    w, h = tex.getXSize(), tex.getYSize()
    return np.frombuffer(bytes(tex.getRamImageAs("RGB")), dtype=np.uint8).reshape(h, w, 3)[::-1].copy()
