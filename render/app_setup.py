"""Creating the Ursina app for a window or an offscreen EGL buffer, and GL synchronisation.

Ursina is a singleton: one app per process. Offscreen runs pin Panda3D's headless EGL pipe, so
they render identically with or without a display.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import os
import sys

# Panda3D's harmless start-up chatter (pipe list, no monitor, EGL default display, a PNG's colour
# profile) is silenced; real errors stay. Offscreen runs have no input devices to complain about.
_COMMON_PRC = ("audio-library-name null\nprint-pipe-types #f\nnotify-level-display error\n"
               "notify-level-pnmimage error\nsync-video #f\n")
_OFFSCREEN_PRC = "load-display p3headlessgl\naux-display pandagl\nnotify-level-device fatal\n"


class NoDisplayError(RuntimeError):
    """A window was asked for but there is no display to open it on."""


NO_DISPLAY_MESSAGE = (
    "no display to open a window on (DISPLAY is not set); use --offscreen to render without one "
    "or --headless to run without rendering"
)


def display_available() -> bool:
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def create_app(mode: str, width: int, height: int):  # noqa: ANN201 - the ursina.Ursina singleton
    """An Ursina app for mode 'window' or 'offscreen' at width x height, with the UI usable.

    Raises NoDisplayError for a window without a display (checked before Panda3D tries).
    """
    if mode not in ("window", "offscreen"):
        raise ValueError(f"mode must be 'window' or 'offscreen', got {mode!r}")
    if mode == "window" and not display_available():
        raise NoDisplayError(NO_DISPLAY_MESSAGE)
    from panda3d.core import loadPrcFileData

    loadPrcFileData("calf-ecs", _COMMON_PRC + (_OFFSCREEN_PRC if mode == "offscreen" else ""))
    with contextlib.redirect_stdout(io.StringIO()):  # ursina prints its asset folders at start-up
        from ursina import Ursina, camera, window

        try:
            app = Ursina(
                title="calf-ecs: CALF training, live",
                window_type="offscreen" if mode == "offscreen" else "onscreen",
                size=(width, height),
                development_mode=False,
                borderless=False,
                fullscreen=False,
                vsync=False,
            )
        except Exception as exc:
            if "window" in str(exc).lower():
                raise NoDisplayError(f"could not open a window ({exc}); use --offscreen or --headless") from None
            raise
        if mode == "offscreen":
            window.update_aspect_ratio()  # buffers never send the event that sizes the UI lens
        if mode == "window":
            window.fullscreen = False  # development_mode=False turns fullscreen on; we want a window
            window.size = (width, height)
    camera.overlay.enabled = False  # an invisible full-screen quad drawn twice every frame
    for region in app.win.getDisplayRegions():
        # ShowBase's render2d / render2dp layers: ursina draws its UI elsewhere, but they would still
        # clear the depth buffer and traverse their (empty) scenes every frame
        if not region.getCamera().isEmpty() and region.getCamera().getName() in ("cam2d", "cam2dp"):
            region.setActive(False)
    return app


class GLFinish:
    """glFinish() after a frame, so frame times include the (asynchronous) software rasteriser."""

    def __init__(self) -> None:
        self._fn = None
        for name in ("libOpenGL.so.0", "libGL.so.1", ctypes.util.find_library("GL") or ""):
            if not name:
                continue
            try:
                self._fn = ctypes.CDLL(name).glFinish
                break
            except OSError:
                continue

    def __call__(self) -> None:
        if self._fn is not None:
            self._fn()
