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
import tempfile

# Panda3D's harmless start-up chatter (pipe list, no monitor, EGL default display, a PNG's colour
# profile) is silenced; real errors stay. The device manager only looks for gamepads and the like
# under /dev/input (keyboard and mouse come from the window system), and complains on every run
# where that folder is missing or unreadable (containers, Xvfb, offscreen): its messages are off.
_COMMON_PRC = ("audio-library-name null\nprint-pipe-types #f\nnotify-level-display error\n"
               "notify-level-pnmimage error\nsync-video #f\nnotify-level-device fatal\n")
_OFFSCREEN_PRC = "load-display p3headlessgl\naux-display pandagl\n"
#: lines C libraries write straight to stderr while the window opens that say nothing to the user:
#: Xlib on an X server without the DGA extension (Xvfb, most remote displays), which Panda3D only
#: asks about for relative mouse mode
_OPENING_CHATTER = ('extension "XFree86-DGA" missing',)


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
        from ursina import Ursina, application, camera, window

        application.print_info = False  # ursina's "info: ..." lines (e.g. on every window resize)
        try:
            with _stderr_without(_OPENING_CHATTER):
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


@contextlib.contextmanager
def _stderr_without(chatter: tuple[str, ...]):
    """Run the block with file descriptor 2 captured, then pass on every line but the known chatter
    (C libraries write to the descriptor directly, so sys.stderr alone cannot catch them)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines() if not any(c in line for c in chatter)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)


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
