"""A tiny synchronous event bus owned by each World.

esper keeps its event registry per world context too, but it stores weak references only,
so a lambda handler would silently vanish. Ours holds strong references and is explicit
about who listens to what.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

Handler = Callable[..., None]


class EventBus:
    """Named events with any payload. Built-in names are listed in `ecs.events.BUILTIN_EVENTS`."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self.audit = None  # an ecs.access_audit.AccessAudit while declarations are checked

    def subscribe(self, name: str, handler: Handler) -> None:
        self._handlers[name].append(handler)

    def unsubscribe(self, name: str, handler: Handler) -> None:
        handlers = self._handlers.get(name, [])
        if handler in handlers:
            handlers.remove(handler)

    def emit(self, name: str, *args: Any, **kwargs: Any) -> None:
        audit = self.audit
        for handler in tuple(self._handlers.get(name, ())):
            owner = audit.handler_owner(handler) if audit is not None else None
            if owner is None:
                handler(*args, **kwargs)
                continue
            audit.begin(owner)  # a handler's reads and writes count for the system that owns it
            try:
                handler(*args, **kwargs)
            finally:
                audit.end()

    def has_listeners(self, name: str) -> bool:
        return bool(self._handlers.get(name))


#: Events the built-in systems emit, with their payload.
BUILTIN_EVENTS = {
    "agents_spawned": "rows: np.ndarray[int] of the new rows, entities: np.ndarray[int]",
    "agent_despawned": "entity: int, row: int (the row it held; the last row moved into it)",
    "row_moved": "src: int, dst: int (swap-remove moved row src into dst)",
    "episodes_ended": "rows: np.ndarray[int], outcome: np.ndarray[int8] (envs.Outcome), "
    "returns: np.ndarray[float], lengths: np.ndarray[int]; emitted before the rows respawn",
}
