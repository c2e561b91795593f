"""What the view shows about one selected agent: its last CALF decision and its certificate timeline.

InspectionSystem (systems/inspection.py) writes it every simulation step while an agent is
selected; StatsSystem turns it into the inspection panel and the renderer draws the timeline
from it. `CertificateTrace` is the timeline's data, whichever agent it follows.
"""
from __future__ import annotations

import math

import numpy as np
from attrs import define, field

from components.halving_trace import append_halving

TRACE_POINTS = 512  # a long episode halves its resolution instead of growing without bound


@define
class CertificateTrace:
    """q_cert and mode per step of one agent's current episode, halved in resolution when full."""

    q: np.ndarray = field(factory=lambda: np.zeros(TRACE_POINTS))
    mode: np.ndarray = field(factory=lambda: np.zeros(TRACE_POINTS, dtype=np.int8))
    length: int = 0
    stride: int = 1  # environment steps per point
    offered: int = 0  # steps offered this episode
    version: int = 0

    def clear(self) -> None:
        self.length, self.stride, self.offered = 0, 1, 0
        self.version += 1

    def append(self, q_cert: float, mode: int) -> None:
        """One step; when full, keep every other point and double the stride (bounded memory)."""
        count = self.offered
        self.offered += 1
        self.length, self.stride, changed = append_halving(self.q, self.mode, self.length, self.stride, count,
                                                           q_cert, mode)
        if changed:
            self.version += 1


@define
class Inspection:
    """The selected agent's last step as the certificate saw it (NaN / None until it took one)."""

    entity: int | None = None
    row: int = -1
    training: bool = False
    steps_seen: int = 0  # steps observed since it was selected
    state: np.ndarray = field(factory=lambda: np.zeros(0))
    action: np.ndarray = field(factory=lambda: np.zeros(0))
    mode: int | None = None
    q: float = math.nan  # the critic value of the actor's action this step
    q_cert: float = math.nan  # the certificate it was tested against (NaN: none yet)
    has_cert: bool = False
    decrease: float = math.nan  # q - q_cert
    decrease_ok: bool | None = None  # q - q_cert >= required
    required: float = math.nan  # the decrease the certificate asks for (relative or absolute)
    held: int = 0  # steps of a fallback dwell left when this step was decided (0: free to certify)
    #: the reach check (calf.nominal_reach_check) kept the nominal policy on this step: "handed over"
    #: (to the episode's end), "unchecked" (a new episode before its first check), "" (it did not)
    reach_hold: str = ""
    kappa_low: float = math.nan
    kappa_up: float = math.nan
    neg_q: float = math.nan
    low_ok: bool | None = None  # kappa_low <= -Q
    up_ok: bool | None = None  # -Q <= kappa_up
    certified: bool | None = None  # the actor's action was used: the test passed, no dwell or reach check held the row
    test_passed: bool | None = None  # the certificate test alone (a dwell may still have held the row)
    state_norm: float = math.nan
    episode_step: int = 0
    episode_return: float = math.nan
    trace: CertificateTrace = field(factory=CertificateTrace)
    version: int = 0

    def forget_step(self) -> None:
        """No decision observed yet (just selected, or a new episode began)."""
        self.mode = None
        self.q = self.q_cert = self.decrease = self.required = self.kappa_low = self.kappa_up = self.neg_q = math.nan
        self.decrease_ok = self.low_ok = self.up_ok = self.certified = self.test_passed = None
        self.steps_seen = 0
        self.version += 1
