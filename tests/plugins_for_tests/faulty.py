"""A plugin with a bug: it raises during one frame (tests/test_faults_in_files.py)."""
from ecs.system import System


class FailsAt(System):
    def __init__(self, frame: int = 30):
        self.frame = int(frame)

    def process(self, world, dt):
        if world.frame == self.frame:
            raise RuntimeError(f"plugin bug at frame {self.frame}")
