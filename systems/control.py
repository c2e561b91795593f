"""ControlSystem: chooses every agent's action for this step in one vectorised pass.

Until the learning core is wired in, every agent acts with the environment's nominal policy
(the CALF fallback), and the mode column records FALLBACK.
"""
from __future__ import annotations

import numpy as np

from components.agent_table import AgentTable, ColumnSpec
from components.modes import Mode
from ecs.system import System
from envs.base import Environment


class ControlSystem(System):
    reads = ("state", "Environment")
    writes = ("action", "mode")

    def setup(self, world) -> None:  # noqa: ANN001
        env = world.resource(Environment)
        table = world.resource(AgentTable)
        table.add_columns(
            [
                ColumnSpec("action", (env.action_dim,), np.float64, 0.0, owner=self.name, doc="action applied this step"),
                ColumnSpec("mode", (), np.int8, int(Mode.FALLBACK), owner=self.name, doc="components.Mode of this step"),
            ]
        )

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        table = world.resource(AgentTable)
        if table.n == 0:
            return
        env = world.resource(Environment)
        table.action[:] = env.nominal(table.state)
        table.mode[:] = Mode.FALLBACK
