"""Checkpoints: one file with everything a training run needs to continue exactly.

Contents: networks and their targets, both optimisers, the replay buffer, the CALF state
(P_relax step count, the training agent's certified triple and episode state), the training
statistics' counters, the config (as TOML text), every random stream, and a format version.
Written atomically (temp file + rename) with `torch.save`; read with
`torch.load(weights_only=True)`, so a file can hold only tensors and plain Python values and
loading one never runs code. Every way a file can be wrong is a CheckpointError whose message
names the file and the problem. Restoring is all or nothing: a checkpoint is loaded into scratch
objects and checked (shapes, finite weights and replay rows, counters, random states) before the
world's own state is touched. A content hash is stored with the tensors and checked on load, and
every value is checked against what a fresh run holds (rl.checkpoint_integrity).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from components.agent_table import AgentTable
from components.resources import RNG_STREAMS, Counters, Rngs
from components.training_stats import TrainingStats
from config.loader import to_toml
from config.schema import AppConfig, critic_value_scale
from envs.base import Environment
from rl.calf_state import CalfState
from rl.checkpoint_integrity import (
    CheckpointReference,
    IntegrityError,
    check_archive,
    check_consistency,
    check_values,
    seal,
    verify,
)
from rl.learning import make_scratch_learner, new_training_stats
from rl.replay import ReplayBuffer
from rl.td3 import TD3
from safe_io.atomic import atomic_write_with

FORMAT = "calf-ecs-checkpoint"
FORMAT_VERSION = 1
FILENAME = "checkpoint.pt"

#: the training agent's table columns a checkpoint keeps (its episode and its certificate)
TRAINING_ROW_COLUMNS = ("state", "episode_step", "episode_return", "s_cert", "a_cert", "q_cert", "has_cert",
                        "fallback_hold")
#: of those, the ones a checkpoint written before they existed may lack (restored as their fill value)
OPTIONAL_ROW_COLUMNS = frozenset({"fallback_hold"})
#: TrainingStats fields restored on resume (session counters start again at zero)
STATS_FIELDS = ("episodes", "total_steps", "train_updates", "actor_updates", "successes", "calf_steps",
                "interventions", "relaxes", "critic_loss", "actor_loss", "last_outcome",
                # (a checkpoint written before they existed restores them as 0)
                "collected", "updates_skipped")
OPTIONAL_STATS_FIELDS = frozenset(STATS_FIELDS[STATS_FIELDS.index("collected"):])
STATS_SERIES = ("returns", "lengths", "success_flags")
#: TrainingStats' per-group counters (components.group_counts), restored on resume; a checkpoint
#: written before they existed restores them as 0
STATS_GROUPS = ("learners", "cohort")


class CheckpointError(Exception):
    """A checkpoint cannot be used; the message names the file and why (one line)."""


# -- writing ---------------------------------------------------------------------------------------
def _learner(world):  # noqa: ANN001, ANN202
    from rl.background_learner import Learner

    return world.try_resource(Learner)


def capture(world) -> dict[str, Any]:  # noqa: ANN001
    """The run's state. A background learner first does every update granted so far and is held
    between updates while the state is read (and its weights reach the acting networks), so TD3,
    the replay buffer and the counters are of one moment, as in an inline run."""
    learner = _learner(world)
    if learner is None:
        return _capture(world)
    with learner.paused(drain=True):
        learner.sync()
        learner.report(world.resource(TrainingStats), world.resource(Counters))
        return _capture(world)


def _capture(world) -> dict[str, Any]:  # noqa: ANN001
    cfg = world.resource(AppConfig)
    env = world.resource(Environment)
    table = world.resource(AgentTable)
    stats = world.resource(TrainingStats)
    tr = table.training_row
    row = {}
    if tr >= 0:
        for name in TRAINING_ROW_COLUMNS:
            row[name] = np.asarray(table.column(name)[tr]).tolist()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "system": env.name,
        "state_dim": env.state_dim,
        "action_dim": env.action_dim,
        "hidden_size": cfg.td3.hidden_size,
        "hidden_layers": cfg.td3.hidden_layers,
        "value_scale": critic_value_scale(cfg),
        "actor_base": cfg.td3.actor_base,
        "td3": world.resource(TD3).state_dict(),
        "replay": world.resource(ReplayBuffer).state_dict(),
        "calf": world.resource(CalfState).state_dict(),
        "training_agent": row,
        "stats": {
            **{k: getattr(stats, k) for k in STATS_FIELDS},
            **{k: list(getattr(stats, k)) for k in STATS_SERIES},
            "groups": {k: getattr(stats, k).as_dict() for k in STATS_GROUPS},
        },
        "config_toml": to_toml(cfg),
        "rng": {"numpy": world.resource(Rngs).state(), "torch": torch.get_rng_state()},
    }


def save_checkpoint(world, path: str | Path) -> Path:  # noqa: ANN001
    data = seal(capture(world))  # with the content hash that read_checkpoint checks
    return atomic_write_with(path, lambda f: torch.save(data, f))


# -- reading ---------------------------------------------------------------------------------------
def _default_max_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def read_checkpoint(path: str | Path, max_bytes: int | None = None) -> dict[str, Any]:
    """Load and check the file's own structure and content hash (not yet whether it fits this run).

    The file must be a regular file (safe_io.paths) of at most `max_bytes` (default: the memory
    available), a zip archive of stored members within that size (checked before unpickling)."""
    from safe_io.paths import PathError, open_input

    p = Path(path)
    limit = _default_max_bytes() if max_bytes is None else int(max_bytes)
    try:
        f = open_input(p, "checkpoint", limit)
    except PathError as exc:
        raise CheckpointError(str(exc)) from None
    with f:
        try:
            check_archive(f, limit)
            data = torch.load(f, map_location="cpu", weights_only=True)
        except IntegrityError as exc:
            raise CheckpointError(f"checkpoint {p}: {exc}") from None
        except PermissionError:
            raise CheckpointError(f"checkpoint {p}: cannot be read (permission denied)") from None
        except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes torch.load raise
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"checkpoint {p}: truncated or corrupted, cannot be read ({reason[:160]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {p}: not a calf-ecs checkpoint")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {p}: format version {version!r}, this program reads {FORMAT_VERSION}")
    missing = [k for k in ("system", "state_dim", "action_dim", "hidden_size", "hidden_layers", "td3", "replay",
                           "calf", "training_agent", "stats", "rng") if k not in data]
    if missing:
        raise CheckpointError(f"checkpoint {p}: incomplete, missing {', '.join(missing)}")
    try:
        verify(data)
    except IntegrityError as exc:
        raise CheckpointError(f"checkpoint {p}: {exc}") from None
    return data


def check_compatible(data: dict[str, Any], cfg: AppConfig, env: Environment, path: str | Path) -> None:
    """The checkpoint must be for this environment and these network shapes."""
    if data["system"] != env.name:
        raise CheckpointError(f"checkpoint {path}: made for environment {data['system']}, this run is {env.name}")
    mine = (env.state_dim, env.action_dim, cfg.td3.hidden_size, cfg.td3.hidden_layers)
    theirs = (data["state_dim"], data["action_dim"], data["hidden_size"], data["hidden_layers"])
    if mine != theirs:
        raise CheckpointError(
            f"checkpoint {path}: network shapes differ (state, action, hidden size, layers: checkpoint "
            f"{theirs}, this run {mine})")
    scale = float(data.get("value_scale", 1.0))  # checkpoints from before the setting: 1
    if scale != critic_value_scale(cfg):
        raise CheckpointError(
            f"checkpoint {path}: its critic's value_scale is {scale:g}, this run's is {critic_value_scale(cfg):g} "
            "(set td3.value_scale to match)")
    base = data.get("actor_base", "none")  # checkpoints from before the setting: a plain actor
    if base != cfg.td3.actor_base:
        raise CheckpointError(
            f"checkpoint {path}: its actor's base is {base!r}, this run's is {cfg.td3.actor_base!r} "
            "(set td3.actor_base to match)")


def restore(world, data: dict[str, Any], path: str | Path) -> None:  # noqa: ANN001
    """Put a checked checkpoint's state into a freshly built world, all or nothing.

    Everything is first loaded into scratch objects of this run's shapes and checked (shapes,
    types, finite weights and replay rows, sane counters, valid random states); only then is the
    world's state replaced, by operations that cannot fail on data the scratch objects took. So a
    damaged or foreign checkpoint leaves the world exactly as it was.
    """
    cfg = world.resource(AppConfig)
    env = world.resource(Environment)
    check_compatible(data, cfg, env, path)
    try:
        staged = _stage(world, data)
    except CheckpointError as exc:
        raise CheckpointError(f"checkpoint {path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - anything the file's values make staging raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path}: does not match this run ({reason[:160]})") from None
    _swap_in(world, staged)


def _finite(tensors, what: str) -> None:  # noqa: ANN001
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"damaged: {what} hold NaN or inf")


def _stage(world, data: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """Load `data` into scratch objects and check it; raises on anything wrong."""
    cfg = world.resource(AppConfig)
    env = world.resource(Environment)
    live_calf = world.resource(CalfState)
    td3 = make_scratch_learner(cfg, env)
    td3.load_state_dict(data["td3"])
    nets = (td3.actor, td3.critic, td3.actor_target, td3.critic_target)
    _finite([p for m in nets for p in m.parameters()], "the network weights")
    _finite([t for o in (td3.actor_opt, td3.critic_opt) for st in o.opt.state.values() for t in st.values()],
            "the optimiser's moments")
    if td3.updates < 0 or td3.actor_updates < 0:
        raise CheckpointError("damaged: negative update counts")
    live_replay = world.resource(ReplayBuffer)
    replay = ReplayBuffer(live_replay.state_dim, live_replay.action_dim, live_replay.capacity)
    rows = data["replay"]["rows"]
    if not isinstance(rows, torch.Tensor):
        raise CheckpointError("damaged: the replay rows are not a tensor")
    _finite([rows], "the replay buffer's rows")
    try:
        replay.load_state_dict(data["replay"])
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    calf = CalfState(live_calf.schedule)
    calf.load_state_dict(data["calf"])
    if calf.relax_steps < 0:
        raise CheckpointError("damaged: a negative relax step count")
    stats = new_training_stats(cfg)
    _restore_stats(stats, data["stats"])
    numbers = [getattr(stats, k) for k in STATS_FIELDS if k not in ("critic_loss", "actor_loss", "last_outcome")]
    if any(n < 0 for n in numbers) or not all(np.isfinite(list(stats.returns))):
        raise CheckpointError("damaged: negative counters or non-finite returns in the statistics")
    row = _training_row_values(world.resource(AgentTable), data["training_agent"])
    numpy_state = {k: v for k, v in dict(data["rng"]["numpy"]).items() if k in RNG_STREAMS}
    Rngs(0).set_state(numpy_state)  # raises if a stream's state is not a valid PCG64 state
    torch_state = data["rng"]["torch"]
    torch.Generator().set_state(torch_state)  # raises if it is not a CPU generator state
    staged = {"td3": td3, "replay": replay, "calf": calf, "stats": stats, "row": row,
              "rng_numpy": numpy_state, "rng_torch": torch_state}
    try:  # generic over the contents: every value possible, the values consistent with each other
        check_consistency(staged, cfg)
        check_values(data, _reference(world))
    except IntegrityError as exc:
        raise CheckpointError(str(exc)) from None
    return staged


def _reference(world) -> dict[str, Any]:  # noqa: ANN001
    if not world.has_resource(CheckpointReference):
        raise CheckpointError("this world cannot check a checkpoint: it was not built by runtime.build.build_world")
    return world.resource(CheckpointReference).make(world)


def _swap_in(world, staged: dict[str, Any]) -> None:  # noqa: ANN001
    """Copy the checked state into the world's own objects (they keep their identity); a
    background learner is held meanwhile, and the acting networks take the restored weights."""
    learner = _learner(world)
    if learner is None:
        _swap_in_state(world, staged)
        return
    with learner.paused(drain=True):
        _swap_in_state(world, staged)
        learner.publish_now()


def _swap_in_state(world, staged: dict[str, Any]) -> None:  # noqa: ANN001
    world.resource(TD3).load_state_dict(staged["td3"].state_dict())
    live_replay = world.resource(ReplayBuffer)
    with live_replay.lock:
        for name in ("data", "tensor", "head", "size"):
            setattr(live_replay, name, getattr(staged["replay"], name))
    world.resource(CalfState).load_state_dict(staged["calf"].state_dict())
    live_stats = world.resource(TrainingStats)
    for k in (*STATS_FIELDS, *STATS_SERIES, *STATS_GROUPS, "phase"):
        setattr(live_stats, k, getattr(staged["stats"], k))
    table = world.resource(AgentTable)
    tr = table.training_row
    if tr >= 0:
        for name, value in staged["row"].items():
            table.column(name)[tr] = value
    world.resource(Rngs).set_state(staged["rng_numpy"])
    torch.set_rng_state(staged["rng_torch"])


def _restore_stats(stats: TrainingStats, saved: dict[str, Any]) -> None:
    for k in STATS_FIELDS:
        if k in OPTIONAL_STATS_FIELDS and k not in saved:
            continue
        setattr(stats, k, type(getattr(stats, k))(saved[k]))
    for k in STATS_SERIES:
        series = getattr(stats, k)
        series.clear()
        series.extend(saved[k])
    groups = saved.get("groups", {})
    if not isinstance(groups, dict):
        raise TypeError("the per-group counters are not a table")
    for k in STATS_GROUPS:
        saved_group = groups.get(k, {})
        if not isinstance(saved_group, dict):
            raise TypeError(f"the {k} counters are not a table")
        getattr(stats, k).load(saved_group)
    stats.phase = "TRAINING" if stats.train_updates else "EXPLORATION"


def _training_row_values(table: AgentTable, row: dict[str, Any]) -> dict[str, np.ndarray]:
    """The training agent's saved columns, converted and checked against this table."""
    if not isinstance(row, dict):
        raise TypeError("the training agent's data is not a table")
    if table.training_row < 0 or not row:
        return {}
    out = {}
    for name in TRAINING_ROW_COLUMNS:
        col = table.column(name)
        if name in OPTIONAL_ROW_COLUMNS and name not in row:
            continue
        value = np.asarray(row[name], dtype=col.dtype)
        if value.shape != col.shape[1:]:
            raise ValueError(f"training agent column {name} has shape {value.shape}, expected {col.shape[1:]}")
        out[name] = value
    if not np.isfinite(out["state"]).all():
        raise CheckpointError("damaged: the training agent's state holds NaN or inf")
    return out


# -- finding ---------------------------------------------------------------------------------------
def find_latest(root: str | Path, system: str, exclude: Path | None = None,
                max_bytes: int | None = None) -> Path | None:
    """The newest checkpoint for `system` among the run folders under `root` (`--resume auto`)."""
    root = Path(root)
    if not root.is_dir():
        return None
    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:  # a dangling link, say: read_checkpoint names it if it comes up
            return -1.0

    candidates = sorted(root.glob(f"*/{FILENAME}"), key=mtime, reverse=True)
    for path in candidates:
        if exclude is not None and path.parent.resolve() == exclude.resolve():
            continue
        data = read_checkpoint(path, max_bytes)  # a damaged newest file is reported, not skipped silently
        if data["system"] == system:
            return path
    return None
