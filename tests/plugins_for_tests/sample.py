"""Small systems the plugin tests load by import path."""
import numpy as np

from components.agent_table import AgentTable, ColumnSpec
from ecs.system import System


class SpeedTracker(System):
    """Keeps each agent's running maximum of |action| in its own column."""

    reads = ("action",)
    writes = ("max_abs_action",)

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def setup(self, world):
        world.resource(AgentTable).add_column(ColumnSpec("max_abs_action", (), np.float64, 0.0, owner=self.name))

    def process(self, world, dt):
        t = world.resource(AgentTable)
        np.maximum(t.max_abs_action, self.scale * np.abs(t.action).max(axis=1), out=t.max_abs_action)


class AfterTracker(System):
    after = ("SpeedTracker",)

    def process(self, world, dt):
        pass


class NotASystem:
    pass
