"""Plugins that make some runs of a sweep misbehave, chosen by the run's seed (tests/test_sweep.py)."""
import os
import signal
import time

from config.schema import AppConfig
from ecs.system import System


class CrashForSeeds(System):
    """Runs whose seed is in `raise_seeds` raise at `frame` (exit code 1); those in `kill_seeds` are
    killed by SIGKILL (no output, no exit handler, like a segfault or the OOM killer); those in
    `term_seeds` get SIGTERM from outside the sweep (they save and exit 0, but did not finish)."""

    def __init__(self, raise_seeds=(), kill_seeds=(), term_seeds=(), frame=5):
        self.raise_seeds, self.kill_seeds, self.frame = set(raise_seeds), set(kill_seeds), int(frame)
        self.term_seeds = set(term_seeds)

    def setup(self, world):
        self.seed = world.resource(AppConfig).run.seed

    def process(self, world, dt):
        if world.frame >= self.frame:
            if self.seed in self.kill_seeds:
                os.kill(os.getpid(), signal.SIGKILL)
            if self.seed in self.term_seeds and world.frame == self.frame:
                os.kill(os.getpid(), signal.SIGTERM)
            if self.seed in self.raise_seeds:
                raise RuntimeError(f"planted crash at frame {world.frame}")


class SlowForSeeds(System):
    """Runs whose seed is listed wait up to `seconds` every frame, or until they are asked to stop
    (a sweep's Ctrl-C): with a long wait such a run is still going whenever the test signals, however
    slow the machine."""

    def __init__(self, seeds=(), seconds=0.05):
        self.seeds, self.seconds = set(seeds), float(seconds)

    def setup(self, world):
        self.active = world.resource(AppConfig).run.seed in self.seeds

    def process(self, world, dt):
        from process.stop import StopRequest

        stop = world.try_resource(StopRequest)  # inserted by the session once the world is built
        end = time.monotonic() + self.seconds
        while self.active and time.monotonic() < end and not (stop is not None and stop.requested):
            time.sleep(0.02)
