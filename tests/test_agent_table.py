"""AgentTable: random spawn/despawn sequences keep rows, entities and every column consistent."""
import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from components import AgentTable, ColumnSpec
from components.tags import AgentRow, TrainingAgent, VisualAgent
from ecs import World


def make_table(capacity=2):
    w = World()
    t = AgentTable(w, capacity=capacity)
    t.add_column(ColumnSpec("marker", (), np.float64, -1.0))
    t.add_column(ColumnSpec("vec", (3,), np.float32, 0.0))
    t.add_column(ColumnSpec("trail", (4, 2), np.int16, 0))
    return w, t


class TableMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.world, self.table = make_table()
        self.expected = {}  # entity -> marker value
        self.next_marker = 0.0
        self.moves = []
        self.world.events.subscribe("row_moved", lambda src, dst: self.moves.append((src, dst)))

    def _fill(self, rows):
        for r in rows:
            e = self.table.entity_of(int(r))
            self.next_marker += 1.0
            m = self.next_marker
            self.table.marker[r] = m
            self.table.vec[r] = (m, -m, 2 * m)
            self.table.trail[r] = int(m) % 1000
            self.expected[e] = m

    @rule(k=st.integers(0, 9))
    def spawn_visual(self, k):
        rows = self.table.spawn(k)
        assert list(rows) == list(range(self.table.n - k, self.table.n))
        self._fill(rows)

    @precondition(lambda self: self.table.training_row < 0)
    @rule()
    def spawn_training(self):
        rows = self.table.spawn(1, training=True)
        self._fill(rows)

    @precondition(lambda self: self.table.n > 0)
    @rule(data=st.data())
    def despawn_one(self, data):
        victim = data.draw(st.sampled_from(sorted(self.expected)))
        self.table.despawn(victim)
        del self.expected[victim]

    @precondition(lambda self: self.table.n > 0)
    @rule()
    def despawn_newest_visual(self):
        ents = self.table.visual_entities()
        if ents:
            self.table.despawn(ents[0])
            del self.expected[ents[0]]

    @invariant()
    def rows_entities_columns_agree(self):
        t = self.table
        t.check_consistency()
        assert t.n == len(self.expected) == self.world.entity_count()
        assert t.capacity >= t.n and (t.capacity & (t.capacity - 1)) == 0  # powers of two from 2
        for e, m in self.expected.items():
            r = t.row_of(e)
            assert t.entity_of(r) == e
            assert t.marker[r] == m
            assert tuple(t.vec[r]) == (np.float32(m), np.float32(-m), np.float32(2 * m))
            assert (t.trail[r] == int(m) % 1000).all()
        has_trainer = any(True for _ in self.world.esper.get_component(TrainingAgent))
        assert (t.training_row >= 0) == has_trainer


TestTableMachine = TableMachine.TestCase
TestTableMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_swap_remove_moves_last_row_and_emits_events():
    w, t = make_table()
    t.spawn(1, training=True)
    t.spawn(3)
    t.marker[:] = [10, 11, 12, 13]
    events = []
    w.events.subscribe("row_moved", lambda s, d: events.append(("moved", s, d)))
    w.events.subscribe("agent_despawned", lambda e, r: events.append(("gone", e, r)))
    victim = t.entity_of(1)
    last = t.entity_of(3)
    t.despawn(victim)
    assert t.n == 3 and list(t.marker) == [10, 13, 12]
    assert t.row_of(last) == 1
    assert events == [("moved", 3, 1), ("gone", victim, 1)]
    # despawning the training agent (row 0) moves the last row there and clears training_row
    t.despawn(t.entity_of(0))
    assert t.training_row == -1 and list(t.marker) == [12, 13]
    t.check_consistency()


def test_training_agent_follows_a_swap():
    w, t = make_table()
    t.spawn(2)
    t.spawn(1, training=True)  # row 2, the last row
    t.despawn(t.entity_of(0))  # the training agent moves into row 0
    assert t.training_row == 0 and t.is_training(t.entity_of(0))
    t.check_consistency()


def test_growth_doubles_and_keeps_data():
    w, t = make_table(capacity=2)
    t.spawn(2)
    t.marker[:] = [1, 2]
    t.spawn(3)
    assert t.capacity == 8 and list(t.marker[:2]) == [1, 2] and list(t.marker[2:]) == [-1, -1, -1]


def test_late_column_gets_its_default_for_existing_rows():
    w, t = make_table()
    t.spawn(5)
    t.add_column(ColumnSpec("late", (2,), np.float64, 7.5))
    assert t.late.shape == (5, 2) and (t.late == 7.5).all()


def test_column_errors_are_clear():
    w, t = make_table()
    t.add_column(ColumnSpec("marker", (), np.float64, 0.0))  # same spec: fine
    with pytest.raises(ValueError, match="already exists with shape"):
        t.add_column(ColumnSpec("marker", (2,), np.float64, 0.0))
    with pytest.raises(ValueError, match="identifier"):
        ColumnSpec("bad name")
    with pytest.raises(KeyError, match="no column 'nope'"):
        t.column("nope")
    with pytest.raises(ValueError, match="exactly one training agent"):
        t.spawn(1, training=True)
        t.spawn(1, training=True)
    with pytest.raises(ValueError, match="non-negative"):
        t.spawn(-1)
    with pytest.raises(AttributeError, match="assign into the column"):
        t.marker = np.zeros(t.n)
    with pytest.raises(KeyError, match="not an agent"):
        t.row_of(99999)


def test_in_place_operators_on_columns_work():
    w, t = make_table()
    t.spawn(3)
    t.marker[:] = 1.0
    t.marker += 2.0
    assert (t.marker == 3.0).all()


def test_values_set_for_spawned_rows_and_tags():
    w, t = make_table()
    rows = t.spawn(3, values={"marker": [5, 6, 7]})
    assert list(t.marker[rows]) == [5, 6, 7]
    for r in rows:
        assert w.esper.has_component(t.entity_of(int(r)), VisualAgent)
        assert w.esper.component_for_entity(t.entity_of(int(r)), AgentRow).row == r
