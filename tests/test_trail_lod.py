"""Trail level of detail against a per-agent oracle: which points are kept, that each keeps its own mode,
that only consecutive kept points of one episode are joined, and the point budget. (No renderer:
tests/test_render.py checks that the Geom in the scene mirrors these arrays.)"""
import math

import numpy as np
import pytest

from components.agent_table import AgentTable
from render.trail_lod import kept_ages, lod_pairs, lod_stride, lod_trails
from tests.view_worlds import view_world


class FrameOracle:
    """entity -> [(frame recorded, point, mode)] of its current episode, newest last, at most L."""

    def __init__(self, L):
        self.L = L
        self.trails = {}

    def after_frame(self, table: AgentTable, frame: int) -> None:
        live = set()
        for r in range(table.n):
            e = int(table.entity[r])
            live.add(e)
            trail = self.trails.setdefault(e, [])
            if table.outcome[r] != 0:  # its episode ended this frame: the trail restarts
                trail.clear()
            head = (int(table.trail_head[r]) - 1) % self.L
            trail.append((frame, table.trail_pos[r, head].copy(), int(table.trail_mode[r, head])))
            del trail[: max(0, len(trail) - self.L)]
        for e in list(self.trails):
            if e not in live:
                del self.trails[e]


def test_stride_fits_the_budget_and_is_one_below_it():
    assert lod_stride(100, 600, 60_000) == 1
    for n in (101, 300, 1000, 10_000, 100_000):
        s = lod_stride(n, 600, 60_000)
        assert s > 1 and (n * (1 + math.ceil(600 / s)) <= 60_000 or s == 600)
        assert s == 2 or n * (1 + math.ceil(600 / (s - 1))) > 60_000  # the smallest that fits


def test_kept_points_stay_kept_as_the_trail_grows():
    s, L = 5, 40
    kept_frames = []
    for frame in range(100, 120):
        ages = kept_ages(frame, s, L)
        assert ages[0] == 0 and np.all(np.diff(ages) > 0) and ages[-1] < L
        frames = set((frame - ages).tolist())
        kept_frames.append(frames)
    for frame, (a, b) in enumerate(zip(kept_frames, kept_frames[1:]), start=100):
        assert all(f % s == 0 or f == frame for f in a)  # kept: recorded on a multiple of s, or the newest
        old = {f for f in a if f % s == 0 and f > frame + 1 - L}
        assert old <= b  # a point kept for its frame is still kept a frame later (until it leaves the trail)


@pytest.mark.parametrize("stride", [1, 3, 7])
def test_lod_keeps_every_kept_points_mode_and_never_joins_two_episodes(stride):
    L = 30
    world = view_world(agents=25, visual={"trail_max_length": L}, env={"max_steps_per_episode": 17})
    table = world.resource(AgentTable)
    oracle = FrameOracle(L)
    restarts = 0
    for _ in range(90):
        world.step()
        frame = world.frame - 1  # the frame that just recorded its point
        oracle.after_frame(table, frame)
        restarts += int(np.count_nonzero(table.outcome[: table.n]))
        pts, modes, live = lod_trails(table, frame, stride)
        pairs = lod_pairs(live).reshape(-1, 2).astype(np.int64)
        k = pts.shape[1]
        assert np.all(pairs // k == pairs[:, :1] // k)  # no segment joins two agents
        flat_pts = pts.reshape(-1, 3)
        for r in range(table.n):
            trail = oracle.trails[int(table.entity[r])]  # this episode only, oldest first
            want = [(f, p, m) for f, p, m in reversed(trail) if f % stride == 0 or f == frame]
            got = np.flatnonzero(live[r])
            assert len(got) == len(want)
            for j, (f, p, m) in zip(got, want):
                np.testing.assert_array_equal(pts[r, j], p)
                assert modes[r, j] == m  # each kept point keeps the mode of its own step
            row_pairs = pairs[pairs[:, 0] // k == r] - r * k
            assert row_pairs.tolist() == [[j, j + 1] for j in range(len(want) - 1)]  # consecutive kept points
            if row_pairs.size:  # and all of them from the current episode
                frames_joined = [want[j][0] for j in row_pairs.ravel()]
                assert min(frames_joined) >= trail[0][0]
        assert flat_pts.shape[0] == table.n * k
    assert restarts > 50  # many episodes ended along the way
    world.shutdown()


def test_budget_bounds_the_points_drawn():
    L, budget = 50, 1000
    world = view_world(agents=120, visual={"trail_max_length": L})
    world.run(60)
    table = world.resource(AgentTable)
    s = lod_stride(table.n, L, budget)
    _, _, live = lod_trails(table, world.frame - 1, s)
    assert s > 1 and live.sum() <= budget and live.shape[1] <= 1 + math.ceil(L / s)
    world.shutdown()


def test_the_cohorts_level_of_detail_trails_are_dashed_and_the_dashes_do_not_crawl():
    """Every other segment of a dashed row is left out, chosen by the frame its older end was
    recorded on: a segment drawn once stays drawn for as long as both its points are kept."""
    from render.trail_lod import lod_gaps

    stride, L = 3, 40
    dashed = np.array([False, True])
    drawn_by_frame = {}
    for frame in range(200, 260):
        ages = kept_ages(frame, stride, L)
        gaps = lod_gaps(frame, stride, L, dashed)
        assert not gaps[0].any()  # a learner's trail is whole
        for i in range(len(ages) - 1):  # the oracle: a loop over the segments
            older = frame - ages[i + 1]
            assert gaps[1, i] == ((older // stride) % 2 == 1)
            drawn_by_frame.setdefault(older, set()).add(not gaps[1, i])
    assert all(len(v) == 1 for v in drawn_by_frame.values())  # never toggles: no crawling
    assert {True, False} == {next(iter(v)) for v in drawn_by_frame.values()}  # dashes and gaps both
    assert lod_gaps(200, stride, L, np.array([False, False])) is None
