"""A reduced soak (bench/soak.py runs the full one): agents added and removed at random every few
frames, episodes ending every 20 steps, the view's data systems and the run's outputs on. Rows stay
equal to esper entities, trails stay consistent with the table, every history stays within its
bound, and memory stays flat."""
from __future__ import annotations

import pytest

from bench.soak import FULL_WARMUP, RSS_GROWTH_BOUND_MB, measurement_plan, run_soak

FRAMES = 1500


def test_churn_and_constant_episode_ends_keep_everything_consistent_and_bounded(tmp_path):
    # plot and checkpoint every 10 training episodes (200 frames): the first ones (matplotlib's import, torch.save's
    # warm-up) fall before the RSS baseline at frame 300, six more after it
    r = run_soak(FRAMES, tmp_path / "run", seed=1, train=False, churn_every=3, check_every=100, warmup=300,
                 outputs_every=10)
    assert r["churn_operations"] > FRAMES // 6 and r["all_removed_at_once"] >= 1
    assert r["episodes_all_agents"] > 500 and r["episodes_training_agent"] == FRAMES // 20
    end = r["histories_end"]
    for name, (size, bound) in end.items():
        assert size <= bound, name
    # what grows with time has reached its bound or its working size, and stays there
    assert end["profiler window"][0] == end["profiler window"][1]
    assert end["CALF log rows (current file)"][0] <= end["CALF log rows (current file)"][1]
    assert end["event handlers"] == r["histories_after_warmup"]["event handlers"]  # nobody subscribes per frame
    assert r["rss_growth_after_warmup_mb"] <= RSS_GROWTH_BOUND_MB
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"calf_log.csv", "checkpoint.pt", "config.toml", "rewards.png", "run_summary.json"} <= files
    assert not [f for f in files if f.startswith(".")]


@pytest.mark.parametrize("frames", [100, 300, 1000, 1500, 3000, 9999, 10_000, 30_000, 60_000])
def test_the_rss_baseline_comes_after_the_one_off_costs_and_is_judged_only_with_frames_after_it(frames):
    """bench/soak.py's verdict: a short run plots and checkpoints early, its baseline follows them, and a
    run too short to measure anything after its baseline is not judged (it used to say "NO")."""
    plan = measurement_plan(frames, FULL_WARMUP)
    assert plan["warmup"] >= plan["settle"] >= plan["outputs_every"] * 20
    assert plan["warmup"] % plan["check_every"] == 0  # the baseline is a check
    if plan["judged"]:
        assert frames - plan["warmup"] >= 2 * plan["check_every"]
    if frames >= 50_000:
        assert plan["warmup"] == FULL_WARMUP and plan["outputs_every"] == 50  # every bounded history has filled
    assert plan["judged"] == (frames >= 300)
