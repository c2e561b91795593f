"""No NaN or inf in any float column of the agent table reaches statistics or plots
(systems.finite_check), whoever wrote it: a plugin (checked right after it runs), or anything
between frames (checked at the frame's start), in any column a system or a plugin registered.
Checked against a loop oracle over every value, on hand-built tables."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import app
from components.agent_table import AgentTable, ColumnSpec
from components.resources import Counters
from components.training_stats import TrainingStats
from config import build_config
from plugins.loading import parse_plugin_arg
from runtime.build import build_world
from systems.finite_check import BUDGET, FiniteCheck

P = "tests.plugins_for_tests.faulty"
OVER = {"visual": {"agents": 3}, "env": {"max_steps_per_episode": 15}, "td3": {"start_training_step": 5,
        "batch_size": 8}, "run": {"seed": 4}}


def world_with(*plugins):
    return build_world(build_config(overrides=OVER, extra_plugins=[parse_plugin_arg(p) for p in plugins]))


def oracle(table: AgentTable) -> dict[str, list[tuple]]:
    """Per checked column, every (row, index) holding a value the check must repair: a plain loop."""
    found = {}
    for spec in table.specs():
        if spec.dtype.kind not in "fc" or spec.nonfinite_policy == "owner":
            continue
        col = table.column(spec.name)
        bad = []
        for r in range(table.n):
            for idx, v in np.ndenumerate(np.asarray(col[r])):
                if math.isinf(v) or (math.isnan(v) and spec.nonfinite_policy != "nan"):
                    bad.append((r, idx))
        found[spec.name] = bad
    return found


def test_the_check_repairs_exactly_what_a_loop_finds_in_every_policy():
    w = world_with()
    table = w.resource(AgentTable)
    table.add_columns([ColumnSpec("mine", (2,), np.float32, 1.5, owner="test"),
                       ColumnSpec("empty", (0,), np.float64, 0.0, owner="test"),  # no values per row: skipped
                       ColumnSpec("maybe", (), np.float64, np.nan, owner="test"),
                       ColumnSpec("owned", (), np.float64, 0.0, owner="test", nonfinite="owner")])
    rng = np.random.default_rng(0)
    for name in ("episode_return", "q_cert", "a_cert", "mine", "maybe", "owned", "q"):
        col = table.column(name)
        flat = col.reshape(-1)
        hit = rng.choice(flat.size, size=max(1, flat.size // 3), replace=False)
        flat[hit] = rng.choice([np.nan, np.inf, -np.inf], size=hit.size)
    expected = oracle(table)
    before = {n: table.column(n).copy() for n in ("owned", "maybe", "q_cert")}
    repaired = FiniteCheck().run(w)
    assert repaired == sum(len(v) for v in expected.values()) > 0
    assert oracle(table) == {name: [] for name in expected}
    assert np.isfinite(table.episode_return).all() and np.isfinite(table.mine).all()
    mine_bad = [r for r, _ in expected["mine"]]
    assert (table.mine[mine_bad] == 1.5).any()  # reset to the column's fill
    np.testing.assert_array_equal(table.owned, before["owned"])  # the owner's: untouched
    maybe_nan = np.isnan(before["maybe"])  # NaN means "none" there: kept; inf became NaN
    assert np.isnan(table.maybe[maybe_nan]).all() and not np.isinf(table.maybe).any()
    assert w.resource(Counters).get("nonfinite_values") == repaired
    w.shutdown()


def test_a_wide_column_is_checked_in_rotating_blocks_and_fully_covered():
    w = world_with()
    table = w.resource(AgentTable)
    width = BUDGET // 2  # two rows per check
    table.add_column(ColumnSpec("wide", (width,), np.float32, 0.0, owner="test"))
    table.column("wide")[:, 7] = np.nan
    check = FiniteCheck()
    checks = 0
    while not np.isfinite(table.column("wide")).all():
        check.run(w)
        checks += 1
        assert checks <= table.n  # every row is reached within n / 2 checks
    assert checks == math.ceil(table.n / 2)
    w.shutdown()


@pytest.mark.parametrize("column,value", [("episode_return", math.nan), ("episode_return", math.inf),
                                          ("q_cert", math.inf), ("a_cert", -math.inf), ("plugin_col", math.nan)])
def test_nan_written_by_a_plugin_never_reaches_the_statistics(column, value):
    # before PhysicsSystem: a NaN episode_return would be emitted with the episode's end the same frame
    w = world_with(f"{P}:WritesNonFinite:after=ControlSystem")
    plugin = w.system("WritesNonFinite")
    plugin.column, plugin.value, plugin.start = column, value, 3
    if not w.resource(AgentTable).has_column(column):
        w.resource(AgentTable).add_column(ColumnSpec(column, (), np.float64, 0.0, owner="WritesNonFinite"))
    ended = []
    w.events.subscribe("episodes_ended", lambda rows, out, returns, lengths: ended.append(returns.copy()))
    w.run(60)
    stats = w.resource(TrainingStats)
    assert len(ended) >= 3 and all(np.isfinite(r).all() for r in ended)
    assert stats.episodes >= 3 and np.isfinite(list(stats.returns)).all() and math.isfinite(stats.episode_return)
    checked = oracle(w.resource(AgentTable))
    assert all(not bad for bad in checked.values())
    assert w.resource(Counters).get("nonfinite_values") > 0
    w.shutdown()


def test_nan_written_between_frames_is_repaired_before_any_system_reads_it():
    w = world_with()
    w.run(3)
    table = w.resource(AgentTable)
    table.episode_return[:] = np.nan  # e.g. by code driving the world between steps
    returns = []
    w.events.subscribe("episodes_ended", lambda rows, out, r, lengths: returns.append(r.copy()))
    w.run(40)
    assert returns and all(np.isfinite(r).all() for r in returns)
    assert w.resource(Counters).get("nonfinite_values") == table.n
    w.shutdown()


def test_a_run_with_nan_written_into_the_returns_writes_every_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(
        "[env]\nmax_steps_per_episode = 20\n[training]\nplot_every = 1\ncheckpoint_every = 2\n"
        f"[[plugins]]\nsystem = '{P}:WritesNonFinite'\nafter = 'ControlSystem'\n"
        "options = {column = 'episode_return', start = 2, every = 7}\n")
    code = app.main(["--headless", "--episodes", "6", "--agents", "2", "--no-progress", "--out", "run",
                     "--config", "c.toml", "--profile", "p.json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err.count("app.py: warning: column episode_return (owner PhysicsSystem) held NaN or inf") == 1
    summary = json.loads((tmp_path / "run" / "run_summary.json").read_text())
    assert summary["episodes"] == 6 and summary["numerics"]["nonfinite_values"] > 0
    assert summary["mean_return_last10"] is not None
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["calf_log.csv", "checkpoint.pt", "config.toml", "episodes.csv", "eval.csv", "rewards.png",
                     "run_summary.json"]
