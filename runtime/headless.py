"""The headless loop: step the world as fast as possible, with progress, until frames or episodes run out."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from components.agent_table import AgentTable
from systems.profiler import ProfilerSystem

if TYPE_CHECKING:
    from config.schema import AppConfig
    from ecs.world import World


class EpisodeCounter:
    """Counts the training agent's finished episodes (listens to `episodes_ended`)."""

    def __init__(self, world: "World") -> None:
        self.count = 0
        self._table = world.resource(AgentTable)
        world.events.subscribe("episodes_ended", self._on_end)

    def _on_end(self, rows: np.ndarray, *_: object) -> None:
        tr = self._table.training_row
        if tr >= 0 and np.any(rows == tr):
            self.count += 1


def run_headless(world: "World", cfg: "AppConfig", *, progress: bool = True) -> dict:
    """Run until `run.frames` frames (if set) or `training.episodes` episodes; returns a summary."""
    frames_limit = cfg.run.frames
    episodes_limit = None if frames_limit is not None else cfg.training.episodes
    episodes = EpisodeCounter(world)
    profiler = world.schedule.get("ProfilerSystem") if "ProfilerSystem" in world.schedule else None
    warmup = cfg.profiler.warmup_frames
    total = frames_limit if frames_limit is not None else episodes_limit
    bar = tqdm(total=total, unit="frame" if frames_limit is not None else "episode", disable=not progress,
               dynamic_ncols=True, mininterval=0.5)
    start = time.perf_counter()
    interrupted = False
    chunk = 50
    try:
        while True:
            if frames_limit is not None and world.frame >= frames_limit:
                break
            if episodes_limit is not None and episodes.count >= episodes_limit:
                break
            before_ep = episodes.count
            n = chunk if frames_limit is None else min(chunk, frames_limit - world.frame)
            for _ in range(n):
                world.step()
                if warmup and world.frame == warmup and isinstance(profiler, ProfilerSystem):
                    profiler.reset()
                if episodes_limit is not None and episodes.count >= episodes_limit:
                    break
            bar.update(n if frames_limit is not None else episodes.count - before_ep)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    elapsed = time.perf_counter() - start
    return {
        "frames": world.frame,
        "episodes": episodes.count,
        "seconds": elapsed,
        "frames_per_second": world.frame / elapsed if elapsed > 0 else 0.0,
        "interrupted": interrupted,
    }
