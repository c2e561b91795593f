"""Plugins that make some runs of a sweep misbehave, chosen by the run's seed (tests/test_sweep.py)."""
import os
import signal
import time

from config.schema import AppConfig
from ecs.system import System


class CrashForSeeds(System):
    """Runs whose seed is in `raise_seeds` raise at `frame` (exit code 1); those in `kill_seeds` are
    killed by SIGKILL (no output, no exit handler, like a segfault or the OOM killer)."""

    def __init__(self, raise_seeds=(), kill_seeds=(), frame=5):
        self.raise_seeds, self.kill_seeds, self.frame = set(raise_seeds), set(kill_seeds), int(frame)

    def setup(self, world):
        self.seed = world.resource(AppConfig).run.seed

    def process(self, world, dt):
        if world.frame >= self.frame:
            if self.seed in self.kill_seeds:
                os.kill(os.getpid(), signal.SIGKILL)
            if self.seed in self.raise_seeds:
                raise RuntimeError(f"planted crash at frame {world.frame}")


class SlowForSeeds(System):
    """Runs whose seed is listed sleep `seconds` every frame (long enough to be stopped)."""

    def __init__(self, seeds=(), seconds=0.05):
        self.seeds, self.seconds = set(seeds), float(seconds)

    def setup(self, world):
        self.active = world.resource(AppConfig).run.seed in self.seeds

    def process(self, world, dt):
        if self.active:
            time.sleep(self.seconds)
