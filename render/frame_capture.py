"""The rendered window's pixels every frame, HUD included, for the video recorder.

Panda3D copies the framebuffer into a texture's RAM image after each frame it renders
(`RTMCopyRam`), so reading a frame is one copy of that image: no extra render pass and no
synchronous screenshot call. Pixels are BGRA, bottom row first, as OpenGL reads them.
"""
from __future__ import annotations

import numpy as np
from panda3d.core import GraphicsOutput, Texture


class FrameCapture:
    def __init__(self, base) -> None:  # noqa: ANN001
        self.win = base.win
        self.texture = Texture("frame-capture")
        self.win.addRenderTexture(self.texture, GraphicsOutput.RTMCopyRam, GraphicsOutput.RTPColor)

    @property
    def size(self) -> tuple[int, int]:
        return self.win.getXSize(), self.win.getYSize()

    def grab(self) -> np.ndarray | None:
        """A copy of the last rendered frame as (height, width, 4) uint8 BGRA, bottom row first."""
        tex = self.texture
        if not tex.hasRamImage():
            return None
        w, h = tex.getXSize(), tex.getYSize()
        comps = tex.getNumComponents()
        data = np.frombuffer(memoryview(tex.getRamImage()), dtype=np.uint8)
        if data.size != w * h * comps:
            return None
        img = data.reshape(h, w, comps)
        if comps == 4:
            return img.copy()
        out = np.empty((h, w, 4), dtype=np.uint8)  # BGR: add an opaque alpha
        out[..., :3] = img
        out[..., 3] = 255
        return out

    def close(self) -> None:
        self.win.clearRenderTextures()
