"""GroupCounts: one agent group's CALF decisions and episode outcomes, counted as training goes.

Safe-RL papers report safety during training, not only at the end: how many training episodes
failed (timeouts, boundary exits, non-finite resets) and how often the safety layer intervened,
against what the nominal policy alone would have done on as many episodes. TrainingStats keeps
one GroupCounts for the learners and one for the policy cohort (components.agent_groups); the
HUD, episodes.csv, run_summary.json, TensorBoard and the report read them.
"""
from __future__ import annotations

from attrs import asdict, define, fields


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@define
class GroupCounts:
    steps: int = 0  # agent steps (one per agent per simulation step)
    decided: int = 0  # of those, decided by the filter (not warm-up, not --policy nominal)
    interventions: int = 0  # decided steps that fell back to the nominal policy
    relaxes: int = 0  # decided steps the relax coin let through uncertified
    episodes: int = 0  # finished episodes
    goals: int = 0
    timeouts: int = 0
    boundary_exits: int = 0
    nonfinite: int = 0  # episodes ended by a NaN / inf state or action (the agent was reset)

    @property
    def failures(self) -> int:
        """Episodes that did not reach the goal."""
        return self.timeouts + self.boundary_exits + self.nonfinite

    @property
    def certified(self) -> int:
        return self.decided - self.interventions - self.relaxes

    @property
    def success_rate(self) -> float:
        return _rate(self.goals, self.episodes)

    @property
    def failure_rate(self) -> float:
        return _rate(self.failures, self.episodes)

    @property
    def certification_rate(self) -> float:
        return _rate(self.certified, self.decided)

    @property
    def intervention_rate(self) -> float:
        return _rate(self.interventions, self.decided)

    @property
    def relax_rate(self) -> float:
        return _rate(self.relaxes, self.decided)

    def add_episodes(self, goals: int, timeouts: int, boundary_exits: int, nonfinite: int) -> None:
        """Finished episodes, by how they ended."""
        self.episodes += goals + timeouts + boundary_exits + nonfinite
        self.goals += goals
        self.timeouts += timeouts
        self.boundary_exits += boundary_exits
        self.nonfinite += nonfinite

    def as_dict(self) -> dict[str, int]:
        """The counters (what a checkpoint keeps)."""
        return asdict(self)

    def load(self, saved: dict) -> None:
        """Counters from `as_dict()`; a counter the saved dict lacks stays 0 (older checkpoints)."""
        for f in fields(GroupCounts):
            if f.name in saved:
                value = saved[f.name]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"group counter {f.name} must be a non-negative integer, got {value!r}")
                setattr(self, f.name, value)

    def summary(self) -> dict[str, float | int]:
        """Counters and rates, for run_summary.json and episodes.csv."""
        return {**self.as_dict(), "failures": self.failures, "certified": self.certified,
                "success_rate": self.success_rate, "failure_rate": self.failure_rate,
                "certification_rate": self.certification_rate, "intervention_rate": self.intervention_rate,
                "relax_rate": self.relax_rate}


@define(frozen=True)
class NominalRates:
    """How often the noiseless nominal policy fails from a set of starts: the reference a group's
    training-time failures are held against (expected nominal failures = rate x episodes)."""

    starts: int
    failure_rate: float
    timeout_rate: float
    boundary_rate: float
    nonfinite_rate: float
    where: str  # which starts: "reset distribution" (the learners') or "evaluation starts" (the cohort's)

    def as_dict(self) -> dict:
        return asdict(self)


def versus_nominal(counts: GroupCounts, nominal: NominalRates | None) -> dict:
    """A group's counters and rates, with what the nominal policy would have failed on as many episodes."""
    out = counts.summary()
    if nominal is not None:
        out["nominal"] = nominal.as_dict()
        out["nominal_expected_failures"] = nominal.failure_rate * counts.episodes
    return out
