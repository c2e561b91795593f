"""PopulationSystem: applies queued agent additions and removals at the start of a frame.

Structural changes (new rows, swap-removes) happen only here, at one sync point, so no other
system ever sees the table change under it mid-frame. Keys (+ / -), plugins and tests queue
requests on the PopulationRequests resource. Additions stop at `config.schema.MAX_AGENTS` visual
agents (the most --agents accepts).
"""
from __future__ import annotations

import numpy as np

from components.agent_groups import Group
from components.agent_table import AgentTable
from components.cohort_starts import CohortStarts
from components.resources import PopulationRequests, Rngs
from config.schema import MAX_AGENTS
from ecs.system import System
from envs.base import Environment


def spawn_agents(world, count: int, *, training: bool = False) -> np.ndarray:  # noqa: ANN001
    """Spawn `count` agents at fresh random states; returns their rows."""
    table = world.resource(AgentTable)
    env = world.resource(Environment)
    rngs = world.resource(Rngs)
    states = env.sample_states(rngs.spawn, int(count))
    return table.spawn(int(count), training=training, values={"state": states})


def spawn_cohort(world, count: int) -> np.ndarray:  # noqa: ANN001
    """Spawn `count` agents of the policy cohort at the next evaluation starts; returns their rows."""
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    table = world.resource(AgentTable)
    states = world.resource(CohortStarts).take(int(count))
    return table.spawn(int(count), group=Group.COHORT, values={"state": states})


def remove_visual_agents(world, count: int) -> int:  # noqa: ANN001
    """Despawn up to `count` visual agents (newest first); returns how many went."""
    table = world.resource(AgentTable)
    victims = table.visual_entities()[: max(0, int(count))]
    table.despawn_many(victims)
    return len(victims)


class PopulationSystem(System):
    phase = "simulation"
    reads = ("PopulationRequests", "Environment", "Rngs")
    writes = ("AgentTable", "state")

    def setup(self, world) -> None:  # noqa: ANN001
        if not world.has_resource(PopulationRequests):
            world.insert_resource(PopulationRequests())

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        req = world.resource(PopulationRequests)
        if req.add == 0 and req.remove == 0:
            return
        net = req.add - req.remove
        req.add = req.remove = 0
        if net > 0:
            # as many visual agents as --agents may ask for, however often + is pressed
            net = min(net, MAX_AGENTS + 1 - world.resource(AgentTable).n)
            if net > 0:
                spawn_agents(world, net)
        elif net < 0:
            remove_visual_agents(world, -net)
