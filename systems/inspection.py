"""InspectionSystem: the selected agent's CALF decision, re-derived step by step, and its timeline.

Runs in the simulation phase right after ControlSystem, every step, and costs nothing while no
agent is selected. ControlSystem updates the certificate in the same pass that tests it, so the
certificate a step was tested against is the one this system saw after the previous step: it
keeps that (q_cert, has_cert) and applies `rl.calf.certificate_test` to the selected row alone,
which gives the decrease test and both kappa bounds with the filter's own code. The row follows
its agent through swap-removes (`row_moved`); an ended episode clears the timeline; a despawned
agent is unselected. A new selection is taken up the moment it is made (a Selection listener),
between steps, when the row's certificate is the one its next step will be tested against.
"""
from __future__ import annotations

import math

import numpy as np

from components.agent_table import AgentTable
from components.inspection import Inspection
from components.tags import AgentRow
from components.view_state import Selection
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment
from rl.calf import CalfParams, certificate_test
from rl.reach_check import REACH_HANDED_OVER, REACH_UNCHECKED


class InspectionSystem(System):
    phase = "simulation"
    after = ("ControlSystem",)
    reads = ("state", "action", "mode", "q", "q_cert", "has_cert", "fallback_hold", "reach_state", "episode_step",
             "episode_return",
             "Selection",
             "Environment")
    writes = ("Inspection",)

    def setup(self, world) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        self.params = CalfParams.from_config(cfg.calf, cfg.env.dt)
        if not world.has_resource(Selection):
            world.insert_resource(Selection())
        self.info = world.insert_resource(Inspection())
        world.resource(Selection).listeners.append(self._on_select)
        self._selection_version = -1
        self._before = (math.nan, False, 0)  # (q_cert, has_cert, fallback hold) the next step starts from
        self._world = world
        world.events.subscribe("episodes_ended", self._on_episodes_ended)
        world.events.subscribe("row_moved", self._on_row_moved)
        world.events.subscribe("agent_despawned", self._on_despawned)

    def teardown(self, world) -> None:  # noqa: ANN001
        sel = world.try_resource(Selection)  # (absent when the system was only listed, never set up)
        if sel is not None and getattr(self, "_world", None) is not None and self._on_select in sel.listeners:
            sel.listeners.remove(self._on_select)
        world.events.unsubscribe("episodes_ended", self._on_episodes_ended)
        world.events.unsubscribe("row_moved", self._on_row_moved)
        world.events.unsubscribe("agent_despawned", self._on_despawned)

    # -- following the agent ---------------------------------------------------------------------
    def _on_episodes_ended(self, rows: np.ndarray, *_: object) -> None:
        info = self.info
        if info.row >= 0 and np.any(rows == info.row):
            info.trace.clear()
            self._before = (math.nan, False, 0)  # ControlSystem forgets the certificate (and the dwell) too

    def _on_row_moved(self, src: int, dst: int) -> None:
        if src == self.info.row:
            self.info.row = dst

    def _on_despawned(self, entity: int, _row: int) -> None:
        if entity == self.info.entity:
            self._world.resource(Selection).select(None)

    def _on_select(self, _entity: int | None) -> None:
        self._sync_selection(self._world)

    def _sync_selection(self, world) -> None:  # noqa: ANN001
        """Pick up a new selection: find its row, start from its current certificate."""
        sel = world.resource(Selection)
        self._selection_version = sel.version
        info = self.info
        if sel.entity == info.entity and (sel.entity is None or info.row >= 0):
            return
        info.entity = sel.entity
        info.row = -1
        info.trace.clear()
        info.forget_step()
        if sel.entity is None:
            return
        esper = world.esper
        if not esper.entity_exists(sel.entity) or not esper.has_component(sel.entity, AgentRow):
            sel.select(None)
            info.entity = None
            return
        info.row = esper.component_for_entity(sel.entity, AgentRow).row
        table = world.resource(AgentTable)
        info.training = info.row == table.training_row
        if table.has_column("q_cert"):
            self._before = self._now(table, info.row)

    @staticmethod
    def _now(table: AgentTable, row: int) -> tuple[float, bool, int]:
        hold = int(table.fallback_hold[row]) if table.has_column("fallback_hold") else 0
        return float(table.q_cert[row]), bool(table.has_cert[row]), hold

    def _reach_hold(self, table: AgentTable, row: int) -> str:
        """Whether the reach check kept the nominal policy on this step (ControlSystem checks before it
        decides, so the column holds the standing this step acted under)."""
        if self.params.reach_check_steps <= 0 or not table.has_column("reach_state"):
            return ""
        return {REACH_HANDED_OVER: "handed over", REACH_UNCHECKED: "unchecked"}.get(int(table.reach_state[row]), "")

    # -- every step ------------------------------------------------------------------------------
    def process(self, world, dt: float) -> None:  # noqa: ANN001
        sel = world.resource(Selection)
        if sel.version != self._selection_version:
            self._sync_selection(world)
        info = self.info
        r = info.row
        if r < 0:
            return
        table = world.resource(AgentTable)
        env = world.resource(Environment)
        state = table.state[r : r + 1]
        q = table.q[r : r + 1]
        q_cert, has_cert, hold = self._before
        norm = env.state_norm(state)
        test = certificate_test(q, np.array([q_cert]), np.array([has_cert]), norm, self.params)
        info.state = state[0].copy()
        info.action = table.action[r].copy()
        info.mode = int(table.mode[r])
        info.q = float(q[0])
        info.q_cert = q_cert if has_cert else math.nan
        info.has_cert = has_cert
        info.decrease = info.q - q_cert if has_cert else math.nan
        info.decrease_ok = bool(test.decrease_ok[0]) if has_cert else None
        info.required = float(np.broadcast_to(test.required, (1,))[0]) if has_cert else math.nan
        info.kappa_low, info.kappa_up = float(test.kappa_low[0]), float(test.kappa_up[0])
        info.neg_q = -info.q
        finite = math.isfinite(info.q)
        info.low_ok = bool(info.kappa_low <= info.neg_q) if finite else None
        info.up_ok = bool(info.neg_q <= info.kappa_up) if finite else None
        info.held = hold  # steps of a fallback dwell left when this step was decided
        info.reach_hold = self._reach_hold(table, r)
        info.test_passed = bool(test.certified[0])
        # a held row falls back whatever the test says
        info.certified = info.test_passed and hold == 0 and not info.reach_hold
        info.state_norm = float(norm[0])
        info.episode_step = int(table.episode_step[r]) + 1  # this step, before physics counts it
        info.episode_return = float(table.episode_return[r])
        info.training = r == table.training_row
        info.steps_seen += 1
        info.version += 1
        # after this step the certificate is what ControlSystem left in the row
        self._before = self._now(table, r)
        info.trace.append(float(table.q_cert[r]), info.mode)
