"""The camera: orbit-free navigation over the surface. WASD slides the view over the ground plane;
scrolling zooms about the point under the mouse (or the centre of the view), so that point stays put."""
from __future__ import annotations

import numpy as np
from panda3d.core import Point2, Point3

START_POSITION = (-1.3, 10.5, -15.0)
START_TARGET = (-1.3, 0.6, 1.6)
ZOOM_STEP = 0.88
MIN_DISTANCE, MAX_DISTANCE = 1.5, 80.0
PAN_SPEED = 0.35  # of the distance to the target, per second


class CameraRig:
    def __init__(self, camera, base, position=START_POSITION, target=START_TARGET, fov: float = 55.0) -> None:  # noqa: ANN001
        self.camera = camera  # ursina's camera entity
        self.base = base
        self.position = np.array(position, dtype=np.float64)
        self.target = np.array(target, dtype=np.float64)
        camera.fov = fov
        self.apply()

    def apply(self) -> None:
        self.camera.position = tuple(self.position)
        self.camera.look_at(tuple(self.target))

    @property
    def distance(self) -> float:
        return float(np.linalg.norm(self.position - self.target))

    def pan(self, forward: float, right: float, dt: float) -> None:
        """Slide camera and target together over the ground plane (W/S forward, D/A right)."""
        view = self.target - self.position
        fwd = np.array([view[0], 0.0, view[2]])
        norm = np.linalg.norm(fwd)
        if norm < 1e-9 or (forward == 0 and right == 0):
            return
        fwd /= norm
        rgt = np.array([fwd[2], 0.0, -fwd[0]])  # y-up, left-handed: right of forward
        step = (forward * fwd + right * rgt) * PAN_SPEED * self.distance * dt
        self.position += step
        self.target += step
        self.apply()

    def pivot(self, film_xy: tuple[float, float] | None) -> np.ndarray:
        """The point under `film_xy` ([-1, 1]^2; None = centre) on the horizontal plane through the target."""
        near, far = Point3(), Point3()
        xy = film_xy if film_xy is not None else (0.0, 0.0)
        if not self.base.camLens.extrude(Point2(*xy), near, far):
            return self.target.copy()
        render = self.base.render
        a = np.array(render.getRelativePoint(self.base.cam, near))
        b = np.array(render.getRelativePoint(self.base.cam, far))
        dy = b[1] - a[1]
        if abs(dy) < 1e-9:
            return self.target.copy()
        t = (self.target[1] - a[1]) / dy
        if t <= 0:
            return self.target.copy()
        return a + t * (b - a)

    def zoom(self, zoom_in: bool, film_xy: tuple[float, float] | None = None) -> None:
        """Scale camera and target about the pivot: the pivot keeps its place on screen."""
        factor = ZOOM_STEP if zoom_in else 1.0 / ZOOM_STEP
        new_distance = self.distance * factor
        if not MIN_DISTANCE <= new_distance <= MAX_DISTANCE:
            return
        p = self.pivot(film_xy)
        self.position = p + (self.position - p) * factor
        self.target = p + (self.target - p) * factor
        self.apply()

    def mouse_film_xy(self) -> tuple[float, float] | None:
        watcher = self.base.mouseWatcherNode
        if watcher is None or not watcher.hasMouse():
            return None
        m = watcher.getMouse()
        return float(m.getX()), float(m.getY())
