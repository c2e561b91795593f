"""The World: isolated esper contexts, resources, ordered systems, enable/disable, events."""
import pytest

from components.tags import AgentRow
from ecs import ScheduleError, System, World


class Recorder(System):
    def __init__(self, name, log):
        self.name = name
        self.log = log

    def process(self, world, dt):
        self.log.append(self.name)


def make(name, log, **anchors):
    cls = type(name, (Recorder,), {"name": name})
    return cls(name, log)


def test_two_worlds_never_see_each_others_entities():
    a, b = World(), World()
    ea = [a.create_entity(AgentRow(i)) for i in range(3)]
    [b.create_entity(AgentRow(10 + i)) for i in range(5)]
    assert sorted(e for e, _ in a.esper.get_component(AgentRow)) == sorted(ea)
    assert [c.row for _, c in b.esper.get_component(AgentRow)] == [10, 11, 12, 13, 14]
    assert a.entity_count() == 3 and b.entity_count() == 5
    a.delete_entity(ea[0])
    assert b.entity_count() == 5 and a.entity_count() == 2
    a.shutdown()
    b.shutdown()


def test_resources_are_per_world_and_missing_ones_name_themselves():
    a, b = World(), World()
    a.insert_resource([1, 2], key="numbers")
    assert a.resource("numbers") == [1, 2]
    assert b.try_resource("numbers") is None
    with pytest.raises(KeyError, match="no resource"):
        b.resource("numbers")


def test_systems_run_in_declared_order_with_before_and_after():
    log = []
    w = World()
    w.add_system(make("Physics", log))
    w.add_system(make("Profiler", log))
    w.add_system(make("Control", log), before="Physics")
    w.add_system(make("Height", log), after="Physics")
    w.add_system(make("Trail", log), after="Height")
    w.add_system(make("Monitor", log), after="Height")  # immediately after Height, before Trail
    assert w.schedule.names() == ["Control", "Physics", "Height", "Monitor", "Trail", "Profiler"]
    w.step()
    assert log == w.schedule.names()
    text = w.schedule.describe()
    assert text.splitlines()[0].startswith("view phase")  # no phase asked for, no anchors: the view phase
    assert text.splitlines()[1].endswith("Control") and "Profiler" in text.splitlines()[-1]


def test_disable_and_enable_at_runtime():
    log = []
    w = World()
    for n in ("A", "B", "C"):
        w.add_system(make(n, log))
    w.schedule.disable("B")
    w.step()
    assert log == ["A", "C"]
    assert "[disabled]" in w.schedule.describe()
    w.schedule.enable("B")
    log.clear()
    w.step()
    assert log == ["A", "B", "C"]


def test_ordering_errors_are_clear_and_change_nothing():
    log = []
    w = World()
    w.add_system(make("A", log))
    w.add_system(make("B", log))
    with pytest.raises(ScheduleError, match="duplicate system name 'A'"):
        w.add_system(make("A", log))
    with pytest.raises(ScheduleError, match="unknown anchor 'Nope'"):
        w.add_system(make("C", log), after="Nope")
    with pytest.raises(ScheduleError, match="cycle"):
        w.add_system(make("C", log), after="B", before="A")
    with pytest.raises(ScheduleError, match="cycle"):
        w.add_systems([(make("P", log), None, "Q"), (make("Q", log), None, "P")])
    assert w.schedule.names() == ["A", "B"]


def test_batch_may_anchor_on_its_own_members():
    log = []
    w = World()
    w.add_system(make("A", log))
    w.add_system(make("Z", log))
    w.add_systems([(make("P2", log), None, "P1"), (make("P1", log), None, "A"), (make("P0", log), "P1", None)])
    names = w.schedule.names()
    assert names.index("A") < names.index("P1") < names.index("P2")
    assert names.index("P0") < names.index("P1")


def test_a_failing_setup_leaves_the_schedule_unchanged():
    class Broken(System):
        def setup(self, world):
            raise RuntimeError("boom")

        def process(self, world, dt):
            pass

    w = World()
    with pytest.raises(RuntimeError):
        w.add_system(Broken())
    assert "Broken" not in w.schedule


def test_events_reach_subscribers():
    w = World()
    got = []
    w.events.subscribe("x", lambda *a: got.append(a))
    w.events.emit("x", 1, 2)
    assert got == [(1, 2)]


def test_bad_dt_is_rejected():
    with pytest.raises(ValueError, match="dt"):
        World(dt=0)
