"""A training run's files under its output folder, kept up to date from a step-end hook.

    DIR/config.toml          the run's full config (loads back to the same AppConfig)
    DIR/checkpoint.pt        every `checkpoint_every` episodes and at the end (Ctrl-C included)
    DIR/rewards.png          refreshed every `plot_every` episodes
    DIR/run_summary.json     refreshed with the plot, final at the end
    DIR/calf_log.csv         the training agent's per-step CALF log (bounded, see runfiles.calf_log)
    DIR/eval.csv             one row per evaluation without noise (runfiles.eval_log)
    DIR/episodes.csv         one row per training episode, appended as it ends (runfiles.episode_log)
    DIR/tensorboard/         with run.tensorboard (--tensorboard): the same scalars and evaluations

The hook runs after every simulation step (K per frame at time warp K), so the CALF log has every
step and a checkpoint always holds a whole step.
Usable from the headless loop and the rendered one alike. Every file is replaced atomically
(temp file + rename). A periodic write that fails, however it fails (a full disk is an OSError
from most writers but a RuntimeError from torch.save; a plot of strange values a ValueError), is
reported once on stderr and retried at the next period; the run goes on. `close()` returns what
it could not write. While a StopRequest is a world resource, writes are shielded from signals
(a Ctrl-C lands after the write, never inside it).

The run's own config.toml records `run.out`, `run.profile` and `run.resume` as comments only
(config.loader.to_toml), so loading it back with --config starts a new run in a new folder.
"""
from __future__ import annotations

import contextlib
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from components.faults import fault_counts
from components.group_counts import versus_nominal
from components.resources import Counters, ReportExtras
from components.training_stats import TrainingStats
from config.loader import to_toml
from config.schema import AppConfig
from plugins.boundary import describe, failures_of
from process.messages import warning
from rl.calf_state import CalfState
from rl.checkpoint import FILENAME, save_checkpoint
from runfiles.calf_log import CalfLog
from runfiles.episode_log import EpisodeLog, FilterCounts, episode_row
from runfiles.eval_log import FILENAME as EVAL_LOG
from runfiles.eval_log import EvalLog
from runfiles.provenance import provenance
from safe_io.atomic import atomic_write_json, atomic_write_text

SUMMARY = "run_summary.json"
PLOT = "rewards.png"
LOG = "calf_log.csv"
CONFIG = "config.toml"
ERRORS = "errors.log"
RUNS_ROOT = Path("runs")


def default_out_dir(root: Path = RUNS_ROOT) -> Path:
    """runs/<timestamp>/ (a numeric suffix if that folder exists already)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = root / stamp
    k = 2
    while out.exists():
        out = root / f"{stamp}-{k}"
        k += 1
    return out


def _clean(x: Any) -> Any:
    """JSON has no NaN: write null."""
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return None
    return x


class RunOutputs:
    def __init__(self, world, out_dir: str | Path, *, resumed_from: str | None = None,  # noqa: ANN001
                 command: list[str] | None = None) -> None:
        self.world = world
        self.cfg: AppConfig = world.resource(AppConfig)
        self.stats: TrainingStats = world.resource(TrainingStats)
        self.calf: CalfState = world.resource(CalfState)
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path = self.dir / FILENAME
        self.resumed_from = resumed_from
        self.start_time = time.perf_counter()
        self.start_steps = self.stats.session_steps
        self._seen_episodes = self.stats.episodes
        self._plot = None
        self.checkpoints_written = 0
        self.write_errors: dict[str, str] = {}  # what -> the last error, for files that could not be written
        self.checkpoint_steps: int | None = None  # the training agent's step count the newest checkpoint holds
        atomic_write_text(self.dir / CONFIG, to_toml(self.cfg, where=False))
        self.log = CalfLog(self.dir / LOG, self.cfg.training.log_max_rows)
        same_folder = resumed_from is not None and Path(resumed_from).resolve().parent == self.dir.resolve()
        self.eval_log = EvalLog(self.dir / EVAL_LOG, keep_existing=same_folder)
        self.last_eval = None
        world.events.subscribe("evaluation_done", self._on_evaluation)
        self.provenance = provenance(command)
        self.episode_log = EpisodeLog(self.dir)
        self._filter_before = FilterCounts.of(self.stats)  # the counters when the current episode began
        self.tensorboard = None
        if self.cfg.run.tensorboard:
            from runfiles.tensorboard_log import TensorBoardLog

            self.tensorboard = TensorBoardLog(self.dir)
            world.events.subscribe("evaluation_done", lambda result: self._safely(
                "TensorBoard log", lambda: self.tensorboard.write_evaluation(result)))
        world.on_step_end(self.on_step_end)
        world.insert_resource(self)  # F1 exports the profile into this folder

    # -- every simulation step ---------------------------------------------------------------------
    def on_step_end(self, world) -> None:  # noqa: ANN001
        st = self.stats
        d = self.calf.last
        ended = st.episodes != self._seen_episodes
        episode = st.episodes if ended else st.episodes + 1  # 1-based: the episode this step belongs to
        self.log.write(st.total_steps, episode, d.q, d.q_cert, d.kappa_low, d.kappa_up, d.certified, d.mode,
                       d.p_relax, d.filtered)
        if self.log.error is not None and "CALF log" not in self.write_errors:
            self._report("CALF log", self.log.error)  # rows are counted as lost until it can write again
        if ended:
            self._seen_episodes = st.episodes
            with self._shielded():
                self._log_episode()
                if st.session_episodes % self.cfg.training.plot_every == 0:
                    self.refresh()
                if st.episodes % self.cfg.training.checkpoint_every == 0:
                    self._safely("checkpoint", self.save_checkpoint)

    def _shielded(self):  # noqa: ANN202
        from process.stop import StopRequest

        stop = self.world.try_resource(StopRequest)
        return stop.shield() if stop is not None else contextlib.nullcontext()

    def _report(self, what: str, exc: BaseException) -> None:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else describe(exc)
        message = f"{what} in {self.dir}: not written ({reason})"
        if what not in self.write_errors:
            warning(f"{message}; the run goes on")
        self.write_errors[what] = message

    def _on_evaluation(self, result) -> None:  # noqa: ANN001 - rl.evaluation.EvalResult
        self.last_eval = result
        self._safely("evaluation log", lambda: self.eval_log.append(result))

    def _safely(self, what: str, write) -> bool:  # noqa: ANN001
        """Run one write; any failure (OSError, torch's RuntimeError on a full disk, ...) is reported
        once per kind of file instead of ending the run, and the write is tried again next time."""
        try:
            write()
        except Exception as exc:  # noqa: BLE001 - no output may end the run
            self._report(what, exc)
            return False
        self.write_errors.pop(what, None)
        return True

    def _nominal_failure_rates(self) -> dict[str, float]:
        """The noiseless nominal's failure rate per group (measured once, on first use)."""
        if "EvaluationSystem" not in self.world.schedule:
            return {}
        refs = self.world.system("EvaluationSystem").safety_reference()
        return {g: r.failure_rate for g, r in refs.items()}

    def _log_episode(self) -> None:
        row = episode_row(self.stats, self._filter_before, self.episode_log.wall_time(),
                          self._nominal_failure_rates())
        self._filter_before = FilterCounts.of(self.stats)
        self._safely("episode log", lambda: self.episode_log.write(row))
        if self.tensorboard is not None:
            self._safely("TensorBoard log", lambda: self.tensorboard.write_episode(row))

    # -- files -----------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        path = save_checkpoint(self.world, self.checkpoint_path)
        self.checkpoints_written += 1
        self.checkpoint_steps = self.stats.total_steps
        return path

    def refresh(self) -> None:
        self._safely("reward plot", self.write_plot)
        self._safely("summary", self.write_summary)
        self._safely("CALF log", self.log.flush)

    def write_plot(self) -> None:
        st = self.stats
        if not st.returns:
            return
        if self._plot is None:
            from runfiles.reward_plot import RewardPlot

            title = f"{self.cfg.env.system}, policy {self.cfg.training.policy}, seed {self.cfg.run.seed}"
            self._plot = RewardPlot(self.dir / PLOT, title)
        first = st.episodes - len(st.returns) + 1
        from systems.evaluation import EvalHistory

        history = self.world.try_resource(EvalHistory)
        evals = np.array([(r.episode, r.mean_return, r.nominal_mean_return) for r in history.results], float) \
            if history is not None and history.results else None
        self._plot.update(np.fromiter(st.returns, float), np.fromiter(st.success_flags, bool), first, evals)

    def steps_per_second(self) -> float:
        elapsed = time.perf_counter() - self.start_time
        return (self.stats.session_steps - self.start_steps) / elapsed if elapsed > 0 else 0.0

    def summary(self, interrupted: bool = False) -> dict[str, Any]:
        st = self.stats
        lengths = list(st.lengths)
        extras = self.world.try_resource(ReportExtras)
        try:
            extensions = extras.collect() if extras is not None else {}
        except Exception as exc:  # noqa: BLE001 - a figure that cannot be made must not lose the summary
            extensions = {"error": describe(exc)}
        return {k: _clean(v) for k, v in {
            "episodes": st.episodes,
            "total_steps": st.total_steps,
            "success_rate": st.success_rate,
            "success_rate_last20": st.success_rate_last(20),
            "certification_rate": st.certification_rate,
            "intervention_rate": st.intervention_rate,
            "relax_rate": st.relax_rate,
            "p_relax": self.calf.p_relax,
            "steps_per_second": self.steps_per_second(),
            "seed": self.cfg.run.seed,
            "system": self.cfg.env.system,
            # beyond the required fields
            "policy": self.cfg.training.policy,
            "relax_schedule": self.cfg.calf.relax_schedule,
            "session_episodes": st.session_episodes,
            "session_steps": st.session_steps,
            "session_success_rate": st.session_success_rate,
            "session_certification_rate": st.session_certification_rate,
            "session_intervention_rate": st.session_intervention_rate,
            "session_relax_rate": st.session_relax_rate,
            "mean_episode_length": float(np.mean(lengths)) if lengths else None,
            "mean_return_last10": st.mean_return_last(10),
            "train_updates": st.train_updates,
            "critic_loss": st.critic_loss,
            "actor_loss": st.actor_loss,
            "resumed_from": self.resumed_from,
            "interrupted": interrupted,
            "collect": st.collect,
            "all_agents": {
                "steps": st.learners.steps, "episodes": st.learners.episodes,
                "success_rate": st.learners.success_rate, "certification_rate": st.learners.certification_rate,
                "intervention_rate": st.learners.intervention_rate, "relax_rate": st.learners.relax_rate,
                "transitions_collected": st.collected,
            },
            "safety": self._safety_summary(),
            "evaluation": self._evaluation_summary(),
            "numerics": fault_counts(self.world.resource(Counters)),
            "extensions": extensions,
            "plugin_failures": [f.line() for f in failures_of(self.world)],
            "provenance": self.provenance,
        }.items()}

    def _safety_summary(self) -> dict[str, Any]:
        """Training-time safety by group (components.group_counts), each against the noiseless nominal's
        failures on as many episodes (None without an EvaluationSystem to measure the nominal)."""
        refs = {}
        if "EvaluationSystem" in self.world.schedule:
            refs = self.world.system("EvaluationSystem").safety_reference()
        out: dict[str, Any] = {g: versus_nominal(getattr(self.stats, g), refs.get(g)) for g in ("learners", "cohort")}
        counters = self.world.resource(Counters)
        out["reach_handovers"] = counters.get("reach_handovers")  # calf.nominal_reach_check
        out["imagined_transitions"] = counters.get("imagined_transitions")  # calf.rejected_proposals
        return out

    def _evaluation_summary(self) -> dict[str, Any] | None:
        """The last evaluation without noise (rl.evaluation.EvalResult), or None before the first."""
        r = self.last_eval
        if r is None:
            return None
        row = r.as_row()
        row["return_gain"] = r.return_gain
        return {k: _clean(v) for k, v in row.items()}

    def write_summary(self, interrupted: bool = False) -> None:
        atomic_write_json(self.dir / SUMMARY, self.summary(interrupted))

    def close(self, interrupted: bool = False, *, checkpoint: bool = True) -> dict[str, str]:
        """Final checkpoint, plot, summary and log (also after Ctrl-C or SIGTERM); returns what failed.

        `checkpoint=False` keeps the last periodic checkpoint (a run stopped mid-frame); then the
        final evaluation is skipped too (the networks may be mid-update)."""
        if checkpoint and self.cfg.evaluation.at_end and "EvaluationSystem" in self.world.schedule:
            self.world.system("EvaluationSystem").evaluate_now(self.world)
        if checkpoint:
            self._safely("checkpoint", self.save_checkpoint)
        self._safely("reward plot", self.write_plot)
        self._safely("summary", lambda: self.write_summary(interrupted))
        self._safely("CALF log", self.log.close)
        self._safely("episode log", self.episode_log.close)
        if self.tensorboard is not None:
            self._safely("TensorBoard log", self.tensorboard.close)
        return dict(self.write_errors)

    def write_errors_log(self, texts: list[str]) -> None:
        """The tracebacks of contained failures (a plugin's, a frame's), for whoever debugs them."""
        if texts:
            self._safely("errors.log", lambda: atomic_write_text(self.dir / ERRORS, "\n".join(texts)))
