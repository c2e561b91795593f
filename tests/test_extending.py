"""The extension path: plugins by import path, placement checks, declared reads/writes audited."""
import pytest

import app
from components import AgentTable
from components.resources import PopulationRequests
from config import ConfigError, build_config
from ecs.access_audit import AccessAudit
from plugins.loading import PluginError, parse_plugin_arg
from runtime.build import build_world

PLUGIN = "tests.plugins_for_tests.sample:SpeedTracker"


def test_plugin_from_config_is_placed_and_runs():
    cfg = build_config({"plugins": [{"system": PLUGIN, "after": "PhysicsSystem", "options": {"scale": 2.0}}]})
    world = build_world(cfg)
    names = world.schedule.names()
    assert names.index("SpeedTracker") == names.index("PhysicsSystem") + 1
    world.run(5)
    t = world.resource(AgentTable)
    assert (t.max_abs_action > 0).all()
    rep = world.system("ProfilerSystem").report()
    assert "SpeedTracker" in rep["systems"] and rep["systems"]["SpeedTracker"]["frames"] == 5
    world.shutdown()


def test_plugins_may_anchor_on_each_other_and_use_class_defaults():
    cfg = build_config({"plugins": ["tests.plugins_for_tests.sample:AfterTracker",
                                    {"system": PLUGIN, "before": "PhysicsSystem"}]})
    world = build_world(cfg, spawn=False)
    names = world.schedule.names()
    assert names.index("SpeedTracker") + 1 == names.index("AfterTracker") < names.index("PhysicsSystem") + 1
    world.shutdown()


@pytest.mark.parametrize("arg,message", [
    ("nomodule", "expected package.module:ClassName"),
    ("a.b:C:sideways=X", "position must be"),
    ("a.b:C:after=", "position must be"),
])
def test_plugin_argument_syntax_errors(arg, message):
    with pytest.raises(PluginError, match=message):
        parse_plugin_arg(arg)


def test_plugin_argument_with_position():
    spec = parse_plugin_arg(PLUGIN + ":after=HeightSystem")
    assert spec.system == PLUGIN and spec.after == "HeightSystem" and spec.before is None


@pytest.mark.parametrize("plugin,message", [
    ("no_such_pkg.mod:X", "cannot import no_such_pkg.mod"),
    ("tests.plugins_for_tests.sample:Missing", "has no Missing"),
    ("tests.plugins_for_tests.sample:NotASystem", "is not an ecs.System subclass"),
    (PLUGIN + ":after=NoSuchSystem", "unknown anchor 'NoSuchSystem'"),
    ("systems.physics:PhysicsSystem", "duplicate system name 'PhysicsSystem'"),
])
def test_bad_plugins_fail_at_start_up_with_one_line(plugin, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = app.main(["--headless", "--frames", "3", "--plugin", plugin, "--profile", "p.json"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_plugin_cycle_in_config_file_is_reported(tmp_path, capsys):
    f = tmp_path / "c.toml"
    f.write_text(
        "[[plugins]]\nsystem = 'tests.plugins_for_tests.sample:SpeedTracker'\nafter = 'AfterTracker'\n"
        "[[plugins]]\nsystem = 'tests.plugins_for_tests.sample:AfterTracker'\n"
    )
    code = app.main(["--config", str(f), "--headless", "--frames", "2"])
    assert code == 2 and "cycle" in capsys.readouterr().err


def test_bad_plugin_options_are_reported():
    cfg = build_config({"plugins": [{"system": PLUGIN, "options": {"nope": 1}}]})
    with pytest.raises(PluginError, match="bad options"):
        build_world(cfg)
    with pytest.raises(ConfigError, match="plugins: unknown key 'where'"):
        build_config({"plugins": [{"system": PLUGIN, "where": "x"}]})


def test_list_systems_verbose_shows_declarations(capsys):
    assert app.main(["--list-systems", "--verbose", "--headless", "--plugin", PLUGIN + ":after=PhysicsSystem"]) == 0
    out = capsys.readouterr().out
    assert "SpeedTracker" in out and "writes: max_abs_action" in out and "reads:  action" in out


IMPLICIT = {"AgentTable"}  # every system may look the table up; its columns are what counts


def audited_world(cfg):
    from components.view_state import Selection
    from runtime.view_systems import (
        add_view_systems,  # the view's data systems run headless too
    )

    world = build_world(cfg, extend=lambda w: add_view_systems(w, cfg))
    world.resource(Selection).select(int(world.resource(AgentTable).entity[1]))  # the inspection path runs too
    audit = AccessAudit(world, world.resource(AgentTable)).attach()
    world.resource(PopulationRequests).request(3)
    for _ in range(30):  # spawns, steps, training updates, surface refreshes and (5-step episodes) respawns
        world.step()
    world.resource(PopulationRequests).request(-2)
    world.step()
    return world, audit


@pytest.mark.parametrize("system", ["point_mass", "differential_drive"])
def test_declared_reads_and_writes_match_what_systems_touch(system):
    """Every access must be declared; every declared column must be touched on some path
    (the optimised run and the baseline run with the feature flags off take different ones; the
    baseline run also turns on the opt-in exploration paths, correlated noise and in-episode relax decay)."""
    touched_cols, touched_writes, schedules = {}, {}, {}
    for optimised in (True, False):
        flags = {f: optimised for f in ("use_vectorized_heights", "use_stats_cache", "use_batched_trails")}
        cfg = build_config(overrides={"env": {"system": system, "max_steps_per_episode": 5},
                                      "visual": {"agents": 4, "heatmap_update_freq": 3, **flags},
                                      "td3": {"start_training_step": 4, "batch_size": 4,
                                              "noise_correlation": 0.0 if optimised else 0.5}},
                           extra_plugins=[parse_plugin_arg(PLUGIN)])
        world, audit = audited_world(cfg)
        table = world.resource(AgentTable)
        assert {"TrainingSystem", "HeatmapSystem", "HeightSystem", "TrailBatchSystem", "StatsSystem"} <= set(
            world.schedule.names())
        columns = {s.name for s in table.specs()}
        for s in world.schedule:
            declared = set(s.reads) | set(s.writes)
            accessed_cols = audit.columns[s.name]
            written = audit.written[s.name]
            assert accessed_cols <= declared, f"{s.name} touches undeclared columns {accessed_cols - declared}"
            assert written <= set(s.writes) | IMPLICIT, f"{s.name} writes undeclared {written - set(s.writes)}"
            assert audit.resources[s.name] - IMPLICIT <= declared, (
                f"{s.name} uses undeclared resources {audit.resources[s.name] - IMPLICIT - declared}")
            touched_cols.setdefault(s.name, set()).update(accessed_cols)
            touched_writes.setdefault(s.name, set()).update(written)
            schedules[s.name] = declared & columns
        world.shutdown()
    for name, declared_cols in schedules.items():
        never = declared_cols - touched_cols[name] - touched_writes[name]
        assert not never, f"{name} declares columns it never touches: {never}"


def test_the_audit_catches_an_undeclared_write():
    from ecs import System

    class Sneaky(System):
        reads = ("state",)

        def process(self, world, dt):
            world.resource(AgentTable).state[:] += 1.0

    world = build_world(build_config())
    world.add_system(Sneaky(), after="PhysicsSystem")
    audit = AccessAudit(world, world.resource(AgentTable)).attach()
    world.step()
    assert audit.written["Sneaky"] == {"state"} and "state" not in Sneaky.writes
    world.shutdown()
