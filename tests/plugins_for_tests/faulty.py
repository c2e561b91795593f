"""Plugins with bugs, one per place a plugin's code runs (tests/test_plugin_boundary.py and others)."""
import sys

import numpy as np

from components.agent_table import AgentTable, ColumnSpec
from components.resources import HudLines, ReportExtras
from ecs.system import System


class FailsAt(System):
    """Raises during one frame."""

    def __init__(self, frame: int = 30):
        self.frame = int(frame)

    def process(self, world, dt):
        if world.frame == self.frame:
            raise RuntimeError(f"plugin bug at frame {self.frame}")


class ExitsAt(System):
    """Calls sys.exit() during one frame."""

    def __init__(self, frame: int = 10, code: int = 0):
        self.frame, self.code = frame, code

    def process(self, world, dt):
        if world.frame == self.frame:
            sys.exit(self.code)


class FailsInInit(System):
    def __init__(self):
        raise RuntimeError("constructor bug")

    def process(self, world, dt):
        pass


class ExitsInInit(System):
    def __init__(self):
        sys.exit(3)

    def process(self, world, dt):
        pass


class FailsInSetup(System):
    def setup(self, world):
        raise KeyError("setup bug")

    def process(self, world, dt):
        pass


class FailsInTeardown(System):
    def process(self, world, dt):
        pass

    def teardown(self, world):
        raise RuntimeError("teardown bug")


class FailsInHandler(System):
    """Its episodes_ended handler raises (it runs inside PhysicsSystem's frame)."""

    def setup(self, world):
        world.events.subscribe("episodes_ended", self.on_end)

    def on_end(self, rows, *_):
        raise ValueError("handler bug")

    def process(self, world, dt):
        pass


class BadFigures(System):
    """Its report figures raise, and its HUD line is not a string."""

    def __init__(self, raise_in_summary: bool = True):
        self.raise_in_summary = raise_in_summary

    def setup(self, world):
        world.resource(ReportExtras)[self.name] = self.figures

    def figures(self):
        if self.raise_in_summary:
            raise ZeroDivisionError("figures bug")
        return {"nan": float("nan"), "inf": float("inf"), "array": np.arange(3), "obj": object}

    def process(self, world, dt):
        world.resource(HudLines)[self.name] = 1.5


class WritesNonFinite(System):
    """Writes NaN (or inf) into a column of some rows from frame `start` on, every `every` frames."""

    def __init__(self, column: str = "episode_return", value: float = float("nan"), start: int = 5, every: int = 1,
                 rows: str = "all"):
        self.column, self.value, self.start, self.every, self.rows = column, float(value), start, every, rows

    def setup(self, world):
        table = world.resource(AgentTable)
        if not table.has_column(self.column):
            table.add_column(ColumnSpec(self.column, (), np.float64, 0.0, owner=self.name))

    def process(self, world, dt):
        if world.frame >= self.start and (world.frame - self.start) % self.every == 0:
            col = world.resource(AgentTable).column(self.column)
            if self.rows == "training":
                col[world.resource(AgentTable).training_row] = self.value
            else:
                col[...] = self.value


class Boom(BaseException):
    """Not an Exception: plain `except Exception` would let it through."""


class RaisesBaseException(System):
    def process(self, world, dt):
        if world.frame == 7:
            raise Boom("a BaseException subclass")
