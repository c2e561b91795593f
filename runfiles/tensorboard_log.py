"""`--tensorboard`: the episode scalars of episodes.csv, and evaluations, as a TensorBoard event file.

Written in TensorBoard's event format (the same records torch.utils.tensorboard's SummaryWriter
writes) into DIR/tensorboard/ (view it with
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

import errno
import itertools
import math
import os
import socket
import time
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


_FILES = itertools.count()  # a new event file per log, even within one second of one process


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
    """Scalars per episode (`write_episode`) and per evaluation (`write_evaluation`).

    The event file is written here, synchronously, in TensorBoard's record format (tensorboard's
    RecordWriter and event protos, torch's scalar summaries), not through SummaryWriter's background
    thread: a write that fails (a full disk) then fails in the caller, which reports it and goes
    on (runfiles.run_outputs), instead of dying in a thread with a traceback and losing the rest
    silently. After a failed write the file is cut back to its last whole event, and the scalars
    that could not be written are counted: `close()` raises an OSError naming them, so the run's
    exit code says that data was lost. The file is opened in place only as a regular file, never
    through a symbolic link (safe_io.paths.open_in_place)."""

    def __init__(self, directory: str | Path) -> None:
        from tensorboard.compat.proto import event_pb2  # needs the tensorboard package
        from tensorboard.summary.writer.record_writer import RecordWriter
        from torch.utils.tensorboard.summary import scalar

        from safe_io.paths import open_in_place

        self._event, self._scalar = event_pb2.Event, scalar
        self.dir = Path(directory) / DIRNAME
        self.dir.mkdir(exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{next(_FILES)}"
        self.path = self.dir / name
        self._file = open_in_place(self.path, "ab")
        self._records = RecordWriter(self._file)
        self._whole = self._file.tell()  # bytes of whole events written
        self.lost = 0  # scalars that could not be written
        self.error: OSError | None = None
        self._write([self._event(wall_time=time.time(), file_version="brain.Event:2")])

    def _write(self, events: list) -> None:
        """Write whole events or none of them (cut back on failure); raises the failure."""
        try:
            for event in events:
                self._records.write(event.SerializeToString())
            self._file.flush()
            self._whole = self._file.tell()
        except OSError as exc:
            self.lost += len(events)
            self.error = exc
            try:
                self._file.seek(self._whole)
                self._file.truncate(self._whole)
            except (OSError, ValueError):
                pass
            raise

    def _scalars(self, values: dict[str, float], step: int) -> None:
        now = time.time()
        self._write([self._event(wall_time=now, step=step, summary=self._scalar(tag, value, new_style=False))
                     for tag, value in values.items()])

    def write_episode(self, row: dict) -> None:
        values = {tag: float(row[column]) for column, tag in EPISODE_TAGS.items() if _finite(row[column])}
        values["episode/success"] = 1.0 if row["outcome"] == "success" else 0.0
        for group in ("learners", "cohort"):
            for tag, value in safety_scalars(row, group).items():
                if _finite(value):
                    values[f"safety/{group}_{tag}"] = float(value)
        self._scalars(values, int(row["total_steps"]))

    def write_evaluation(self, result) -> None:  # noqa: ANN001 - rl.evaluation.EvalResult
        row = result.as_row()
        row["return_gain"] = result.return_gain
        values = {f"eval/{key}": float(value) for key, value in row.items()
                  if key not in ("total_steps", "episode", "policy") and _finite(value)}
        self._scalars(values, int(row["total_steps"]))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        """Close the file; an OSError if scalars were lost on the way."""
        if not self._file.closed:
            try:
                self._file.close()
            except OSError as exc:
                self.error = exc
        if self.lost:
            reason = self.error.strerror if self.error is not None and self.error.strerror else "write failed"
            raise OSError(self.error.errno if self.error is not None and self.error.errno else errno.EIO,
                          f"{self.lost} scalars lost ({reason})")
