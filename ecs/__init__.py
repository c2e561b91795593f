"""The ECS machinery: a World (esper context + resources + events), Systems and their Schedule."""
from ecs.errors import ScheduleError
from ecs.events import EventBus
from ecs.schedule import Schedule
from ecs.system import System
from ecs.world import World

__all__ = ["EventBus", "Schedule", "ScheduleError", "System", "World"]
