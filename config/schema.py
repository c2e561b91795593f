"""Every setting of calf-ecs, with its default and its valid range (what they mean: docs/PROBLEM.md, docs/CONFIG.md).

Sections map one-to-one onto TOML tables of a config file (see docs/CONFIG.md).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import attrs
from attrs import define, field

from envs.checks import EnvironmentLoadError, bounded
from envs.registry import canonical, resolve
from process.messages import describe
from validation.validators import (
    ConfigError,
    Rule,
    boolean,
    choice,
    integer,
    number,
    optional_integer,
    optional_number,
    optional_path,
    string,
    table,
    to_float,
    with_rule,
)

#: the built-in environments (envs/registry.py registers them; `env.system` also takes
#: 'package.module:ClassName' for an environment of your own, docs/EXTENDING.md)
SYSTEMS = ("point_mass", "differential_drive", "pendulum")
POLICIES = ("calf", "actor", "nominal")
RELAX_SCHEDULES = ("exponential", "linear", "goal_zero")
DECREASE_RULES = ("relative", "absolute")
COLLECT = ("training", "all")
BOUNDARY_EXIT = ("bootstrap", "terminal")
REJECTED_PROPOSALS = ("ignore", "imagine")
EXPLORATION_UNITS = ("absolute", "bound")
ACTOR_BASES = ("none", "nominal")
LEARNERS = ("auto", "inline", "background")
WHEN_BEHIND = ("auto", "wait", "skip")
DEVICES = ("auto", "cpu", "cuda")
MAX_AGENTS = 100_000
MAX_COHORT = 10_000


def _num(default: float, lo: float | None = None, hi: float | None = None, **kw: bool):
    return field(default=default, converter=to_float, validator=number(lo, hi, **kw))


def _int(default: int, lo: int | None = None, hi: int | None = None):
    return field(default=default, validator=integer(lo, hi))


def _bool(default: bool):
    return field(default=default, validator=boolean())


def environment_name(builtins: Iterable[str]):
    """A registered environment's name or 'package.module:ClassName': imported and its class
    checked (envs/registry.py), so the error names what is wrong with it."""
    names = tuple(builtins)

    def check(_inst: Any, attr: Any, value: Any) -> None:
        if not isinstance(value, str):
            raise ConfigError(f"{attr.name} must be a string, got {value!r}")
        try:
            resolve(value)
        except ConfigError as exc:
            raise ConfigError(f"{attr.name}: {exc}") from None

    return with_rule(check, Rule("environment", options=names))


def _canonical_system(value):  # noqa: ANN001, ANN202
    """'envs.pendulum:Pendulum' and 'pendulum' name one environment: keep the registered name."""
    if not isinstance(value, str):
        return value  # the validator reports it
    return canonical(value.strip())


def _check_environment_options(system: str, options: dict) -> None:
    """Import the environment `system` names and check `options` against its Options class."""
    import attrs as _attrs

    try:
        cls = resolve(system)
    except ConfigError as exc:
        raise ConfigError(f"system: {exc}") from None
    if cls.Options is None:
        if options:
            raise ConfigError(f"options: environment {system!r} takes no options, got {', '.join(map(repr, options))}")
        return
    names = [f.name for f in _attrs.fields(cls.Options)]
    for key in options:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (choose from {', '.join(names)})"
            raise ConfigError(f"options: unknown key {key!r} for environment {system!r}{hint}")
    try:
        with bounded(repr(system), "checking its options"):
            cls.Options(**options)
    except EnvironmentLoadError as exc:
        raise ConfigError(f"options: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"options.{exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"options: {exc}") from None
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - the environment's own code: anything, sys.exit() included
        raise ConfigError(f"options: environment {system!r} refused them ({describe(exc)})") from None


@define(frozen=True, kw_only=True)
class EnvConfig:
    """The environment: dynamics, termination, rewards and the nominal policy's gains.

    The keys here are shared by every environment (the `pm_*` and `dd_*` keys belong to the point
    mass and the differential drive); an environment's own settings are the `options` table,
    checked against its `Options` class (the pendulum's, or a plugin's).
    """

    system: str = field(default="point_mass", converter=_canonical_system, validator=environment_name(SYSTEMS))
    dt: float = _num(0.01, 0.0, 0.1, lo_open=True)
    goal_epsilon: float = _num(0.05, 0.0, 10.0, lo_open=True)
    dd_goal_position: float = _num(0.1, 0.0, 10.0, lo_open=True)
    dd_goal_theta: float = _num(0.1, 0.0, 3.2, lo_open=True)
    boundary_limit: float = _num(5.0, 0.0, 1e4, lo_open=True)
    max_steps_per_episode: int = _int(750, 1, 10_000_000)
    reward_scale: float = _num(10.0, 0.0, 1e6, lo_open=True)
    reset_range: float = _num(2.0, 0.0, 1e4, lo_open=True)
    # point mass
    pm_action_bound: float = _num(5.0, 0.0, 1e4, lo_open=True)
    pd_kp: float = _num(2.0, 0.0, 1e4)
    pd_kd: float = _num(2.0, 0.0, 1e4)
    # differential drive
    dd_v_bound: float = _num(1.0, 0.0, 1e4, lo_open=True)
    dd_omega_bound: float = _num(2.0, 0.0, 1e4, lo_open=True)
    dd_k_rho: float = _num(0.8, 0.0, 1e4)
    dd_k_alpha: float = _num(3.0, 0.0, 1e4)
    dd_k_theta: float = _num(2.0, 0.0, 1e4)
    dd_backup_speed: float = _num(0.3, 0.0, 1.0)
    dd_final_rotation_radius: float = _num(0.05, 0.0, 10.0)
    # the environment's own settings ([env.options]), validated by its Options class
    options: dict = field(factory=dict, validator=table())

    def __attrs_post_init__(self) -> None:
        if self.reset_range >= self.boundary_limit:
            raise ConfigError(
                f"reset_range ({self.reset_range}) must be smaller than boundary_limit ({self.boundary_limit})"
            )
        _check_environment_options(self.system, self.options)


@define(frozen=True, kw_only=True)
class TD3Config:
    """TD3 inside CALF: network sizes, optimiser and update rules."""

    hidden_size: int = _int(64, 1, 4096)
    hidden_layers: int = _int(2, 1, 8)
    gamma: float = _num(0.995, 0.0, 1.0)
    tau: float = _num(0.005, 0.0, 1.0, lo_open=True)
    policy_noise: float = _num(0.2, 0.0, 10.0)
    noise_clip: float = _num(0.5, 0.0, 10.0)
    policy_delay: int = _int(2, 1, 1000)
    actor_lr: float = _num(1e-3, 0.0, 1.0, lo_open=True)
    critic_lr: float = _num(1e-3, 0.0, 1.0, lo_open=True)
    batch_size: int = _int(256, 1, 65_536)
    #: the batch grows with the data: each update samples max(batch_size, batch_per_learner x the
    #: learners collecting) transitions, at most max_batch_size (0: always batch_size)
    batch_per_learner: int = _int(0, 0, 65_536)
    max_batch_size: int = _int(65_536, 1, 1_048_576)
    buffer_size: int = _int(1_000_000, 1, 50_000_000)
    exploration_noise: float = _num(0.3, 0.0, 100.0)
    #: each learner's exploration std is drawn from [exploration_noise_min, exploration_noise] at
    #: the start of each of its episodes; None: every learner uses exploration_noise
    exploration_noise_min: float | None = field(default=0.1, converter=to_float, validator=optional_number(0.0, 100.0))
    #: the unit of exploration_noise (and _min): "absolute" (action units) or "bound" (a fraction
    #: of each action dimension's bound)
    exploration_unit: str = field(default="bound", validator=choice(EXPLORATION_UNITS))
    #: seconds of simulated time over which a learner's exploration noise stays correlated (an
    #: Ornstein-Uhlenbeck process of unit variance times the std); 0: white noise, fresh every step
    noise_correlation: float = _num(0.0, 0.0, 1e4)
    #: where the exploration noise goes: "actor" (the actor's proposal, before the certificate; the
    #: executed action is always the filter's output) or "executed" (also the nominal action when
    #: the filter falls back: exploration outside the filter, an explicit opt-in)
    explore: str = field(default="actor", validator=choice(("actor", "executed")))
    #: "nominal": the actor learns a correction to the nominal policy's action (a residual actor that
    #: starts as the nominal policy); "none": the actor's output is the action
    actor_base: str = field(default="none", validator=choice(ACTOR_BASES))
    #: TD3+BC's alpha (0: plain TD3): the actor also regresses onto the replayed actions, weighted so
    #: that alpha / mean|Q| scales the critic's term (Fujimoto and Gu, 2021)
    bc_weight: float = _num(0.0, 0.0, 1e6)
    start_training_step: int = _int(100, 0, 100_000_000)
    torch_threads: int = _int(1, 1, 256)
    #: where TD3 trains: "cpu", "cuda" (a GPU, for large batches), or "auto" (CUDA when torch sees one);
    #: the acting networks (the filter, the surface, the evaluation) always run on the CPU
    device: str = field(default="auto", validator=choice(DEVICES))
    #: the critic's output unit: Q = value_scale * network output. 0 means automatic:
    #: env.reward_scale / (1 - gamma), the largest discounted cost per unit of stage cost
    value_scale: float = _num(0.0, 0.0, 1e9)

    @property
    def exploration_range(self) -> tuple[float, float]:
        """(lowest, highest) exploration std of a learner, in `exploration_unit`."""
        top = self.exploration_noise
        return (top if self.exploration_noise_min is None else self.exploration_noise_min), top

    def __attrs_post_init__(self) -> None:
        if self.exploration_noise_min is not None and self.exploration_noise_min > self.exploration_noise:
            raise ConfigError(f"exploration_noise_min ({self.exploration_noise_min}) must not exceed "
                              f"exploration_noise ({self.exploration_noise})")
        if self.batch_size > self.buffer_size:
            raise ConfigError(f"batch_size ({self.batch_size}) must not exceed buffer_size ({self.buffer_size})")
        if self.batch_size > self.max_batch_size:
            raise ConfigError(f"batch_size ({self.batch_size}) must not exceed max_batch_size ({self.max_batch_size})")

    def batch_for(self, learners: int) -> int:
        """The batch of an update when `learners` agents add their transitions every step."""
        return min(max(self.batch_size, self.batch_per_learner * int(learners)), self.max_batch_size)


@define(frozen=True, kw_only=True)
class CalfConfig:
    """The CALF filter and its conventions (published CALF code differs on them; see docs/CALF.md)."""

    decrease: str = field(default="relative", validator=choice(DECREASE_RULES))
    nu_rate: float = _num(0.5, 0.0, 1e6)
    nu_bar: float = _num(0.01, 0.0, 1e6)
    kappa_low_coeff: float = _num(0.01, 0.0, 1e9)
    kappa_up_coeff: float = _num(3000.0, 0.0, 1e12, lo_open=True)
    kappa_on: str = field(default="squared_norm", validator=choice(("squared_norm", "norm")))
    certified_value: str = field(default="q1", validator=choice(("q1", "min_twin")))
    relax_updates_certificate: bool = _bool(False)
    #: seconds of simulated time the nominal policy keeps control after a fallback (0: none)
    fallback_dwell: float = _num(0.0, 0.0, 1e4)
    #: seconds of simulated time into an episode after which the nominal policy acts until the
    #: episode ends (0: never): an actor that keeps regaining the certificate without reaching the
    #: goal cannot run an episode out; choose it so that the nominal policy has time to finish
    nominal_after: float = _num(0.0, 0.0, 1e6)
    #: every this many seconds of simulated time (0: never) the nominal policy is simulated forward
    #: from each agent's state; an agent from which it would no longer reach the goal within the
    #: episode's remaining time minus one period is handed to the nominal policy until its episode
    #: ends (rl.reach_check; it uses the environment's model)
    nominal_reach_check: float = _num(0.25, 0.0, 1e6)
    #: seconds of time the nominal policy must have to spare at a check beyond the next period (the
    #: actor can make the nominal policy's task harder by more than a period within one period)
    nominal_reach_margin: float = _num(0.25, 0.0, 1e6)
    #: with more agents than this the reach check is spread over the frames of its period, about
    #: this many agents on each, each agent still checked once per period (0: all on one frame)
    nominal_reach_rows: int = _int(2000, 0, 100_000_000)
    #: what drives the check's look-ahead period: "filter" (the noiseless CALF filter, as the
    #: evaluation executes it), "actor" (the noiseless actor alone) or "both" (late under either)
    nominal_reach_lookahead: str = field(default="both", validator=choice(("both", "filter", "actor")))
    #: a learner whose noisy proposal fails the certificate gets its noiseless actor action tested
    #: too before the filter falls back (exploration noise alone never causes a fallback)
    noiseless_retry: bool = _bool(True)
    #: what the critic learns of an actor proposal the filter rejected (the nominal acted instead):
    #: "ignore" nothing; "imagine" its one-step outcome, stepped through the environment's own model
    #: (as the reach check does) and stored beside the executed transition (systems.imagined)
    rejected_proposals: str = field(default="imagine", validator=choice(REJECTED_PROPOSALS))
    #: the critic the certificate reads: "online" (the critic TD3 updates every step) or "target"
    #: (TD3's Polyak-averaged target critic, which moves about 1/tau times slower, so the chain of
    #: certified values of an episode is compared on a nearly fixed function while training goes on)
    certificate_critic: str = field(default="online", validator=choice(("online", "target")))
    lambda_relax: float = _num(0.99995, 0.0, 1.0)
    p_relax_init: float | None = field(default=0.3, converter=to_float, validator=optional_number(0.0, 1.0))
    relax_schedule: str = field(default="linear", validator=choice(RELAX_SCHEDULES))
    relax_ramp_steps: int = _int(20_000, 1, 1_000_000_000)
    relax_ramp_end: float = _num(0.0, 0.0, 1.0)
    relax_goal_radius: float = _num(0.25, 0.0, 1e4)
    #: within each episode an agent's P_relax is multiplied by this every step (1: no decay), so
    #: relax steps explore early in an episode, far from the goal, and fade out where the nominal
    #: policy has to finish the approach (published CALF code decays its relax probability per step)
    relax_episode_decay: float = _num(0.995, 0.0, 1.0)

    @property
    def p_relax_start(self) -> float:
        return self.lambda_relax if self.p_relax_init is None else self.p_relax_init

    def __attrs_post_init__(self) -> None:
        if self.kappa_low_coeff > self.kappa_up_coeff:
            raise ConfigError(
                f"kappa_low_coeff ({self.kappa_low_coeff}) must not exceed kappa_up_coeff ({self.kappa_up_coeff})"
            )


@define(frozen=True, kw_only=True)
class VisualConfig:
    """What the view shows and how often it refreshes (the low / medium / high presets)."""

    agents: int = _int(5, 0, MAX_AGENTS)
    #: the policy cohort: agents that replay the current policy without exploration (the filter with
    #: P_relax 0) from the evaluation's starts, never learning (components.agent_groups)
    cohort: int = _int(8, 0, MAX_COHORT)
    trail_max_length: int = _int(600, 2, 100_000)
    grid_size: int = _int(21, 2, 513)
    heatmap_update_freq: int = _int(500, 1, 100_000_000)
    heatmap_action: str = field(default="actor", validator=choice(("actor", "zero")))
    height_scale: float = _num(3.0, 0.0, 1e4, lo_open=True)
    height_epsilon: float = _num(0.01, 0.0, 1e3)
    surface_ema_alpha: float = _num(0.1, 0.0, 1.0, lo_open=True)
    surface_alpha: float = _num(0.6, 0.0, 1.0)
    stats_q_value_update_freq: int = _int(10, 1, 1_000_000)
    stats_text_update_freq: int = _int(5, 1, 1_000_000)
    stats_profiler_update_freq: int = _int(30, 1, 1_000_000)
    use_vectorized_heights: bool = _bool(True)
    use_stats_cache: bool = _bool(True)
    use_batched_trails: bool = _bool(True)
    window_width: int = _int(1280, 64, 8192)
    window_height: int = _int(720, 64, 8192)
    # time warp: simulation steps per rendered frame (--warp K|auto; keys [ and ])
    warp: int = _int(1, 1, 1000)
    warp_auto: bool = _bool(False)  # choose K to keep the view at 20 FPS (components.time_warp)
    # trail level of detail (docs/VIEW.md): above trail_lod_points drawn points, each trail is decimated
    trail_lod: bool = _bool(True)
    trail_lod_points: int = _int(25_000, 1_000, 100_000_000)


@define(frozen=True, kw_only=True)
class TrainingConfig:
    """Training budget and outputs (the quick / standard / thorough presets)."""

    episodes: int = _int(500, 1, 100_000_000)
    train_steps_per_frame: int = _int(2, 0, 1000)
    #: who runs the updates: "inline" (inside the frame, deterministic), "background" (a worker thread
    #: beside the frame; rl.background_learner) or "auto" (background in the view, inline headless)
    learner: str = field(default="auto", validator=choice(LEARNERS))
    #: the background learner may trail the collected data by this many updates before the acting
    #: side waits for it (or skips the excess, learner_when_behind)
    learner_max_lag: int = _int(64, 1, 100_000_000)
    #: past learner_max_lag: "wait" (the update-to-data ratio is kept), "skip" (the frame never waits;
    #: the updates missed are counted) or "auto" (skip in the view, wait headless)
    learner_when_behind: str = field(default="auto", validator=choice(WHEN_BEHIND))
    #: the background learner publishes its weights to the acting networks every this many updates
    learner_publish_every: int = _int(2, 1, 1_000_000)
    policy: str = field(default="calf", validator=choice(POLICIES))
    collect: str = field(default="all", validator=choice(COLLECT))
    boundary_exit: str = field(default="bootstrap", validator=choice(BOUNDARY_EXIT))
    checkpoint_every: int = _int(50, 1, 100_000_000)
    plot_every: int = _int(5, 1, 100_000_000)
    log_max_rows: int = _int(200_000, 0, 100_000_000)


@define(frozen=True, kw_only=True)
class EvaluationConfig:
    """Evaluation without noise: the policy from fixed, seeded starts every `every` episodes and at the end."""

    every: int = _int(10, 0, 100_000_000)
    at_end: bool = _bool(True)
    starts: int = _int(100, 1, 100_000)
    seed: int = _int(2026, 0, 2**63 - 1)
    references: bool = _bool(True)
    #: the training-time safety reference: the noiseless nominal policy from this many starts drawn
    #: from the reset distribution (seeded by `seed` + 1), once per run
    safety_starts: int = _int(1000, 1, 1_000_000)


@define(frozen=True, kw_only=True)
class ProfilerConfig:
    """Per-system timing: window of frames kept, psutil sampling period."""

    enabled: bool = _bool(True)
    window: int = _int(1000, 10, 1_000_000)
    sample_every: int = _int(30, 1, 1_000_000)
    warmup_frames: int = _int(0, 0, 100_000_000)


@define(frozen=True, kw_only=True)
class RunConfig:
    """One run: seed, length and where the outputs go."""

    seed: int = _int(42, 0, 2**63 - 1)
    frames: int | None = field(default=None, validator=optional_integer(1, 10**12))
    out: str | None = field(default=None, validator=optional_path())
    profile: str | None = field(default=None, validator=optional_path())
    record: str | None = field(default=None, validator=optional_path())  # --record: an H.264 video of the view
    resume: str | None = field(default=None, validator=optional_path())
    tensorboard: bool = _bool(False)  # also write the episode scalars as a TensorBoard event file


def _anchor(_inst, attr, value):  # noqa: ANN001, ANN202
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{attr.name} must be a system name, got {value!r}")


def _phase(_inst, attr, value):  # noqa: ANN001, ANN202
    from ecs.schedule import PHASES

    if value is not None and value not in PHASES:
        raise ConfigError(f"{attr.name} must be one of {', '.join(PHASES)}, got {value!r}")


def _target(_inst, attr, value):  # noqa: ANN001, ANN202
    if not isinstance(value, str) or value.count(":") != 1 or not all(value.split(":")):
        raise ConfigError(f"{attr.name} must look like 'package.module:ClassName' or 'path/to/file.py:ClassName', "
                          f"got {value!r}")


@define(frozen=True, kw_only=True)
class PluginSpec:
    """A system to load by import path and place in the schedule (see docs/EXTENDING.md)."""

    system: str = field(validator=_target)
    after: str | None = field(default=None, validator=_anchor)
    before: str | None = field(default=None, validator=_anchor)
    options: dict = field(factory=dict, validator=attrs.validators.instance_of(dict))
    phase: str | None = field(default=None, validator=_phase)  # None: its anchors' phase (ecs.schedule)


def _plugins(value):  # noqa: ANN001, ANN202
    """Accept PluginSpecs, 'module:Class' strings or {system, after, before, options, phase} tables."""
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"plugins must be a list, got {value!r}")
    out = []
    for item in value:
        try:
            if isinstance(item, PluginSpec):
                out.append(item)
            elif isinstance(item, str):
                out.append(PluginSpec(system=item))
            elif isinstance(item, dict):
                unknown = set(item) - {"system", "after", "before", "options", "phase"}
                if unknown:
                    raise ConfigError(f"unknown key {sorted(unknown)[0]!r} (use system, after, before, options, phase)")
                if "system" not in item:
                    raise ConfigError("each entry needs system = 'package.module:ClassName'")
                out.append(PluginSpec(**item))
            else:
                raise ConfigError(f"each entry must be a string or a table, got {item!r}")
        except ConfigError as exc:
            raise ConfigError(f"plugins: {exc}") from None
    return tuple(out)


def critic_value_scale(cfg: "AppConfig") -> float:
    """td3.value_scale, with 0 resolved to env.reward_scale / (1 - gamma) (capped at 1000 x reward_scale)."""
    if cfg.td3.value_scale > 0:
        return cfg.td3.value_scale
    return cfg.env.reward_scale / max(1.0 - cfg.td3.gamma, 1e-3)


@define(frozen=True, kw_only=True)
class AppConfig:
    """All sections, plus the names of the presets they were built from."""

    preset: str = field(default="medium", validator=string())
    train_preset: str = field(default="standard", validator=string())
    env: EnvConfig = field(factory=EnvConfig)
    td3: TD3Config = field(factory=TD3Config)
    calf: CalfConfig = field(factory=CalfConfig)
    visual: VisualConfig = field(factory=VisualConfig)
    training: TrainingConfig = field(factory=TrainingConfig)
    evaluation: EvaluationConfig = field(factory=EvaluationConfig)
    profiler: ProfilerConfig = field(factory=ProfilerConfig)
    run: RunConfig = field(factory=RunConfig)
    plugins: tuple[PluginSpec, ...] = field(default=(), converter=_plugins)

    def __attrs_post_init__(self) -> None:
        """Checks across sections: settings that are valid alone but would make a run useless."""
        run, prof = self.run, self.profiler
        if run.frames is not None and prof.warmup_frames >= run.frames:
            raise ConfigError(
                f"profiler.warmup_frames ({prof.warmup_frames}) must be smaller than run.frames ({run.frames}) "
                "(--warmup, --frames): no frame would be profiled")
        if run.profile is not None and not prof.enabled:
            raise ConfigError("run.profile is set but profiler.enabled is false (--profile with --no-profiler): "
                              "the profile would time nothing")


#: section name -> attrs class, in file order
SECTIONS = {
    "env": EnvConfig,
    "td3": TD3Config,
    "calf": CalfConfig,
    "visual": VisualConfig,
    "training": TrainingConfig,
    "evaluation": EvaluationConfig,
    "profiler": ProfilerConfig,
    "run": RunConfig,
}
