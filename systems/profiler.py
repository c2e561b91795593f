"""ProfilerSystem: times every system every frame, samples CPU and memory, writes JSON.

The World times every system (see ecs.frame_times: a simulation-phase system's time is summed
over the frame's K steps); this system owns that recorder, samples psutil every `sample_every`
frames and turns it all into a report (docs/PROFILE_FORMAT.md): per rendered frame, and per
simulation step for the simulation phase. Any system added to the schedule appears in the
report under its name with no extra code. It runs in the view phase, once per frame.
"""
from __future__ import annotations

import platform
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from components.resources import Counters, ReportExtras
from ecs.frame_times import FrameTimes
from ecs.schedule import PHASES
from ecs.system import System
from safe_io.atomic import atomic_write_json

FORMAT_VERSION = 3  # 2: phases, steps per frame, time per simulation step; 3: timings first, the config last


class RunMeta(dict):
    """Resource: facts about the run that go into the profile's `meta` (agents, system, ...)."""


class ProfilerSystem(System):
    phase = "view"
    reads = ("Counters", "RunMeta", "ReportExtras")
    writes = ("FrameTimes",)
    MIN_SAMPLE_INTERVAL = 0.25  # seconds

    def __init__(self, window: int = 1000, sample_every: int = 30, enabled: bool = True) -> None:
        self.times = FrameTimes(window=window)
        self.sample_every = int(sample_every)
        self.enabled = bool(enabled)
        self._proc = psutil.Process()
        self._cpu_samples: deque[float] = deque(maxlen=max(8, window // max(1, sample_every)))
        self._rss_samples: deque[float] = deque(maxlen=self._cpu_samples.maxlen)
        self._frames_since_sample = 0
        self._last_sample = 0.0
        self._counter_base: dict[str, int] = {}
        self._cpu_time_base = 0.0
        self._frame_base = 0
        self._step_base = 0
        self._wall_base = time.perf_counter()
        self._world = None

    def setup(self, world) -> None:  # noqa: ANN001
        self._world = world
        world.insert_resource(self.times)
        world.attach_recorder(self.times)
        self.times.active = self.enabled
        self._rebase(world)

    def set_enabled(self, on: bool) -> None:
        """F2: switch timing on or off (the World stops stamping when off)."""
        self.enabled = bool(on)
        self.times.active = self.enabled
        if self._world is not None:
            self._world.schedule.set_enabled(self.name, self.enabled)

    def _rebase(self, world) -> None:  # noqa: ANN001
        counters = world.try_resource(Counters)
        self._counter_base = counters.snapshot() if counters else {}
        ct = self._proc.cpu_times()
        self._cpu_time_base = ct.user + ct.system
        self._frame_base = world.frame
        self._step_base = world.steps
        self._wall_base = time.perf_counter()
        self._proc.cpu_percent(None)
        self._cpu_samples.clear()
        self._rss_samples.clear()

    def reset(self) -> None:
        """F3 / end of warm-up: statistics start over."""
        self.times.reset()
        if self._world is not None:
            self._rebase(self._world)

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        # psutil costs ~75 us a sample; read it at most every MIN_SAMPLE_INTERVAL seconds.
        self._frames_since_sample += 1
        if self._frames_since_sample < self.sample_every:
            return
        self._frames_since_sample = 0
        now = time.perf_counter()
        if now - self._last_sample >= self.MIN_SAMPLE_INTERVAL:
            self._last_sample = now
            self._sample()

    def _sample(self) -> None:
        self._cpu_samples.append(self._proc.cpu_percent(None))
        self._rss_samples.append(self._proc.memory_info().rss / 2**20)

    # -- report --------------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        world = self._world
        if world is None:
            raise RuntimeError("the profiler is not attached to a world")
        if not self._rss_samples:
            self._sample()
        self.times.flush()  # frames still pending in the recorder count in the window too
        frames = max(0, world.frame - self._frame_base)
        steps = max(0, world.steps - self._step_base)
        ct = self._proc.cpu_times()
        cpu_time = ct.user + ct.system - self._cpu_time_base
        wall = time.perf_counter() - self._wall_base
        meta = dict(world.try_resource(RunMeta) or {})
        config = meta.pop("config", None)  # ~150 lines: in its own key at the end, after the timings
        meta.update(
            {
                "format_version": FORMAT_VERSION,
                "frames": frames,
                "steps": steps,  # simulation steps in those frames
                "steps_per_frame": world.steps_per_frame,  # the time warp K when the report was made
                "window_frames": self.times.count,
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "schedule": world.schedule.names(),
                "phases": {phase: [s.name for s in world.schedule.in_phase(phase)] for phase in PHASES},
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )
        meta.setdefault("flags", {})
        counters = world.try_resource(Counters)
        counter_out = {}
        if counters is not None:
            for name, total in sorted(counters.snapshot().items()):
                delta = total - self._counter_base.get(name, 0)
                counter_out[name] = {"per_frame": delta / frames if frames else 0.0,
                                     "per_step": delta / steps if steps else 0.0, "total": delta}
        extras = world.try_resource(ReportExtras)
        cpu = np.array(self._cpu_samples) if self._cpu_samples else np.zeros(1)
        rss = np.array(self._rss_samples)
        report = {
            "frame": self.times.frame_stats(),
            "systems": self.times.system_stats(),
            "process": {
                "cpu_percent": float(cpu.mean()),
                "cpu_percent_max": float(cpu.max()),
                "cpu_ms_per_frame": 1000.0 * cpu_time / frames if frames else 0.0,
                "cpu_percent_run": 100.0 * cpu_time / wall if wall > 0 else 0.0,
                "rss_mb": float(rss[-1]),
                "rss_mb_max": float(rss.max()),
                "cores": psutil.cpu_count(),
            },
            "counters": counter_out,
            "extensions": extras.collect() if extras is not None else {},
            "meta": meta,
        }
        if config is not None:
            report["config"] = config
        return report

    def write_json(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.report())
