"""The camera: orbit-free navigation over the surface, in the scene's own display region.

WASD slides the view over the ground plane; scrolling zooms about the point under the mouse (or
the centre of the view), so that point stays put. `frame(points)` places the camera, looking
down the default direction, so that every point is inside the view with a margin: the surface
is framed in the free area whatever the sidebar leaves of the window. `follow(point)` keeps the
inspected agent in the middle of the view while the camera keeps its angle and distance.
"""
from __future__ import annotations

import math

import numpy as np
from panda3d.core import Point2, Point3

START_POSITION = (-1.3, 10.5, -15.0)  # with START_TARGET: the default viewing direction
START_TARGET = (-1.3, 0.6, 1.6)
ZOOM_STEP = 0.88
MIN_DISTANCE, MAX_DISTANCE = 1.5, 80.0
PAN_SPEED = 0.35  # of the distance to the target, per second
MIN_FOV = 55.0  # degrees, in the region's narrower dimension
FRAME_MARGIN = 0.92  # framed points stay within this fraction of the film's half-size


class CameraRig:
    def __init__(self, camera, base, position=START_POSITION, target=START_TARGET) -> None:  # noqa: ANN001
        self.camera = camera  # ursina's camera entity
        self.base = base
        self.position = np.array(position, dtype=np.float64)
        self.target = np.array(target, dtype=np.float64)
        self.region = (0.0, 1.0, 0.0, 1.0)  # the scene's display region (fractions of the window)
        self.apply()

    def apply(self) -> None:
        self.camera.position = tuple(self.position)
        self.camera.look_at(tuple(self.target))

    def set_region(self, region: tuple[float, float, float, float], width: int, height: int) -> None:
        """The scene now draws into `region` of a width x height window: match the lens to its shape."""
        self.region = tuple(region)
        left, right, bottom, top = region
        aspect = max((right - left) * width, 1.0) / max((top - bottom) * height, 1.0)
        lens = self.base.camLens
        lens.setAspectRatio(aspect)
        lens.setMinFov(MIN_FOV)

    @property
    def distance(self) -> float:
        return float(np.linalg.norm(self.position - self.target))

    # -- framing and following -----------------------------------------------------------------
    def frame(self, points: np.ndarray, direction: np.ndarray | None = None) -> None:
        """Look along `direction` (default: the start direction) at the centre of `points` from the
        nearest distance at which all of them are inside the view (FRAME_MARGIN of the film)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        d = np.asarray(START_TARGET, float) - np.asarray(START_POSITION, float) if direction is None else direction
        forward = d / np.linalg.norm(d)
        up = np.array([0.0, 1.0, 0.0])
        right = np.cross(up, forward)
        right /= np.linalg.norm(right)
        up = np.cross(forward, right)
        hfov, vfov = (math.radians(a) for a in self.base.camLens.getFov())
        tx, ty = math.tan(hfov / 2) * FRAME_MARGIN, math.tan(vfov / 2) * FRAME_MARGIN
        centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
        rel = pts - centre

        def fits(dist: float) -> bool:
            depth = rel @ forward + dist
            if np.any(depth <= 1e-6):
                return False
            return bool(np.all(np.abs(rel @ right) <= tx * depth) and np.all(np.abs(rel @ up) <= ty * depth))

        lo, hi = 0.0, 1.0
        while not fits(hi):
            hi *= 2.0
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if fits(mid) else (mid, hi)
        self.target = centre
        self.position = centre - forward * hi
        self.apply()

    def follow(self, point: np.ndarray) -> None:
        """Move camera and target together so the target is `point` (angle and distance kept)."""
        shift = np.asarray(point, dtype=np.float64) - self.target
        if np.allclose(shift, 0.0):
            return
        self.position += shift
        self.target += shift
        self.apply()

    # -- keys and mouse ------------------------------------------------------------------------
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
        """The point under `film_xy` ([-1, 1]^2 of the scene's region; None = centre) on the
        horizontal plane through the target."""
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

    def window_to_film(self, wx: float, wy: float) -> tuple[float, float] | None:
        """Window coordinates ([-1, 1]^2, y up) -> the scene region's film coordinates, or None outside it."""
        left, right, bottom, top = self.region
        u, v = 0.5 * (wx + 1.0), 0.5 * (wy + 1.0)
        if not (left <= u <= right and bottom <= v <= top) or right <= left or top <= bottom:
            return None
        return 2.0 * (u - left) / (right - left) - 1.0, 2.0 * (v - bottom) / (top - bottom) - 1.0

    def mouse_window_xy(self) -> tuple[float, float] | None:
        watcher = self.base.mouseWatcherNode
        if watcher is None or not watcher.hasMouse():
            return None
        m = watcher.getMouse()
        return float(m.getX()), float(m.getY())

    def mouse_film_xy(self) -> tuple[float, float] | None:
        xy = self.mouse_window_xy()
        return None if xy is None else self.window_to_film(*xy)
