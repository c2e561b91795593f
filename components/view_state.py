"""What the view shows and the strings the HUD draws: plain resources, so they are set and read headless."""
from __future__ import annotations

from attrs import define, field


@define
class ViewState:
    """Toggled by keys (DOMAIN.md section 2), read by the render loop and the RenderSystem."""

    paused: bool = False
    quit_requested: bool = False
    surface_visible: bool = True
    grid_visible: bool = True
    exported_profiles: list = field(factory=list)  # paths written by F1 (the last runtime.controls.EXPORTS_KEPT)


@define
class HudText:
    """The HUD's strings. StatsSystem bumps a version only when it (re)assigns a string; the
    renderer copies a string into its text node only when that version moved."""

    stats: str = ""
    profiler: str = ""
    stats_version: int = 0
    profiler_version: int = 0

    def set_stats(self, text: str, force: bool = False) -> bool:
        if force or text != self.stats:
            self.stats = text
            self.stats_version += 1
            return True
        return False

    def set_profiler(self, text: str, force: bool = False) -> bool:
        if force or text != self.profiler:
            self.profiler = text
            self.profiler_version += 1
            return True
        return False
