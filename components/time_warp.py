"""TimeWarp: how many simulation steps each rendered frame runs, set by keys or `--warp K|auto`.

A resource read by the frame loop (which sets `World.steps_per_frame` from it) and the HUD.
Fixed levels step through WARP_LEVELS with the `[` / `]` keys; the last level, "auto", picks
the largest K that keeps the view at AUTO_TARGET_FPS: from the last frames it estimates the
view's own cost V (seconds per frame) and the simulation's cost S (seconds per step) and aims
at V + K S = 1 / AUTO_TARGET_FPS, changing K by at most a factor AUTO_MAX_CHANGE per frame so it
never swings. Pure arithmetic: tested without a renderer.
"""
from __future__ import annotations

import math

from attrs import define, field

#: the fixed levels the keys step through, then "auto"
WARP_LEVELS = (1, 2, 5, 10, 25, 50, 100)
AUTO = "auto"
AUTO_TARGET_FPS = 20.0
AUTO_MAX_STEPS = 1000  # auto never runs more steps per frame than this
AUTO_MAX_CHANGE = 1.5  # per frame, K moves by at most this factor (up or down)
EMA = 0.3  # weight of the newest frame in the cost estimates
MAX_WARP = 1000  # --warp K accepts 1..MAX_WARP


@define
class TimeWarp:
    steps: int = field(default=1)  # steps per frame now (in auto mode: the controller's choice)
    auto: bool = False
    view_seconds: float = math.nan  # estimated view cost per frame (auto mode)
    step_seconds: float = math.nan  # estimated simulation cost per step (auto mode)
    version: int = 0  # bumped on every change of mode or K, for the HUD

    def __attrs_post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_WARP:
            raise ValueError(f"steps must be a whole number in [1, {MAX_WARP}], got {self.steps!r}")

    @classmethod
    def from_config(cls, warp: int, auto: bool) -> "TimeWarp":
        return cls(steps=int(warp), auto=bool(auto))

    # -- keys ----------------------------------------------------------------------------------
    def label(self) -> str:
        return f"auto ({self.steps})" if self.auto else str(self.steps)

    def faster(self) -> None:
        """The next level up: the smallest level above K, then auto (which stays auto)."""
        if self.auto:
            return
        higher = [k for k in WARP_LEVELS if k > self.steps]
        if higher:
            self._set(higher[0], False)
        else:
            self._set(self.steps, True)

    def slower(self) -> None:
        """The next level down: from auto the largest fixed level at or below its K (at least 1)."""
        if self.auto:
            lower = [k for k in WARP_LEVELS if k <= self.steps]
            self._set(lower[-1] if lower else 1, False)
            return
        lower = [k for k in WARP_LEVELS if k < self.steps]
        self._set(lower[-1] if lower else 1, False)

    def _set(self, steps: int, auto: bool) -> None:
        if (steps, auto) != (self.steps, self.auto):
            self.steps, self.auto = int(steps), bool(auto)
            self.version += 1

    # -- auto ----------------------------------------------------------------------------------
    def observe(self, frame_seconds: float, simulation_seconds: float, steps: int) -> None:
        """One frame's wall time, the part of it the simulation phase took, and its steps; in auto
        mode, choose K for the next frame."""
        if not self.auto or steps <= 0 or not (frame_seconds > 0 and simulation_seconds >= 0):
            return
        view = max(frame_seconds - simulation_seconds, 0.0)
        per_step = simulation_seconds / steps
        self.view_seconds = view if math.isnan(self.view_seconds) else (1 - EMA) * self.view_seconds + EMA * view
        self.step_seconds = per_step if math.isnan(self.step_seconds) else (1 - EMA) * self.step_seconds + EMA * per_step
        self._set(self.auto_steps(self.steps, self.view_seconds, self.step_seconds), True)

    @staticmethod
    def auto_steps(current: int, view_seconds: float, step_seconds: float) -> int:
        """The K that makes view + K * step = 1 / AUTO_TARGET_FPS, moved at most AUTO_MAX_CHANGE-fold
        from `current`, within [1, AUTO_MAX_STEPS]."""
        budget = 1.0 / AUTO_TARGET_FPS - view_seconds
        if step_seconds <= 0:
            want = AUTO_MAX_STEPS
        else:
            want = budget / step_seconds
        lo = max(1.0, current / AUTO_MAX_CHANGE)
        hi = max(current * AUTO_MAX_CHANGE, current + 1.0)
        want = min(max(want, lo), hi)
        return int(min(max(math.floor(want), 1), AUTO_MAX_STEPS))
