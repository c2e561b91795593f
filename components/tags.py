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
    """Tag: an agent that acts with the same filter but never trains or touches counters."""


ROLE_TAGS = (TrainingAgent, VisualAgent)
