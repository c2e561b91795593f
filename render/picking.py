"""Mouse picking on the agent markers: every marker projected to the screen in one numpy pass.

The camera's world-to-view matrix times the lens's projection matrix (Panda3D's row-vector
convention: clip = point @ M) maps all N marker centres to clip space at once; the scene's
display region maps them to window pixels. A click selects the marker whose centre is nearest
to the mouse within PICK_RADIUS_PX, the nearest to the camera among equally near ones: no
collision solids, no per-agent Python.
"""
from __future__ import annotations

import numpy as np

PICK_RADIUS_PX = 14.0


def matrix(m) -> np.ndarray:  # noqa: ANN001 - a Panda3D LMatrix4
    return np.array([[m.getCell(i, j) for j in range(4)] for i in range(4)], dtype=np.float64)


def view_projection(base) -> np.ndarray:  # noqa: ANN001
    """World -> clip space of the main camera (row vectors)."""
    world_to_view = np.linalg.inv(matrix(base.cam.getMat(base.render)))
    return world_to_view @ matrix(base.camLens.getProjectionMat())


def project(points: np.ndarray, vp: np.ndarray, region: tuple[float, float, float, float], width: int,
            height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixels (n, 2) as x right / y down in the window, depth (n,), visible (n,)) of world points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    clip = pts @ vp[:3] + vp[3]
    w = clip[:, 3]
    ahead = w > 1e-9
    safe = np.where(ahead, w, 1.0)
    fx, fy = clip[:, 0] / safe, clip[:, 1] / safe
    left, right, bottom, top = region
    px = (left + 0.5 * (fx + 1.0) * (right - left)) * width
    py = (1.0 - (bottom + 0.5 * (fy + 1.0) * (top - bottom))) * height
    visible = ahead & (np.abs(fx) <= 1.0) & (np.abs(fy) <= 1.0)
    return np.stack([px, py], axis=1), w, visible


def pick(pixels: np.ndarray, depth: np.ndarray, visible: np.ndarray, x: float, y: float,
         radius: float = PICK_RADIUS_PX) -> int:
    """The row whose projected centre is within `radius` px of (x, y), nearest first (then nearest
    to the camera); -1 when there is none."""
    if pixels.shape[0] == 0:
        return -1
    d2 = (pixels[:, 0] - x) ** 2 + (pixels[:, 1] - y) ** 2
    ok = visible & (d2 <= radius * radius)
    if not ok.any():
        return -1
    rows = np.flatnonzero(ok)
    order = np.lexsort((depth[rows], np.round(d2[rows], 1)))
    return int(rows[order[0]])
