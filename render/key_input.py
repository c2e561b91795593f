"""Keys and mouse: an invisible ursina Entity that receives every input event (ursina delivers input to entities).

Camera keys (WASD held, scroll) move the CameraRig; a left click picks the agent under the mouse
(RenderSystem.click); every other key goes to view.controls, which knows the bindings and
works without a renderer.
"""
from __future__ import annotations

from panda3d.core import ClockObject
from ursina import Entity, held_keys

from view import controls


class KeyInput(Entity):
    def __init__(self, world, rig, on_click=None) -> None:  # noqa: ANN001
        super().__init__(name="calf-key-input")
        self.world = world
        self.rig = rig
        self.on_click = on_click
        self.clock = ClockObject.getGlobalClock()

    def input(self, key: str) -> bool:
        if key == "scroll up":
            self.rig.zoom(True, self.rig.mouse_film_xy())
            return True
        if key == "scroll down":
            self.rig.zoom(False, self.rig.mouse_film_xy())
            return True
        if key == "left mouse down":
            xy = self.rig.mouse_window_xy()
            if xy is not None and self.on_click is not None:
                self.on_click(self.world, xy)
            return True
        return controls.press(self.world, key)

    def update(self) -> None:
        forward = held_keys["w"] - held_keys["s"]
        right = held_keys["d"] - held_keys["a"]
        if forward or right:
            self.rig.pan(forward, right, min(self.clock.getDt(), 0.1))
