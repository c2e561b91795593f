"""HeightSystem: vectorised bilinear interpolation equals the per-agent loop, clamps at the edges, and
puts agents exactly on the cached grid's values at its nodes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.agent_table import AgentTable
from components.critic_surface import CriticSurface
from systems.height import BilinearSampler, bilinear, bilinear_loop
from tests.view_worlds import view_world


def random_grid(rng, g):
    return rng.normal(size=(g, g)) * 3.0


@pytest.mark.parametrize("g", [2, 3, 15, 21, 31])
def test_vectorised_equals_loop_inside_and_outside_the_grid(g):
    rng = np.random.default_rng(g)
    grid = random_grid(rng, g)
    a = rng.uniform(-9.0, 9.0, 2000)  # the grid covers [-5, 5]: many points fall outside
    b = rng.uniform(-9.0, 9.0, 2000)
    vec = bilinear(grid, -5.0, 5.0, a, b)
    loop = bilinear_loop(grid, -5.0, 5.0, a, b)
    assert np.max(np.abs(vec - loop)) < 1e-6
    assert ((np.abs(a) > 5) | (np.abs(b) > 5)).sum() > 500


@settings(max_examples=200, deadline=None)
@given(
    g=st.integers(2, 12),
    points=st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=1, max_size=20),
    seed=st.integers(0, 2**32 - 1),
)
def test_vectorised_equals_loop_on_any_points(g, points, seed):
    grid = random_grid(np.random.default_rng(seed), g)
    a, b = np.array(points).T
    assert np.max(np.abs(bilinear(grid, -5.0, 5.0, a, b) - bilinear_loop(grid, -5.0, 5.0, a, b))) < 1e-6


def test_nodes_edges_and_clamping():
    g = 5
    grid = np.arange(g * g, dtype=float).reshape(g, g)
    axis = np.linspace(-5, 5, g)
    ii, jj = np.meshgrid(range(g), range(g), indexing="ij")
    # exactly at every node (the last row and column included) the value is the node's
    assert np.allclose(bilinear(grid, -5, 5, axis[ii.ravel()], axis[jj.ravel()]), grid.ravel(), atol=1e-12)
    # midway between two nodes along one axis: their mean
    assert bilinear(grid, -5, 5, np.array([-3.75]), np.array([-5.0]))[0] == pytest.approx((grid[0, 0] + grid[1, 0]) / 2)
    # outside: the value at the nearest edge point
    far = bilinear(grid, -5, 5, np.array([-100.0, 100.0, 7.0, 0.0]), np.array([-100.0, 100.0, 0.0, -9.0]))
    assert np.allclose(far, [grid[0, 0], grid[-1, -1], grid[-1, 2], grid[2, 0]])


def test_the_linear_function_is_reproduced_exactly():
    """Bilinear interpolation of a bilinear function is exact: a check independent of the loop twin."""
    axis = np.linspace(-5, 5, 21)
    A, B = np.meshgrid(axis, axis, indexing="ij")
    f = lambda a, b: 1.5 * a - 0.5 * b + 0.25 * a * b + 2.0  # noqa: E731
    rng = np.random.default_rng(3)
    a, b = rng.uniform(-5, 5, 500), rng.uniform(-5, 5, 500)
    assert np.allclose(bilinear(f(A, B), -5, 5, a, b), f(a, b), atol=1e-9)


@pytest.mark.parametrize("system", ["point_mass", "differential_drive"])
def test_height_system_both_paths_agree_and_match_the_grid(system):
    worlds = {}
    for flag in (True, False):
        w = view_world(agents=25, env={"system": system}, visual={"use_vectorized_heights": flag})
        w.run(40)
        worlds[flag] = w
    t_vec, t_loop = worlds[True].resource(AgentTable), worlds[False].resource(AgentTable)
    assert np.array_equal(t_vec.state, t_loop.state)
    assert np.max(np.abs(t_vec.height - t_loop.height)) < 1e-6
    surface = worlds[True].resource(CriticSurface)
    assert surface.version >= 1
    expected = bilinear_loop(surface.heights, surface.lo, surface.hi, t_vec.state[:, 0], t_vec.state[:, 1])
    assert np.max(np.abs(t_vec.height - expected)) < 1e-6
    assert np.all(t_vec.height >= surface.heights.min() - 1e-12) and np.all(t_vec.height <= surface.heights.max() + 1e-12)
    for w in worlds.values():
        w.shutdown()


@pytest.mark.parametrize("g", [2, 3, 21, 101])
def test_sampler_equals_loop_within_its_margin_and_clamps_b_at_any_distance(g):
    rng = np.random.default_rng(100 + g)
    grid = random_grid(rng, g)
    sampler = BilinearSampler(grid, -5.0, 5.0)
    axis = np.linspace(-5, 5, g)
    a = np.concatenate([rng.uniform(-60, 60, 3000), np.repeat(axis, g), [-5, 5, 995, -995]])
    b = np.concatenate([rng.uniform(-60, 60, 3000), np.tile(axis, g), [1e9, -1e300, 5, -5]])
    assert np.max(np.abs(sampler(a, b) - bilinear_loop(grid, -5.0, 5.0, a, b))) < 1e-8
    assert np.isnan(sampler(np.array([np.nan, 0.0]), np.array([0.0, np.nan]))).all()  # NaN in, NaN out


def test_bilinear_clamps_both_coordinates_at_any_distance():
    grid = random_grid(np.random.default_rng(9), 7)
    a = np.array([1e9, -1e12, 0.0, 3e5])
    b = np.array([0.0, 2.0, 1e300, -4e7])
    assert np.max(np.abs(bilinear(grid, -5, 5, a, b) - bilinear_loop(grid, -5, 5, a, b))) < 1e-12


def test_height_system_rebuilds_its_tables_when_the_surface_is_refreshed():
    world = view_world(agents=30)
    world.run(3)
    surface = world.resource(CriticSurface)
    table = world.resource(AgentTable)
    surface.heights[:] = random_grid(np.random.default_rng(4), surface.size)  # a refresh: new heights, new version
    surface.version += 1
    world.system("HeightSystem").process(world, 0.0)
    expected = bilinear_loop(surface.heights, surface.lo, surface.hi, table.state[:, 0], table.state[:, 1])
    assert np.max(np.abs(table.height - expected)) < 1e-8
    world.shutdown()
