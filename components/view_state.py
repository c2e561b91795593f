"""What the view shows and the strings the HUD draws: plain resources, so they are set and read headless."""
from __future__ import annotations

import time

from attrs import define, field

#: how long an on-screen confirmation stays (seconds)
MESSAGE_SECONDS = 4.0
#: confirmations kept at once (older ones scroll away)
MESSAGES_KEPT = 3


@define
class ViewState:
    """Toggled by keys (docs/VIEW.md), read by the render loop and the RenderSystem."""

    paused: bool = False
    quit_requested: bool = False
    surface_visible: bool = True
    grid_visible: bool = True
    panels_visible: bool = True  # Tab: the sidebar, or the scene over the whole window
    step_requests: int = 0  # N while paused: simulation steps to run, one per frame
    exported_profiles: list = field(factory=list)  # paths written by F1 (the last view.controls.EXPORTS_KEPT)
    messages: list = field(factory=list)  # (text, expires at time.monotonic()) confirmations on screen
    messages_version: int = 0

    def notify(self, text: str, seconds: float = MESSAGE_SECONDS) -> None:
        """Confirm an action on screen for a few seconds (and never more than MESSAGES_KEPT at once)."""
        self.messages.append((str(text), time.monotonic() + float(seconds)))
        del self.messages[:-MESSAGES_KEPT]
        self.messages_version += 1

    def current_messages(self, now: float | None = None) -> list[str]:
        """The confirmations still on screen; expired ones are dropped."""
        now = time.monotonic() if now is None else now
        kept = [(t, until) for t, until in self.messages if until > now]
        if len(kept) != len(self.messages):
            self.messages[:] = kept
            self.messages_version += 1
        return [t for t, _ in kept]


@define
class Selection:
    """The agent being inspected (an esper entity, so it survives row moves), and the camera follow flag."""

    entity: int | None = None
    follow: bool = False
    version: int = 0  # bumped on every change
    listeners: list = field(factory=list, eq=False, repr=False)  # called with the new entity, at once

    def select(self, entity: int | None) -> None:
        if entity != self.entity:
            self.entity = entity
            if entity is None:
                self.follow = False
            self.version += 1
            for listener in list(self.listeners):
                listener(entity)

    def set_follow(self, on: bool) -> None:
        on = bool(on) and self.entity is not None
        if on != self.follow:
            self.follow = on
            self.version += 1


#: the HUD's text panels, in the sidebar's order (render.layout)
HUD_TEXTS = ("stats", "scale", "timeline", "learning", "inspect", "profiler", "messages")


@define
class HudText:
    """The HUD's strings. StatsSystem bumps a version only when it (re)assigns a string; the
    renderer copies a string into its text node only when that version moved."""

    texts: dict = field(factory=lambda: {name: "" for name in HUD_TEXTS})
    versions: dict = field(factory=lambda: {name: 0 for name in HUD_TEXTS})

    def set(self, name: str, text: str, force: bool = False) -> bool:
        if name not in self.texts:
            raise KeyError(f"no HUD text {name!r} (have: {', '.join(self.texts)})")
        if force or text != self.texts[name]:
            self.texts[name] = text
            self.versions[name] += 1
            return True
        return False

    # the two texts older code reads and writes by name
    @property
    def stats(self) -> str:
        return self.texts["stats"]

    @property
    def profiler(self) -> str:
        return self.texts["profiler"]

    @property
    def stats_version(self) -> int:
        return self.versions["stats"]

    @property
    def profiler_version(self) -> int:
        return self.versions["profiler"]

    def set_stats(self, text: str, force: bool = False) -> bool:
        return self.set("stats", text, force)

    def set_profiler(self, text: str, force: bool = False) -> bool:
        return self.set("profiler", text, force)
