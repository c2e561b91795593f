"""episodes.csv: one row per finished episode of the training agent, in the spirit of SB3's monitor file.

    episode,total_steps,return,length,outcome,certified_share,intervention_share,relax_share,
    p_relax,critic_loss,actor_loss,wall_time,
    learners_steps,learners_decided,learners_interventions,learners_relaxes,learners_episodes,
    learners_goals,learners_timeouts,learners_boundary_exits,learners_nonfinite,
    cohort_steps, ... (the same nine for the policy cohort),
    learners_nominal_failures,cohort_nominal_failures

- `episode` counts all time (a resumed run goes on from its checkpoint's count), `total_steps` is the
  training agent's environment steps when the episode ended.
- `outcome` is success (the goal), boundary, timeout or nonfinite.
- the three shares are over this episode's filtered steps (the steps the CALF filter decided, warm-up
  excluded) and sum to 1; empty when no step of the episode was filtered (warm-up, --policy nominal).
- `p_relax` is P_relax at the episode's end; the losses are the latest TD3 losses (empty before the first
  update); `wall_time` is seconds of running, summed over the sessions that wrote this file.
- `learners_*` and `cohort_*` are every agent's counters by group (components.group_counts), all time,
  at the moment the row was written: agent steps, steps the filter decided, fallbacks and relax steps
  among them, and episodes by outcome. Differences between two rows give any window's shares and
  failures; the report draws cumulative failures against `learners_steps` from them.
- `learners_nominal_failures` and `cohort_nominal_failures`: how many of as many episodes the noiseless
  nominal policy would have failed (its failure rate measured once per run on the group's start
  distribution, times the group's episodes); empty when the run has no such measurement.

Rows are appended and flushed as each episode ends, so the file is current while the run goes and
nothing is lost when it stops. A resumed run that writes into the same folder appends below the
rows it finds (when their header matches; a file with another header is renamed to
episodes.old.csv first). A reader skips a last line cut short by a crash (report.load does).
"""
from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

from attrs import define

from components.training_stats import TrainingStats
from envs.base import Outcome
from safe_io.paths import open_in_place

FILENAME = "episodes.csv"
#: the per-group counters (components.group_counts.GroupCounts) in every row, by group
GROUP_COUNTERS = ("steps", "decided", "interventions", "relaxes", "episodes", "goals", "timeouts", "boundary_exits",
                  "nonfinite")
GROUPS = ("learners", "cohort")
COLUMNS = ("episode", "total_steps", "return", "length", "outcome", "certified_share", "intervention_share",
           "relax_share", "p_relax", "critic_loss", "actor_loss", "wall_time",
           *(f"{g}_{c}" for g in GROUPS for c in GROUP_COUNTERS), *(f"{g}_nominal_failures" for g in GROUPS))
#: envs.Outcome -> the word in the outcome column
OUTCOME_NAMES = {Outcome.GOAL: "success", Outcome.BOUNDARY: "boundary", Outcome.TIMEOUT: "timeout",
                 Outcome.NONFINITE: "nonfinite"}


def _cell(x: object) -> str:
    if isinstance(x, float):
        return "" if not math.isfinite(x) else f"{x:.7g}"
    return str(x)


@define
class FilterCounts:
    """The training agent's all-time filter counters at one moment."""

    steps: int
    interventions: int
    relaxes: int

    @classmethod
    def of(cls, stats: TrainingStats) -> "FilterCounts":
        return cls(stats.calf_steps, stats.interventions, stats.relaxes)


def episode_row(stats: TrainingStats, before: FilterCounts, wall_time: float,
                nominal_failure_rates: dict[str, float] | None = None) -> dict:
    """The row of the episode that has just ended (stats after it), given the counters at its start and
    the nominal's failure rate per group (components.group_counts.NominalRates.failure_rate)."""
    rates = nominal_failure_rates or {}
    steps = stats.calf_steps - before.steps
    if steps > 0:
        intervention = (stats.interventions - before.interventions) / steps
        relax = (stats.relaxes - before.relaxes) / steps
        certified = 1.0 - intervention - relax
    else:
        certified = intervention = relax = math.nan
    return {
        "episode": stats.episodes,
        "total_steps": stats.total_steps,
        "return": float(stats.returns[-1]),
        "length": int(stats.lengths[-1]),
        "outcome": OUTCOME_NAMES.get(Outcome(stats.last_outcome), "running"),
        "certified_share": certified,
        "intervention_share": intervention,
        "relax_share": relax,
        "p_relax": float(stats.p_relax) if stats.policy == "calf" else math.nan,
        "critic_loss": float(stats.critic_loss),
        "actor_loss": float(stats.actor_loss),
        "wall_time": wall_time,
        **{f"{g}_{c}": getattr(getattr(stats, g), c) for g in GROUPS for c in GROUP_COUNTERS},
        **{f"{g}_nominal_failures": rates.get(g, math.nan) * getattr(stats, g).episodes for g in GROUPS},
    }


def _last_wall_time(path: Path) -> float:
    """wall_time of the file's last whole row (0 if none)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return 0.0
    for row in reversed(rows):  # a last line cut short by a crash has no usable wall_time
        try:
            return float(row["wall_time"])
        except (KeyError, TypeError, ValueError):
            continue
    return 0.0


class EpisodeLog:
    """Appends one row per episode to DIR/episodes.csv (flushed at once)."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / FILENAME
        header = ",".join(COLUMNS) + "\n"
        self.wall_offset = 0.0
        if self.path.exists():
            with open(self.path, newline="") as f:
                first = f.readline()
            if first == header:
                self.wall_offset = _last_wall_time(self.path)
            else:
                os.replace(self.path, self.path.with_name("episodes.old.csv"))
        self._file = open_in_place(self.path, "a", newline="", encoding="utf-8")  # never through a link
        if self._file.tell() == 0:
            self._file.write(header)
            self._file.flush()
        self.start = time.perf_counter()

    def wall_time(self) -> float:
        return self.wall_offset + time.perf_counter() - self.start

    def write(self, row: dict) -> None:
        self._file.write(",".join(_cell(row[c]) for c in COLUMNS) + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
