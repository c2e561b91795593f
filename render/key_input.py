"""Keys: an invisible ursina Entity that receives every key press (ursina delivers input to entities).

Camera keys (WASD held, scroll) move the CameraRig; every other key goes to runtime.controls,
which knows DOMAIN.md's bindings and works without a renderer.
"""
from __future__ import annotations

from panda3d.core import ClockObject
from ursina import Entity, held_keys

from runtime import controls


class KeyInput(Entity):
    def __init__(self, world, rig) -> None:  # noqa: ANN001
        super().__init__(name="calf-key-input")
        self.world = world
        self.rig = rig
        self.clock = ClockObject.getGlobalClock()

    def input(self, key: str) -> bool:
        if key == "scroll up":
            self.rig.zoom(True, self.rig.mouse_film_xy())
            return True
        if key == "scroll down":
            self.rig.zoom(False, self.rig.mouse_film_xy())
            return True
        return controls.press(self.world, key)

    def update(self) -> None:
        forward = held_keys["w"] - held_keys["s"]
        right = held_keys["d"] - held_keys["a"]
        if forward or right:
            self.rig.pan(forward, right, min(self.clock.getDt(), 0.1))
