"""Example systems that show how to extend calf-ecs (see docs/EXTENDING.md)."""
