"""The headless loop: step the world as fast as possible until frames or episodes run out.

One frame is `World.steps_per_frame` simulation steps (1 unless --warp K) and one pass of the
view phase (the profiler); the episode limit is checked after every step.

Progress (tqdm): episodes of the training agent with success rate, P_relax, certification rate
and steps/s. Ctrl-C or SIGTERM asks the loop to stop at the end of the current frame (so outputs
and the final checkpoint hold a whole frame); a second signal interrupts at once (process.stop).
"""
from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from tqdm import tqdm

from components.training_stats import TrainingStats
from process.stop import StopRequest
from systems.evaluation import EvalHistory, hud_line
from systems.profiler import ProfilerSystem

if TYPE_CHECKING:
    from config.schema import AppConfig
    from ecs.world import World

__all__ = ["StopRequest", "learner_postfix", "loop_summary", "run_headless"]


def loop_summary(world: "World", stats: TrainingStats, start: float, start_frame: int, start_steps: int, *,
                 interrupted: bool, aborted: bool, stop: StopRequest) -> dict:
    """What a frame loop reports, the same keys for the headless and the rendered loop."""
    elapsed = time.perf_counter() - start
    frames = world.frame - start_frame
    return {
        "frames": frames,
        "episodes": stats.session_episodes,
        "seconds": elapsed,
        "frames_per_second": frames / elapsed if elapsed > 0 else 0.0,
        "steps_per_second": (stats.session_steps - start_steps) / elapsed if elapsed > 0 else 0.0,
        "interrupted": interrupted,
        "aborted": aborted,  # stopped mid-frame: the caller keeps the last whole-frame checkpoint
        "signal": stop.signal_name,
    }


def learner_postfix(stats: TrainingStats) -> str:
    """A background learner's lag for a progress line ("" for an inline learner)."""
    if stats.learner != "background":
        return ""
    text = f" | learner {stats.learning_lag:,} updates behind ({stats.learning_lag_s:.2f} s)"
    if stats.updates_skipped:
        text += f", {stats.updates_skipped:,} skipped"
    return text


def _postfix(stats: TrainingStats, steps_per_s: float, history: EvalHistory | None) -> str:
    text = (f"success {stats.session_success_rate:.0%} (last 20 {stats.success_rate_last(20):.0%}) "
            f"P_relax {stats.p_relax:.3f} cert {stats.session_certification_rate:.0%} {steps_per_s:,.0f} steps/s")
    text += learner_postfix(stats)
    last = history.last if history is not None else None
    if last is not None:
        text += f" | {hud_line(last)}"
    return text


def run_headless(world: "World", cfg: "AppConfig", *, progress: bool = True, stop: StopRequest | None = None) -> dict:
    """Run until `run.frames` frames (if set) or `training.episodes` episodes this session, or a stop
    request (signals are caught here unless the caller installed `stop` itself)."""
    frames_limit = cfg.run.frames
    episodes_limit = None if frames_limit is not None else cfg.training.episodes
    stats = world.resource(TrainingStats)
    profiler = world.schedule.get("ProfilerSystem") if "ProfilerSystem" in world.schedule else None
    warmup = cfg.profiler.warmup_frames
    total = frames_limit if frames_limit is not None else episodes_limit
    bar = tqdm(total=total, unit="frame" if frames_limit is not None else "episode", disable=not progress,
               dynamic_ncols=True, mininterval=0.5)
    start = time.perf_counter()
    start_frame = world.frame
    start_steps = stats.session_steps
    aborted = False
    last_post = 0.0
    chunk = 50
    with contextlib.nullcontext(stop) if stop is not None else StopRequest() as stop:
        try:
            while not stop.requested:
                if frames_limit is not None and world.frame - start_frame >= frames_limit:
                    break
                if episodes_limit is not None and stats.session_episodes >= episodes_limit:
                    break
                before_ep = stats.session_episodes
                before_frame = world.frame
                n = chunk if frames_limit is None else min(chunk, frames_limit - (world.frame - start_frame))
                done = (lambda: stats.session_episodes >= episodes_limit) if episodes_limit is not None else None
                for _ in range(n):
                    world.step(until=done)
                    if warmup and world.frame - start_frame == warmup and isinstance(profiler, ProfilerSystem):
                        profiler.reset()
                    if stop.requested or (episodes_limit is not None and stats.session_episodes >= episodes_limit):
                        break
                bar.update(world.frame - before_frame if frames_limit is not None else stats.session_episodes - before_ep)
                now = time.perf_counter()
                if progress and now - last_post > 0.5:
                    last_post = now
                    bar.set_postfix_str(_postfix(stats, (stats.session_steps - start_steps) / (now - start),
                                                 world.try_resource(EvalHistory)), refresh=False)
        except KeyboardInterrupt:
            aborted = True  # second Ctrl-C: stopped mid-frame
        finally:
            bar.close()
        interrupted = aborted or stop.requested
    return loop_summary(world, stats, start, start_frame, start_steps, interrupted=interrupted, aborted=aborted,
                        stop=stop)
