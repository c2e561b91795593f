"""`--tensorboard`: the episode scalars of episodes.csv, and evaluations, as a TensorBoard event file.

Written with torch.utils.tensorboard's SummaryWriter into DIR/tensorboard/ (view it with
`tensorboard --logdir runs/`). Every scalar's step is the training agent's total environment
steps, so runs of different episode lengths line up:

    episode/return, episode/length, episode/success (1 or 0), episode/certified_share,
    episode/intervention_share, episode/relax_share, episode/p_relax, train/critic_loss,
    train/actor_loss
    safety/learners_failed_episodes, safety/learners_nominal_failures, safety/learners_episodes,
    safety/learners_boundary_exits, safety/learners_certified_share, safety/learners_fallback_share
    and the same for the cohort (cumulative, from episodes.csv's group counters)
    eval/success_rate, eval/mean_return, eval/return_gain, eval/certified_share, ... (every number
    of an evaluation, from the world event `evaluation_done`)
"""
from __future__ import annotations

import math
from pathlib import Path

DIRNAME = "tensorboard"

#: episodes.csv column -> scalar tag
EPISODE_TAGS = {
    "return": "episode/return",
    "length": "episode/length",
    "certified_share": "episode/certified_share",
    "intervention_share": "episode/intervention_share",
    "relax_share": "episode/relax_share",
    "p_relax": "episode/p_relax",
    "critic_loss": "train/critic_loss",
    "actor_loss": "train/actor_loss",
}


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def safety_scalars(row: dict, group: str) -> dict[str, float]:
    """One group's cumulative training-time safety from an episodes.csv row."""
    g = {k: row.get(f"{group}_{k}", math.nan) for k in ("episodes", "timeouts", "boundary_exits", "nonfinite",
                                                        "decided", "interventions", "relaxes", "nominal_failures")}
    decided = g["decided"]
    return {
        "episodes": g["episodes"],
        "failed_episodes": g["timeouts"] + g["boundary_exits"] + g["nonfinite"],
        "nominal_failures": g["nominal_failures"],
        "boundary_exits": g["boundary_exits"],
        "certified_share": (decided - g["interventions"] - g["relaxes"]) / decided if decided else math.nan,
        "fallback_share": g["interventions"] / decided if decided else math.nan,
    }


class TensorBoardLog:
    """Scalars per episode (`write_episode`) and per evaluation (`write_evaluation`)."""

    def __init__(self, directory: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

        self.dir = Path(directory) / DIRNAME
        self.writer = SummaryWriter(log_dir=str(self.dir), flush_secs=10)

    def write_episode(self, row: dict) -> None:
        step = int(row["total_steps"])
        for column, tag in EPISODE_TAGS.items():
            if _finite(row[column]):
                self.writer.add_scalar(tag, float(row[column]), step, walltime=None)
        self.writer.add_scalar("episode/success", 1.0 if row["outcome"] == "success" else 0.0, step)
        for group in ("learners", "cohort"):
            for tag, value in safety_scalars(row, group).items():
                if _finite(value):
                    self.writer.add_scalar(f"safety/{group}_{tag}", float(value), step)

    def write_evaluation(self, result) -> None:  # noqa: ANN001 - rl.evaluation.EvalResult
        row = result.as_row()
        row["return_gain"] = result.return_gain
        step = int(row["total_steps"])
        for key, value in row.items():
            if key not in ("total_steps", "episode", "policy") and _finite(value):
                self.writer.add_scalar(f"eval/{key}", float(value), step)
        self.writer.flush()

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
