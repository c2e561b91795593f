"""Trail ring buffers across steps, wrap-around, respawns, additions and removals; and the trail meshes
(one Geom for all, and the per-agent baseline) built from them, checked without rendering."""
import numpy as np
import pytest
from panda3d.core import NodePath

from components.agent_table import AgentTable
from components.resources import PopulationRequests
from render.trail_mesh import BatchedTrailMesh, PerAgentTrails
from render.vertex_arrays import read_colors, read_indices, read_positions
from systems.trails import TrailChanges, chronological_slots
from render.palette import mode_colors8
from tests.trail_oracle import TrailOracle, chains, dashed_segments, row_segments, table_trail
from tests.view_worlds import view_world

L = 40


def scripted_world(agents=6, max_steps=25, seed=3):
    return view_world(agents=agents, seed=seed, visual={"trail_max_length": L}, env={"max_steps_per_episode": max_steps})


def population_script(world, frame, rng):
    """Random +/- requests, like a user pressing the keys."""
    if rng.random() < 0.15:
        world.resource(PopulationRequests).request(int(rng.choice([-3, -1, 1, 2, 5])))


def check_against_oracle(table, oracle):
    for r in range(table.n):
        pts, modes = table_trail(table, r)
        e = int(table.entity[r])
        assert np.array_equal(pts, oracle.points(e)), f"row {r} (entity {e}) holds the wrong points"
        assert np.array_equal(modes, oracle.modes(e))


def test_ring_buffer_holds_the_last_L_positions_and_restarts_on_respawn():
    world = scripted_world(max_steps=3 * L // 2)  # episodes outlast the ring: wrap-around happens
    table = world.resource(AgentTable)
    oracle = TrailOracle(L)
    restarts = 0
    for _ in range(4 * L):
        world.step()
        restarts += int(np.count_nonzero(table.outcome))
        oracle.after_step(table)
        check_against_oracle(table, oracle)
    assert restarts > 0 and np.any(table.trail_len == L)
    world.shutdown()


def test_trails_follow_their_agents_through_add_and_remove():
    world = scripted_world(agents=8, max_steps=20)
    table = world.resource(AgentTable)
    oracle = TrailOracle(L)
    rng = np.random.default_rng(0)
    sizes = set()
    for frame in range(300):
        population_script(world, frame, rng)
        world.step()
        oracle.after_step(table)
        check_against_oracle(table, oracle)
        table.check_consistency()
        sizes.add(table.n)
    assert len(sizes) > 5
    world.shutdown()


def test_changes_mark_rows_to_rewrite():
    world = scripted_world(agents=4, max_steps=10)
    table = world.resource(AgentTable)
    changes = world.resource(TrailChanges)
    world.step()
    rows, appends, _ = changes.take(table.n)
    assert appends == 1 and set(rows.tolist()) == set(range(table.n))  # spawned rows
    for _ in range(8):
        world.step()
    rows, appends, _ = changes.take(table.n)
    assert appends == 8 and rows.size == 0
    world.step()  # step 10: every episode times out and restarts
    rows, _, _ = changes.take(table.n)
    assert set(rows.tolist()) == set(np.flatnonzero(table.outcome).tolist()) and rows.size > 0
    world.resource(PopulationRequests).request(-1)
    victim_row = table.row_of(table.visual_entities()[0])
    world.step()
    rows, _, _ = changes.take(table.n)
    if victim_row < table.n:  # the last row moved into the hole
        assert victim_row in rows.tolist()


def test_chronological_slots():
    head = np.array([0, 3, 2, 0])
    length = np.array([0, 3, 5, 5])
    slots, valid = chronological_slots(head, length, 5)
    assert valid.sum(axis=1).tolist() == [0, 3, 5, 5]
    assert slots[1, :3].tolist() == [0, 1, 2]
    assert slots[2].tolist() == [2, 3, 4, 0, 1]
    assert slots[3].tolist() == [0, 1, 2, 3, 4]


def mesh_chains_match(table, mesh):
    pos = read_positions(mesh.vdata)
    col = read_colors(mesh.vdata)
    idx = read_indices(mesh.prim)
    assert idx.size == table.n * L * 2
    cohort = np.flatnonzero(table.group == 1)
    found = chains(idx, L, table.n, dashed=cohort)
    for r in cohort:  # the policy cohort: dashed, each drawn vertex the ring buffer's point
        want = dashed_segments(table, r)
        assert row_segments(idx, L, r) == want, f"cohort row {r}: other segments than its dashes"
        for a, b in want:
            for slot in (a, b):
                assert np.array_equal(pos[r * L + slot], table.trail_pos[r, slot])
    for r in range(table.n):
        if r in cohort:
            continue
        pts, modes = table_trail(table, r)
        chain = found[r]
        if len(pts) < 2:
            assert chain == [], f"row {r}: a single point draws no segment"
            continue
        assert len(chain) == len(pts), f"row {r}: {len(chain)} vertices drawn for a trail of {len(pts)}"
        assert np.array_equal(pos[chain], pts)
        expected = mode_colors8(modes, np.full(len(modes), r == table.training_row))
        assert np.array_equal(col[chain], expected)


@pytest.mark.parametrize("max_steps", [15, 3 * L])
def test_batched_mesh_draws_exactly_the_live_trails(max_steps):
    world = scripted_world(agents=7, max_steps=max_steps, seed=11)
    table = world.resource(AgentTable)
    mesh = BatchedTrailMesh(NodePath("test"), L)
    changes = world.resource(TrailChanges)
    rng = np.random.default_rng(5)
    for frame in range(250):
        population_script(world, frame, rng)
        world.step()
        mesh.sync(table, changes)
        mesh_chains_match(table, mesh)
    assert mesh.capacity >= table.n
    world.shutdown()


def test_batched_mesh_catches_up_after_missed_frames_and_surface_refreshes():
    world = scripted_world(agents=5, max_steps=200)
    table = world.resource(AgentTable)
    mesh = BatchedTrailMesh(NodePath("test"), L)
    changes = world.resource(TrailChanges)
    world.step()
    mesh.sync(table, changes)
    world.run(7)  # the renderer skipped frames: it must rewrite everything
    mesh.sync(table, changes)
    mesh_chains_match(table, mesh)
    world.resource(type(world.resource(TrailChanges)))  # still there
    from components.critic_surface import CriticSurface

    world.resource(CriticSurface).force = True
    world.step()  # the surface refreshes: every stored point is re-projected
    mesh.sync(table, changes)
    mesh_chains_match(table, mesh)


def test_per_agent_baseline_builds_the_same_trails():
    world = scripted_world(agents=5, max_steps=18)
    table = world.resource(AgentTable)
    trails = PerAgentTrails(NodePath("test"), L)
    rng = np.random.default_rng(2)
    for frame in range(120):
        population_script(world, frame, rng)
        world.step()
        trails.sync(table, world.resource(TrailChanges))
        assert len(trails.parts) == table.n  # one Geom per agent
        for r in range(table.n):
            _, vdata, prim = trails.parts[r]
            pts, _ = table_trail(table, r)
            if len(pts) < 2:
                assert prim.getNumVertices() == 0
                continue
            assert np.array_equal(read_positions(vdata), pts)
            if table.group[r] != 1:
                assert prim.getNumPrimitives() == 1 and prim.getNumVertices() == len(pts)
                continue
            # the policy cohort: one strip per dash, the same segments as the batched mesh draws
            n, head = int(table.trail_len[r]), int(table.trail_head[r])
            slots = [(head - n + i) % L for i in range(n)]
            drawn = set()
            for p in range(prim.getNumPrimitives()):
                ends = [prim.getVertex(v) for v in range(prim.getPrimitiveStart(p), prim.getPrimitiveEnd(p))]
                drawn |= {(slots[a], slots[b]) for a, b in zip(ends, ends[1:])}
            assert drawn == dashed_segments(table, r)
