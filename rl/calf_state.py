"""CalfState: the filter's state that is not per-agent (P_relax and its schedule) and the
training agent's latest decision, which the TrainingSystem turns into statistics and the log."""
from __future__ import annotations

import math

from attrs import define, field

from components.modes import Mode
from rl.relax import RelaxSchedule


@define
class TrainingDecision:
    """What the filter decided for the training agent this frame (plain floats for the HUD/log)."""

    filtered: bool = False  # the filter decided (False during warm-up or with --policy nominal)
    mode: int = int(Mode.FALLBACK)
    q: float = math.nan  # critic value of the actor's action (the certified convention)
    q_cert: float = math.nan  # the certificate it was tested against (NaN: none yet)
    kappa_low: float = math.nan
    kappa_up: float = math.nan
    state_norm: float = math.nan
    certified: bool = False
    decrease_ok: bool = False
    bounds_ok: bool = False
    p_relax: float = math.nan  # the probability the coin was compared with
    required: float = math.nan  # the decrease q - q_cert had to reach (relative or absolute)

    @property
    def delta(self) -> float:
        return self.q - self.q_cert


@define
class CalfState:
    """Resource owned by the ControlSystem: P_relax, advanced once per training-agent filter step."""

    schedule: RelaxSchedule
    relax_steps: int = 0
    p_relax: float = field(default=math.nan)
    last: TrainingDecision = field(factory=TrainingDecision)

    def __attrs_post_init__(self) -> None:
        if math.isnan(self.p_relax):
            self.p_relax = self.schedule.value(self.relax_steps)

    def advance(self) -> None:
        self.relax_steps += 1
        self.p_relax = self.schedule.value(self.relax_steps)

    def state_dict(self) -> dict:
        return {"relax_steps": self.relax_steps, "p_relax": self.p_relax, "schedule": self.schedule.name}

    def load_state_dict(self, state: dict) -> None:
        self.relax_steps = int(state["relax_steps"])
        # the schedule of this run decides (it may differ from the checkpoint's, e.g. --p-relax 0)
        self.p_relax = self.schedule.value(self.relax_steps)
