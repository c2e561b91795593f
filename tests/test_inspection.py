"""Inspecting one agent: its decision re-derived step by step against an oracle that reads the table
around every step, the row followed through swap-removes, the timeline per episode, and the keys."""
import math

import numpy as np
import pytest

from components.agent_table import AgentTable
from components.inspection import TRACE_POINTS, CertificateTrace, Inspection
from components.modes import Mode
from components.view_state import HudText, Selection, ViewState
from config.schema import AppConfig
from runtime.build import build_world
from runtime.view_systems import add_view_systems
from systems.stats import StatsSystem
from tests.view_worlds import view_config, view_world
from view import controls


def calf_world(agents=6, **sections):
    """Visual agents that are not learners (collect = "training"), so none of them sits out a warm-up."""
    sections = {"env": {"max_steps_per_episode": 60}, "td3": {"start_training_step": 20, "batch_size": 16},
                **sections}
    sections["training"] = {"policy": "calf", "collect": "training", **sections.get("training", {})}
    # 60-step episodes are too short for the nominal policy to finish: the reach check would hand
    # every agent over at once, so it is off unless a test asks for it
    sections["calf"] = {"nominal_reach_check": 0.0, **sections.get("calf", {})}
    cfg = view_config(agents, 7, "calf", **sections)
    world = build_world(cfg)
    add_view_systems(world, cfg)
    return world


def test_the_panel_values_are_the_certificate_test_of_each_step():
    world = calf_world()
    table = world.resource(AgentTable)
    params = world.resource(AppConfig).calf
    entity = int(table.entity[3])
    world.resource(Selection).select(entity)
    info = world.resource(Inspection)
    seen_modes, episodes_with_cert = set(), 0
    for _ in range(400):
        row = table.row_of(entity)
        before_q_cert, before_has = float(table.q_cert[row]), bool(table.has_cert[row])
        before_hold = int(table.fallback_hold[row])
        world.step()
        row = table.row_of(entity)
        assert info.row == row and info.steps_seen > 0
        s = table.prev_state[row]  # the state the filter decided at (the row may have respawned since)
        norm = math.sqrt(float(s @ s))
        q = float(table.q[row])
        assert info.q == q and info.mode == int(table.mode[row]) and info.held == before_hold
        assert info.kappa_low == pytest.approx(params.kappa_low_coeff * norm**2)
        assert info.kappa_up == pytest.approx(params.kappa_up_coeff * norm**2)
        assert info.low_ok == (info.kappa_low <= -q) and info.up_ok == (-q <= info.kappa_up)
        if before_has:
            episodes_with_cert += 1
            assert info.q_cert == before_q_cert and info.decrease == pytest.approx(q - before_q_cert)
            required = params.nu_rate * world.resource(AppConfig).env.dt * abs(before_q_cert)  # relative (default)
            assert info.required == pytest.approx(required)
            assert info.decrease_ok == (q - before_q_cert >= required)
            assert info.certified == (info.decrease_ok and info.low_ok and info.up_ok and info.held == 0
                                      and not info.reach_hold)
        else:
            assert info.decrease_ok is None and math.isnan(info.q_cert) and info.certified
        # a visual agent is certified exactly when the filter chose CERTIFIED
        assert info.certified == (info.mode == Mode.CERTIFIED)
        seen_modes.add(info.mode)
    assert episodes_with_cert > 100 and len(seen_modes) >= 2
    world.shutdown()


def test_the_row_follows_its_agent_and_a_despawned_agent_is_unselected():
    world = calf_world(agents=8)
    table = world.resource(AgentTable)
    last = int(table.entity[table.n - 1])
    world.resource(Selection).select(last)
    world.run(5)
    info = world.resource(Inspection)
    assert info.row == table.n - 1
    table.despawn(int(table.entity[2]))  # swap-remove: the last row moves into row 2
    world.run(3)
    assert info.row == 2 == table.row_of(last) and info.entity == last
    table.despawn(last)
    world.run(1)
    assert world.resource(Selection).entity is None and info.row == -1
    world.shutdown()


def test_the_timeline_restarts_with_each_episode_of_the_selected_agent():
    world = calf_world(agents=3)
    table = world.resource(AgentTable)
    entity = int(table.entity[1])
    world.resource(Selection).select(entity)
    info = world.resource(Inspection)
    lengths = []
    ended = []
    world.events.subscribe("episodes_ended", lambda rows, *_: ended.append(table.row_of(entity) in rows))
    for _ in range(200):
        world.step()
        lengths.append(info.trace.length)
        if ended and ended[-1]:
            assert info.trace.length == 0  # cleared at the end of its episode
            ended.clear()
    assert max(lengths) > 10 and 0 in lengths
    world.shutdown()


def test_trace_halves_its_resolution_when_full():
    trace = CertificateTrace()
    for k in range(3 * TRACE_POINTS):
        trace.append(float(k), int(k % 3))
    assert trace.length <= TRACE_POINTS and trace.stride == 4
    q = trace.q[: trace.length]
    assert np.all(np.diff(q) == trace.stride)  # evenly spaced steps, oldest first
    trace.clear()
    assert trace.length == 0 and trace.stride == 1


def test_keys_select_cycle_follow_and_confirm_on_screen():
    world = calf_world(agents=4)
    table = world.resource(AgentTable)
    sel, view = world.resource(Selection), world.resource(ViewState)
    controls.press(world, "f")
    assert not sel.follow and "select an agent first" in view.messages[-1][0]
    controls.press(world, "c")
    assert sel.entity == int(table.entity[table.training_row])  # the training agent first
    seen = {sel.entity}
    for _ in range(table.n - 1):
        controls.press(world, "c")
        seen.add(sel.entity)
    assert seen == set(int(e) for e in table.entity)  # C visits every agent
    controls.press(world, "f")
    assert sel.follow and "camera follows" in view.messages[-1][0]
    world.step()
    panel = world.resource(HudText).texts["inspect"]
    assert panel.startswith(f"agent {sel.entity}") and "following" in panel
    assert world.resource(HudText).texts["timeline"].endswith(f"agent {sel.entity}" + (
        " (training)" if table.row_of(sel.entity) == table.training_row else ""))
    controls.press(world, "x")
    assert sel.entity is None and not sel.follow
    world.step()
    assert world.resource(HudText).texts["inspect"].startswith("inspect: click an agent")
    world.shutdown()


def test_messages_expire_and_fit_the_sidebar(monkeypatch):
    world = calf_world(agents=2)
    view = world.resource(ViewState)
    clock = [1000.0]
    monkeypatch.setattr("components.view_state.time.monotonic", lambda: clock[0])
    controls.press(world, "h")
    view.notify("x" * 80)
    world.step()
    text = world.resource(HudText).texts["messages"]
    assert "surface off" in text and max(len(line) for line in text.split("\n")) <= 46
    clock[0] += 5.0
    world.step()
    assert world.resource(HudText).texts["messages"] == ""
    world.shutdown()


def test_stats_system_has_no_panel_without_a_selection():
    world = calf_world(agents=2)
    world.run(3)
    stats = world.system("StatsSystem")
    assert isinstance(stats, StatsSystem) and stats.inspect_values(world) is None
    world.shutdown()
