"""Soak run: a long headless run with the view's data systems, agents added and removed at random
every few frames, and episodes ending all the time; checks that nothing drifts.

Every `check_every` frames: rows == esper entities, trails consistent with the table
(runtime.invariants.check_invariants), every history within its bound (runtime.invariants.histories),
and the process's RSS (psutil). At the end it prints frames, churn operations, agents added and
removed, episodes, RSS at start, after warm-up, at the end and the maximum, and the growth
against the stated bound.

    python bench/soak.py                       # 60 000 frames, training on (about 4 minutes)
    python bench/soak.py --frames 30000 --no-train
    python bench/soak.py --frames 3000         # a quick check (plot and checkpoint every 10 episodes)

tests/test_soak.py runs a reduced soak in the suite.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/soak.py`
from bench import common  # noqa: E402
from components.agent_table import AgentTable  # noqa: E402
from components.resources import PopulationRequests  # noqa: E402
from components.training_stats import TrainingStats  # noqa: E402
from runfiles.run_outputs import RunOutputs  # noqa: E402
from runtime.invariants import check_invariants, histories  # noqa: E402

#: RSS may grow by at most this much between the end of the warm-up and the end of the run. The
#: warm-up must let every bounded history fill first: with 20-step episodes the training agent's
#: last 1000 returns fill at frame 20 000, the replay buffer (5000 rows) at 5000, the CALF log
#: rotates every 2000 rows, the profiler window holds 500 frames; the first reward plot and
#: checkpoint (matplotlib and torch.save warming up) come at frame 1000.
RSS_GROWTH_BOUND_MB = 4.0
FULL_WARMUP = 25_000
MB = 2**20
#: steps per episode in the soak (every agent's episode ends by then)
EPISODE_STEPS = 20
#: a run shorter than this plots and checkpoints every SHORT_OUTPUTS_EVERY training episodes, so the
#: first plot and checkpoint (one-off costs) come early enough to leave a stretch to measure after them
SHORT_RUN = 10_000
SHORT_OUTPUTS_EVERY = 10
LONG_OUTPUTS_EVERY = 50
#: histories that grow with the run until they reach their bound (the others follow the population)
GROW_WITH_TIME = ("TrainingStats.", "ReplayBuffer")


def settle_frames(outputs_every: int) -> int:
    """Frames by which the one-off start-up costs are paid, so RSS measured from then on must stay flat:
    the first reward plot and checkpoint (matplotlib's import, torch.save's first call) come after
    `outputs_every` training episodes of at most EPISODE_STEPS steps; the first TD3 update at step 50
    and the first surface refresh at 200 come before that."""
    return max(outputs_every * EPISODE_STEPS, 200)


def measurement_plan(frames: int, warmup: int) -> dict:
    """How a run of `frames` frames is judged: the plot/checkpoint spacing, how often to check, and
    the RSS baseline, which comes after the one-off costs and, for long runs, after every bounded
    history has filled (`warmup`, FULL_WARMUP by default) but never past half the run. `judged` is
    False when the run ends too soon after its baseline to say anything about growth."""
    outputs_every = LONG_OUTPUTS_EVERY if frames >= SHORT_RUN else SHORT_OUTPUTS_EVERY
    check_every = 500 if frames >= SHORT_RUN else max(50, min(500, frames // 10))
    settle = settle_frames(outputs_every)
    baseline = max(settle, min(warmup, frames // 2))
    baseline = -(-baseline // check_every) * check_every  # the first check at or after it
    return {"outputs_every": outputs_every, "check_every": check_every, "settle": settle, "warmup": baseline,
            "judged": frames - baseline >= 2 * check_every}


def soak_config(seed: int, train: bool, system: str = "point_mass", outputs_every: int = 50):
    return common.config({
        "env": {"system": system, "max_steps_per_episode": 20},
        "visual": {"agents": 10, "trail_max_length": 50, "grid_size": 15, "heatmap_update_freq": 200},
        "td3": {"start_training_step": 50, "batch_size": 32, "buffer_size": 5000},
        "training": {"train_steps_per_frame": 1 if train else 0, "plot_every": outputs_every,
                     "checkpoint_every": outputs_every,
                     "log_max_rows": 4000},
        "profiler": {"window": 500},
        "run": {"seed": seed},
    }, extra_plugins=[{"system": "examples.lyapunov_monitor:LyapunovMonitor", "after": "ControlSystem"}])


def run_soak(frames: int, out_dir: Path, *, seed: int = 0, train: bool = True, churn_every: int = 3,
             max_visual: int = 60, check_every: int = 250, warmup: int | None = None,
             system: str = "point_mass", progress: bool = False, outputs_every: int = 50) -> dict:
    """Run the soak; raises AssertionError on the first broken invariant or overgrown history.

    `outputs_every` (training episodes of 20 frames) spaces the reward plot and checkpoint: the RSS
    baseline (`warmup`) must come after the first of each, which imports matplotlib and warms torch.save."""
    from tqdm import tqdm

    proc = psutil.Process()
    cfg = soak_config(seed, train, system, outputs_every)
    world = common.headless_world(cfg, view_systems=True)
    outputs = RunOutputs(world, out_dir)
    rss_start = proc.memory_info().rss
    table = world.resource(AgentTable)
    requests = world.resource(PopulationRequests)
    rng = np.random.default_rng(seed)
    warmup = frames // 10 if warmup is None else warmup
    ended = {"episodes": 0}
    world.events.subscribe("episodes_ended", lambda rows, *_: ended.__setitem__("episodes", ended["episodes"] + len(rows)))
    churn = {"operations": 0, "added": 0, "removed": 0, "emptied": 0}
    peak = table.n
    rss_warm = rss_max = rss_start
    rss_series: list[tuple[int, float]] = []  # (frame, MB) at every check
    sizes_warm: dict = {}
    t0 = time.perf_counter()
    bar = tqdm(total=frames, unit="frame", disable=not progress, mininterval=1.0, dynamic_ncols=True)
    for f in range(1, frames + 1):
        if f % churn_every == 0:
            visual = table.n - (1 if table.training_row >= 0 else 0)
            if rng.random() < 0.02:  # now and then every visual agent goes at once
                delta = -visual
                churn["emptied"] += 1
            else:
                delta = int(rng.integers(-6, 7))
                delta = int(np.clip(delta, -visual, max_visual - visual))
            if delta:
                requests.request(delta)
                churn["operations"] += 1
                churn["added" if delta > 0 else "removed"] += abs(delta)
        world.step()
        peak = max(peak, table.n)
        if f % check_every == 0 or f == frames:
            check_invariants(world)
            sizes = histories(world, peak)
            over = {k: v for k, v in sizes.items() if v.size > v.bound}
            assert not over, f"frame {f}: histories past their bounds: {over}"
            rss = proc.memory_info().rss
            rss_max = max(rss_max, rss)
            rss_series.append((f, rss / MB))
            if f <= warmup:
                rss_warm, sizes_warm = rss, sizes
            bar.update(f - bar.n)
            bar.set_postfix_str(f"rows {table.n}, churn ops {churn['operations']}, RSS {rss / MB:.1f} MB", refresh=False)
    bar.close()
    seconds = time.perf_counter() - t0
    rss_end = proc.memory_info().rss
    stats = world.resource(TrainingStats)
    outputs.close()
    sizes_end = histories(world, peak)
    world.shutdown()
    growth = (rss_end - rss_warm) / MB
    return {
        "frames": frames,
        "seconds": seconds,
        "train": train,
        "system": system,
        "churn_operations": churn["operations"],
        "agents_added": churn["added"],
        "agents_removed": churn["removed"],
        "all_removed_at_once": churn["emptied"],
        "peak_rows": peak,
        "episodes_all_agents": ended["episodes"],
        "episodes_training_agent": stats.episodes,
        "train_updates": stats.train_updates,
        "rss_mb": {"start": rss_start / MB, "after_warmup": rss_warm / MB, "end": rss_end / MB, "max": rss_max / MB},
        "rss_growth_after_warmup_mb": growth,
        "rss_growth_bound_mb": RSS_GROWTH_BOUND_MB,
        "rss_series_mb": rss_series,
        "histories_after_warmup": {k: list(v) for k, v in sizes_warm.items()},
        "histories_end": {k: list(v) for k, v in sizes_end.items()},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=60_000)
    p.add_argument("--warmup", type=int, default=FULL_WARMUP,
                   help=f"frames before the RSS baseline is taken (default {FULL_WARMUP}, when every bounded history "
                   "has filled; at most half the run, and never before the one-off start-up costs are paid)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-train", action="store_true", help="no TD3 updates (faster; the same bookkeeping)")
    p.add_argument("--system", default="point_mass", choices=("point_mass", "differential_drive"))
    p.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = p.parse_args()
    plan = measurement_plan(args.frames, args.warmup)
    with tempfile.TemporaryDirectory(prefix="calf-ecs-soak-") as tmp:
        r = run_soak(args.frames, Path(tmp) / "run", seed=args.seed, train=not args.no_train, system=args.system,
                     warmup=plan["warmup"], check_every=plan["check_every"], outputs_every=plan["outputs_every"],
                     progress=True)
    rss = r["rss_mb"]
    print(f"soak: {r['frames']} frames in {r['seconds']:.0f} s ({r['system']}, training {'on' if r['train'] else 'off'})")
    print(f"churn: {r['churn_operations']} operations, {r['agents_added']} agents added, {r['agents_removed']} removed "
          f"({r['all_removed_at_once']} times all at once), peak {r['peak_rows']} rows")
    print(f"episodes: {r['episodes_all_agents']} (all agents), {r['episodes_training_agent']} of the training agent; "
          f"{r['train_updates']} TD3 updates")
    print(f"plot and checkpoint every {plan['outputs_every']} training episodes; RSS baseline at frame "
          f"{plan['warmup']} (one-off start-up costs paid by frame {plan['settle']})")
    print(f"RSS MB: start {rss['start']:.1f}, after warm-up {rss['after_warmup']:.1f}, end {rss['end']:.1f}, "
          f"max {rss['max']:.1f}; growth after warm-up {r['rss_growth_after_warmup_mb']:+.1f} "
          f"(bound {r['rss_growth_bound_mb']:.0f})")
    series = r["rss_series_mb"]
    step = max(1, len(series) // 12)
    print("RSS MB by frame: " + ", ".join(f"{f}: {m:.1f}" for f, m in series[::step] + series[-1:]))
    print("histories (size / bound) after warm-up -> end:")
    for name, (size, bound) in r["histories_end"].items():
        warm = r["histories_after_warmup"].get(name, ["-", "-"])
        print(f"  {name:<32} {warm[0]!s:>7} -> {size:>7} / {bound}")
    if args.json:
        common.save_json(args.json, r)
    filling = [f"{name} {r['histories_after_warmup'][name][0]} -> {size} of {bound}"
               for name, (size, bound) in r["histories_end"].items()
               if name.startswith(GROW_WITH_TIME) and r["histories_after_warmup"][name][0] < size < bound]
    if filling:
        print("still filling after the baseline (bounded; under 200 KB in all): " + "; ".join(filling))
    if not plan["judged"]:
        print(f"memory flat: not judged (a run of {args.frames} frames leaves {max(0, args.frames - plan['warmup'])} "
              f"after its RSS baseline at frame {plan['warmup']}, fewer than {2 * plan['check_every']}; give --frames "
              f"{plan['warmup'] + 2 * plan['check_every']} or more)")
        sys.exit(0)
    ok = r["rss_growth_after_warmup_mb"] <= RSS_GROWTH_BOUND_MB
    print("memory flat: " + ("yes" if ok else "NO") + f" (growth {r['rss_growth_after_warmup_mb']:+.1f} MB from frame "
          f"{plan['warmup']} to the end; bound {RSS_GROWTH_BOUND_MB:.0f} MB)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
