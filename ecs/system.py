"""The System base class: a named unit of per-frame work over whole arrays.

The ECS core runs in a line, system <- schedule <- world: `world` below is the ecs.world.World
running the system, typed Any so that this module, the bottom of the line, imports neither.
"""
from __future__ import annotations

from typing import Any, ClassVar


class System:
    """Subclass and implement `process(world, dt)`; it must work on whole columns, not per agent.

    Class attributes a system may set:
      name      -- unique name in the schedule (defaults to the class name); the profiler uses it.
      after / before -- default ordering anchors (names) used when `add_system` gives none.
      phase     -- 'simulation' (K fixed steps per frame) or 'view' (once per frame); None: the
                   anchors' phase, or the end of the view phase without anchors (ecs.schedule).
      reads / writes -- the agent-table columns and resources it touches, for `--list-systems
                        --verbose` and for a test that checks the declarations.
    """

    name: ClassVar[str] = ""
    after: ClassVar[tuple[str, ...]] = ()
    before: ClassVar[tuple[str, ...]] = ()
    phase: ClassVar[str | None] = None
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    enabled: bool = True

    def setup(self, world: Any) -> None:
        """Called once when the system joins a world: register columns, resources, handlers."""

    def process(self, world: Any, dt: float) -> None:
        raise NotImplementedError(f"{type(self).__name__}.process is not implemented")

    def teardown(self, world: Any) -> None:
        """Called when the world shuts down (flush files, release render objects)."""

    def __repr__(self) -> str:
        state = "" if self.enabled else " (disabled)"
        return f"<{self.name}{state}>"
