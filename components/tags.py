"""The small esper components an agent entity holds: its row in the table and its role tag."""
from __future__ import annotations

from attrs import define


@define(slots=True)
class AgentRow:
    """Which AgentTable row this entity owns; swap-remove rewrites it when rows move."""

    row: int


@define(slots=True, frozen=True)
class TrainingAgent:
    """Tag: the one agent whose transitions train TD3 and whose counters are the statistics."""


@define(slots=True, frozen=True)
class VisualAgent:
    """Tag: every other agent of the learners' group (what + and - add and remove)."""


@define(slots=True, frozen=True)
class CohortAgent:
    """Tag: an agent of the policy cohort (components.agent_groups): the current policy without
    exploration, from the evaluation's starts; never a learner."""


ROLE_TAGS = (TrainingAgent, VisualAgent, CohortAgent)
