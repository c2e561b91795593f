"""EvaluationSystem: the current policy judged without noise, from fixed starts, as training goes.

Every `evaluation.every` episodes of the training agent (and at the end of a run, through
`evaluate_now`), the run's policy is rolled out from `evaluation.starts` fixed start states
(seeded by `evaluation.seed` alone, so every run and every policy meets the same starts):

- `calf`: the actor through the CALF filter, exploration off, P_relax 0 (an uncertified step
  falls back to the nominal policy);
- `actor`: the bare actor, exploration off (the certificate is computed, never enforced);
- `nominal`: the nominal policy.

With `evaluation.references` the same starts are also run with the nominal policy (once: it
never changes) and the bare actor, so each result carries its own comparison. All rollouts are
batched over the starts (rl.evaluation.rollout); nothing here touches the agent table, the
replay buffer, the random streams or the networks' weights, so evaluating never changes the
training run. Each result is kept in `EvalHistory` and emitted as the event
`evaluation_done(result)` (the run's outputs write it to eval.csv; the view's learning-curve panel
shows it).
"""
from __future__ import annotations

import math
import time
from collections import deque

import numpy as np

from components.group_counts import NominalRates
from components.training_stats import TrainingStats
from config.schema import AppConfig
from ecs.system import System
from envs.base import Environment, Outcome
from rl.calf import CalfParams
from rl.evaluation import EvalResult, FilterPolicy, NominalPolicy, RolloutResult, evaluation_starts, rollout


class EvalHistory:
    """Resource: the evaluations of this session, newest last (bounded)."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self.results: deque[EvalResult] = deque(maxlen=maxlen)

    @property
    def last(self) -> EvalResult | None:
        return self.results[-1] if self.results else None


class EvaluationSystem(System):
    phase = "simulation"  # after each simulation step, whatever the time warp
    after = ("TrainingSystem",)
    reads = ("TrainingStats", "Networks", "Environment")
    writes = ("EvalHistory",)

    def setup(self, world) -> None:  # noqa: ANN001
        cfg = world.resource(AppConfig)
        self.cfg = cfg
        self.env = world.resource(Environment)
        self.starts = evaluation_starts(self.env, cfg.evaluation.starts, cfg.evaluation.seed)
        self.params = CalfParams.from_config(cfg.calf, cfg.env.dt)
        self.history = world.try_resource(EvalHistory) or world.insert_resource(EvalHistory())
        self._nominal: RolloutResult | None = None
        self._safety: dict[str, NominalRates] | None = None
        self._done_at: tuple[int, int] | None = None  # (episodes, total_steps) of the last evaluation
        self._seen: int | None = None  # the training agent's episodes at the last frame
        self._t0 = time.perf_counter()

    def process(self, world, dt: float) -> None:  # noqa: ANN001
        every = self.cfg.evaluation.every
        episodes = world.resource(TrainingStats).episodes
        ended = self._seen is not None and episodes != self._seen  # an episode ended this frame (not a resume)
        self._seen = episodes
        if every and ended and episodes % every == 0:
            self.evaluate_now(world)

    # -- the evaluation --------------------------------------------------------------------------
    def _max_steps(self) -> int:
        return self.cfg.env.max_steps_per_episode

    def nominal_reference(self) -> RolloutResult:
        if self._nominal is None:
            self._nominal = rollout(self.env, NominalPolicy(self.env), self.starts, self._max_steps())
        return self._nominal

    def safety_reference(self) -> dict[str, NominalRates]:
        """The noiseless nominal policy's failure rates that each group's training-time failures are
        held against: the learners' from `evaluation.safety_starts` starts of the reset distribution
        (where their episodes start), the cohort's from the evaluation starts (where its episodes
        start). Computed once, on first use (a fraction of a second)."""
        if self._safety is None:
            ev = self.cfg.evaluation
            starts = evaluation_starts(self.env, ev.safety_starts, ev.seed + 1)
            reset = rollout(self.env, NominalPolicy(self.env), starts, self._max_steps())
            self._safety = {"learners": nominal_rates(reset, "reset distribution"),
                            "cohort": nominal_rates(self.nominal_reference(), "evaluation starts")}
        return self._safety

    def evaluate_now(self, world) -> EvalResult | None:  # noqa: ANN001
        """Evaluate the current policy (unless this exact state was just evaluated); emit the result."""
        stats = world.resource(TrainingStats)
        at = (stats.episodes, stats.total_steps)
        if at == self._done_at:
            return None
        self._done_at = at
        policy = self.cfg.training.policy
        env, starts, steps = self.env, self.starts, self._max_steps()
        actor = None
        if policy == "nominal":
            main = self.nominal_reference()
        else:
            nets = _networks(world)
            actor_policy = FilterPolicy("actor", env, nets, self.params, p_relax=1.0)
            if policy == "calf":
                main = rollout(env, FilterPolicy("calf", env, nets, self.params, p_relax=0.0), starts, steps)
                if self.cfg.evaluation.references:
                    actor = rollout(env, actor_policy, starts, steps)
            else:
                main = actor = rollout(env, actor_policy, starts, steps)
        if policy == "nominal" and self.cfg.evaluation.references:
            actor = rollout(env, FilterPolicy("actor", env, _networks(world), self.params, p_relax=1.0), starts, steps)
        nominal = self.nominal_reference() if self.cfg.evaluation.references or policy == "nominal" else None
        nan = math.nan
        result = EvalResult(
            episode=stats.episodes, total_steps=stats.total_steps, collected=stats.collected,
            wall_time=time.perf_counter() - self._t0, policy=policy, starts=len(starts),
            success_rate=main.success_rate, mean_return=float(main.returns.mean()),
            mean_length=float(main.lengths.mean()),
            certified_share=main.certified_share if policy != "nominal" else nan,
            fallback_share=main.fallback_share if policy == "calf" else (1.0 if policy == "nominal" else 0.0),
            boundary_rate=main.rate(Outcome.BOUNDARY), timeout_rate=main.rate(Outcome.TIMEOUT),
            nominal_success_rate=nominal.success_rate if nominal else nan,
            nominal_mean_return=float(nominal.returns.mean()) if nominal else nan,
            actor_success_rate=actor.success_rate if actor else nan,
            actor_mean_return=float(actor.returns.mean()) if actor else nan,
        )
        self.history.results.append(result)
        world.events.emit("evaluation_done", result)  # the view's learning curve shows it (systems/learning_curve.py)
        return result


def nominal_rates(r: RolloutResult, where: str) -> NominalRates:
    fail = 1.0 - r.success_rate
    return NominalRates(starts=len(r.outcomes), failure_rate=fail, timeout_rate=r.rate(Outcome.TIMEOUT),
                        boundary_rate=r.rate(Outcome.BOUNDARY), nonfinite_rate=r.rate(Outcome.NONFINITE), where=where)


def _networks(world):  # noqa: ANN001, ANN202
    from rl.networks import Networks

    return world.resource(Networks)


def hud_line(r: EvalResult) -> str:
    """One line for the HUD and the progress output."""
    from systems.hud_text import compact

    text = f"eval @ep {r.episode}: success {r.success_rate:.0%}, return {compact(r.mean_return, '.0f', 8)}"
    if np.isfinite(r.return_gain) and r.policy != "nominal":
        text += f" ({gain_words(r.return_gain, 0)})"
    if np.isfinite(r.certified_share):
        text += f", certified {r.certified_share:.0%}"
    return text


def gain_words(gain: float, decimals: int = 1) -> str:
    """A return gain over the nominal policy in words that say which way is better:
    '13 % better than nominal' (a higher return: cheaper), '3 % worse than nominal'."""
    from systems.hud_text import compact

    size = compact(abs(gain) * 100, f".{decimals}f", 6)
    if float(size) == 0:
        return "level with nominal"
    return f"{size} % {'worse' if gain < 0 else 'better'} than nominal"
