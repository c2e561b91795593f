"""The learning-curve panel's data and geometry: the bounded series against plain lists, the system
against TrainingStats read around every step, the plot's segments from the curve (no renderer)."""
import math

import numpy as np
import pytest

from components.learning_curve import LearningCurve
from components.training_stats import TrainingStats
from components.view_state import HudText
from render.learning_plot import SHARES_PART, plot_segments
from systems.evaluation import EvalHistory
from systems.hud_text import SIDEBAR_COLUMNS, learning_text
from tests.view_worlds import view_world


def test_the_episode_series_stays_bounded_and_merges_counts_exactly():
    curve = LearningCurve(capacity=8)
    rng = np.random.default_rng(3)
    every = []  # the oracle: every episode's counts
    for episode in range(1, 201):
        counts = rng.integers(0, 50, 4)
        counts[1] = min(counts[1], counts[0])
        counts[3] = min(counts[3], counts[2])
        every.append((episode, counts))
        curve.add_episode(episode, counts)
        assert curve.length <= 8
    stride = curve.stride
    assert stride > 1 and curve.length >= 4  # halved several times, never emptied
    ends = curve.episode[: curve.length]
    assert np.all(np.diff(ends) == stride)  # each point covers `stride` consecutive episodes
    for end, counts in zip(ends, curve.counts[: curve.length]):
        covered = [c for e, c in every if end - stride < e <= end]
        assert len(covered) == stride
        np.testing.assert_array_equal(counts, np.sum(covered, axis=0))  # merged exactly, by counts
    episodes, learners, cohort = curve.shares()
    np.testing.assert_allclose(learners, curve.counts[: curve.length, 1] / curve.counts[: curve.length, 0])
    assert curve.span() == (1, int(ends[-1]))


def test_no_decision_is_no_share():
    curve = LearningCurve(capacity=4)
    curve.add_episode(1, [0, 0, 10, 7])
    _, learners, cohort = curve.shares()
    assert math.isnan(learners[0]) and cohort[0] == pytest.approx(0.7)


def test_evaluations_stay_bounded_and_keep_the_newest():
    curve = LearningCurve(capacity=4)
    for k in range(1, 12):
        curve.add_evaluation(10 * k, 0.1 * (k % 10), -0.05 * k, 0.5, 1.0)
        assert curve.eval_length <= 4
    ev = curve.evaluations()
    assert ev[-1, 0] == 110 and np.all(np.diff(ev[:, 0]) > 0)
    assert curve.last_evaluation["gain"] == pytest.approx(-0.55)
    assert curve.gain_range() == pytest.approx(0.55)  # the largest |gain| shown, in steps of 5 %


def test_the_system_records_each_episodes_decisions_and_each_evaluation():
    world = view_world(agents=3, policy="calf", training=True, env={"max_steps_per_episode": 30},
                       td3={"start_training_step": 10, "batch_size": 8}, evaluation={"every": 2, "starts": 5},
                       visual={"cohort": 2})
    stats = world.resource(TrainingStats)
    curve = world.resource(LearningCurve)
    expected, last, base = [], None, None
    for _ in range(200):
        world.step()
        now = np.array([stats.learners.decided, stats.learners.certified, stats.cohort.decided,
                        stats.cohort.certified])
        if last is None:
            last, base = stats.episodes, now
            continue
        if stats.episodes != last:  # the oracle: the counters read around every step
            expected.append((stats.episodes, now - base))
            last, base = stats.episodes, now
    assert len(expected) >= 5 and curve.length == len(expected)
    for (episode, counts), got_episode, got in zip(expected, curve.episode, curve.counts):
        assert got_episode == episode
        np.testing.assert_array_equal(got, counts)
    results = list(world.resource(EvalHistory).results)
    assert len(results) >= 2 and curve.eval_length == len(results)
    for row, r in zip(curve.evaluations(), results):
        assert row[0] == r.episode and row[1] == r.success_rate and row[3] == r.certified_share
        assert row[2] == pytest.approx(r.return_gain) and row[4] == r.nominal_success_rate
    text = world.resource(HudText).texts["learning"]
    assert text.startswith(f"learning, episodes {expected[0][0]}-") and max(map(len, text.split("\n"))) <= 46
    world.shutdown()


def box_of(segments):
    pts = segments.reshape(-1, 2)
    return pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max()


def test_the_plot_draws_every_series_inside_its_box():
    curve = LearningCurve()
    for episode in range(1, 41):
        curve.add_episode(episode, [100, episode, 10, 5])
    for episode, success, gain in ((10, 0.2, -0.3), (20, 0.6, 0.05), (30, 0.9, 0.12), (40, 1.0, 0.2)):
        curve.add_evaluation(episode, success, gain, 0.5, 0.95)
    box = (-0.8, -0.3, -0.2, 0.1)
    parts = plot_segments(curve, box)
    x0, x1, y0, y1 = box
    split = y0 + (1 - SHARES_PART) * (y1 - y0)
    for name, segs in parts.items():
        if len(segs):
            lo_x, hi_x, lo_y, hi_y = box_of(segs)
            assert x0 <= lo_x and hi_x <= x1 and y0 <= lo_y and hi_y <= y1, name  # markers included
            if name in ("success", "certified", "learners", "cohort"):
                assert lo_y >= split, name  # in the shares' plot
    assert len(parts["success"]) == 4 * 4 and len(parts["gain"]) == 4 * 4  # a diamond per evaluation
    assert len(parts["certified"]) == 4 * 2  # a cross per evaluation
    assert len(parts["learners"]) == 39 and len(parts["cohort"]) == 39  # one line through 40 episodes
    # higher is better: the success diamonds climb with the success rate, the gains with the gain
    success_y = parts["success"].reshape(4, 4, 2, 2)[:, :, :, 1].mean(axis=(1, 2))
    gain_y = parts["gain"].reshape(4, 4, 2, 2)[:, :, :, 1].mean(axis=(1, 2))
    assert np.all(np.diff(success_y) > 0) and np.all(np.diff(gain_y) > 0)
    assert success_y.min() > split > gain_y.max()  # shares above, gains below
    # the nominal's references: its success (dashed, in the shares' plot) and gain 0 (between the gains)
    levels = sorted({round(float(y), 9) for y in parts["nominal"][:, :, 1].ravel()})
    assert len(levels) == 2 and levels[0] < split < levels[1]
    assert gain_y[0] < levels[0] < gain_y[1]  # gain -0.3 below the nominal's 0, +0.05 above it


def test_an_empty_curve_draws_only_the_frames():
    parts = plot_segments(LearningCurve(), (0.0, 1.0, 0.0, 1.0))
    assert len(parts["frame"]) == 8 and sum(len(v) for k, v in parts.items() if k != "frame") == 0


def test_the_panel_text_fits_and_names_which_way_is_better():
    text = learning_text({"span": (1, 120), "gain_range": 0.25, "success": 0.98, "nominal": 1.0, "certified": 0.61,
                          "learners": 0.12, "cohort": 0.6, "gain": -0.03})
    lines = text.split("\n")
    assert lines[0] == "learning, episodes 1-120; gain ±25%" and lines[1:6] == [""] * 5
    assert "return 3% worse" in text and "eval success 98%" in text and "nominal succ 100%" in text
    assert max(map(len, lines)) <= SIDEBAR_COLUMNS
    assert learning_text(None).startswith("learning: no episode finished yet")


def test_a_resumed_run_shows_the_evaluations_it_resumes(tmp_path):
    """The resumed run's eval.csv, up to the checkpoint's episode, becomes the curve's first points."""
    from rl.evaluation import EVAL_COLUMNS
    from systems.learning_curve import preload_evaluations

    world = view_world(agents=2)
    world.resource(TrainingStats).episodes = 25  # as a restored checkpoint leaves it
    rows = [",".join(EVAL_COLUMNS)]
    for episode, success, gain in ((10, 0.5, -0.1), (20, 0.8, 0.05), (30, 0.9, 0.1)):  # 30: after the checkpoint
        row = {"episode": episode, "success_rate": success, "return_gain": gain, "certified_share": 0.4,
               "nominal_success_rate": 1.0}
        rows.append(",".join(str(row.get(c, "")) for c in EVAL_COLUMNS))
    (tmp_path / "eval.csv").write_text("\n".join(rows) + "\n")
    assert preload_evaluations(world, tmp_path / "eval.csv") == 2
    curve = world.resource(LearningCurve)
    np.testing.assert_allclose(curve.evaluations()[:, :3], [[10, 0.5, -0.1], [20, 0.8, 0.05]])
    assert preload_evaluations(world, tmp_path / "missing.csv") == 0
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00garbage")
    assert preload_evaluations(world, tmp_path / "bad.csv") == 0
    world.run(3)  # the system goes on from there
    assert curve.eval_length == 2 and curve.span() == (10, 20)
    world.shutdown()


def test_a_resumed_run_shows_its_episodes_from_episodes_csv(tmp_path):
    """episodes.csv's all-time counters by group, differenced row by row, are the curve's episode points."""
    from runfiles.episode_log import COLUMNS
    from systems.learning_curve import preload_history

    world = view_world(agents=2)
    world.resource(TrainingStats).episodes = 3  # as a restored checkpoint leaves it
    lines = [",".join(COLUMNS)]
    totals = {"learners_decided": 0, "learners_interventions": 0, "learners_relaxes": 0,
              "cohort_decided": 0, "cohort_interventions": 0, "cohort_relaxes": 0}
    steps = [(100, 60, 10, 40, 5, 0), (200, 150, 0, 40, 20, 0), (50, 10, 0, 40, 2, 1), (80, 5, 0, 40, 1, 0)]
    for episode, add in enumerate(steps, start=1):  # the 4th is after the checkpoint
        for key, x in zip(totals, add):
            totals[key] += x
        row = {"episode": episode, **totals}
        lines.append(",".join(str(row.get(c, "")) for c in COLUMNS))
    (tmp_path / "episodes.csv").write_text("\n".join(lines) + "\n")
    assert preload_history(world, tmp_path) == (3, 0)  # no eval.csv there
    curve = world.resource(LearningCurve)
    np.testing.assert_array_equal(curve.episode[:3], [1, 2, 3])
    np.testing.assert_array_equal(curve.counts[:3], [[100, 30, 40, 35], [200, 50, 40, 20], [50, 40, 40, 37]])
    (tmp_path / "old.csv").write_text("episode,return\n1,-5\n")  # a file from before the group counters
    from systems.learning_curve import preload_episodes

    assert preload_episodes(world, tmp_path / "old.csv") == 0
    world.shutdown()
