"""Errors raised by the ECS machinery."""


class ScheduleError(ValueError):
    """A system could not be placed: duplicate name, unknown anchor or contradictory order."""
