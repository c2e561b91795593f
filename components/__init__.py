"""Agent data: the structure-of-arrays AgentTable, its column specs, tags and the Mode enum."""
from components.agent_table import AgentTable, ColumnSpec
from components.modes import MODE_COLORS, Mode
from components.tags import AgentRow, TrainingAgent, VisualAgent

__all__ = ["AgentRow", "AgentTable", "ColumnSpec", "MODE_COLORS", "Mode", "TrainingAgent", "VisualAgent"]
