"""Before a training run starts: where its outputs go and what it resumes from, all checked
up front so that a bad --out or --resume is a one-line error with nothing written."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from attrs import Factory, define

from config.schema import AppConfig
from envs.registry import make_environment
from rl.checkpoint import check_compatible, find_latest, read_checkpoint
from rl.checkpoint_integrity import size_limit
from rl.sizes import network_parameters
from runfiles.run_outputs import RUNS_ROOT, default_out_dir
from safe_io.paths import RUN_FILES, check_aliasing, check_out_dir, check_output_file


@define
class RunPlan:
    out_dir: Path
    resume_path: Path | None = None
    resume_data: dict[str, Any] | None = None
    default_out: bool = False  # out_dir is a new runs/<timestamp>/ folder (claimed exclusively)
    notes: list[str] = Factory(list)  # what the plan chose, said once every check has passed
    cfg: AppConfig | None = None  # the run's config: with --resume, the checkpoint's task kept (cli.resume_task)


def checkpoint_max_bytes(cfg: AppConfig) -> int:
    """The largest checkpoint file this run reads (rl.checkpoint_integrity.size_limit)."""
    env = make_environment(cfg.env)
    width = 2 * env.state_dim + env.action_dim + 2
    params = network_parameters(env.state_dim, env.action_dim, cfg.td3.hidden_size, cfg.td3.hidden_layers)
    return size_limit(cfg.td3.buffer_size, width, params)


def plan_run(cfg: AppConfig, *, overwrite: bool = False, retask=None) -> RunPlan:  # noqa: ANN001
    """Resolve and check the output folder and the checkpoint to resume (raises UsageError/CheckpointError).

    `retask(data, path) -> (cfg, notes)` gives the resumed run's config from the checkpoint's data
    (cli.resume_task); the checkpoint must fit that config. `plan.cfg` is the run's config."""
    default = not cfg.run.out
    out_dir = default_out_dir(RUNS_ROOT) if default else Path(cfg.run.out)
    check_out_dir(out_dir, overwrite=overwrite)
    plan = RunPlan(out_dir, default_out=default, cfg=cfg)
    if not cfg.run.resume:
        return plan
    limit = checkpoint_max_bytes(cfg)
    auto = cfg.run.resume == "auto"
    if auto:
        path = find_latest(out_dir.parent, cfg.env.system, max_bytes=limit)
        if path is None:
            plan.notes.append(f"--resume auto: no {cfg.env.system} checkpoint in {out_dir.parent}/*/; starting fresh")
            return plan
    else:
        path = Path(cfg.run.resume)
    data = read_checkpoint(path, limit)
    plan.notes.append(f"--resume{' auto' if auto else ''}: continuing from {path} ({checkpoint_contents(data)})")
    if retask is not None:
        cfg, notes = retask(data, path)
        plan.cfg = cfg
        plan.notes += notes
    check_compatible(data, cfg, make_environment(cfg.env), path)
    plan.resume_path, plan.resume_data = path, data
    return plan


def checkpoint_contents(data: dict[str, Any]) -> str:
    """What a checkpoint holds, in a few words: where its training stands and when it was written."""
    stats = data.get("stats") or {}
    parts = [str(data.get("system", "?")), f"{stats.get('episodes', '?')} episodes", f"{stats.get('total_steps', '?')} steps"]
    if data.get("created"):
        parts.append(f"written {str(data['created']).replace('T', ' ')}")
    return ", ".join(parts)


def plugin_files(cfg: AppConfig) -> dict[str, Path]:
    """The source files of the plugins and of the environment class (inputs: no output may replace one)."""
    from envs.registry import resolve
    from plugins.boundary import module_key

    files = {}
    env_module = sys.modules.get(resolve(cfg.env.system).__module__)
    origin = getattr(env_module, "__file__", None)
    if origin:
        files[f"the environment's source {origin}"] = Path(origin)
    for spec in cfg.plugins:
        module = sys.modules.get(module_key(spec.system.split(":")[0]))
        origin = getattr(module, "__file__", None)
        if origin:
            files[f"the plugin's source {origin}"] = Path(origin)
    return files


def check_outputs(plan: RunPlan, cfg: AppConfig, args: argparse.Namespace) -> None:
    """--profile, --screenshot and --record: usable, not existing without --overwrite; and no output may
    be an input (the config file, the checkpoint resumed, a plugin's source) or another output."""
    overwrite = bool(getattr(args, "overwrite", False))
    screenshot = getattr(args, "screenshot", None)
    record = cfg.run.record
    for flag, path in (("--profile", cfg.run.profile), ("--screenshot", screenshot), ("--record", record)):
        if path:
            check_output_file(path, flag)  # usable at all (the name, its folder, its kind)
    inputs: dict[str, Path] = {}
    if getattr(args, "config", None):
        inputs[f"--config {args.config}"] = Path(args.config)
    if plan.resume_path is not None:
        inputs[f"the checkpoint resumed ({plan.resume_path})"] = plan.resume_path
    inputs.update(plugin_files(cfg))
    run_files = {f"the run's {name}": plan.out_dir / name for name in RUN_FILES}
    outputs = {**run_files, "the run's --out folder": plan.out_dir}
    if cfg.run.profile:
        outputs[f"--profile {cfg.run.profile}"] = Path(cfg.run.profile)
    if screenshot:
        outputs[f"--screenshot {screenshot}"] = Path(screenshot)
    if record:
        outputs[f"--record {record}"] = Path(record)
    # with --overwrite the run may replace its own folder's files, inputs included (read in full by now)
    check_aliasing(outputs, inputs, replaceable=run_files if overwrite else ())
    for flag, path in (("--profile", cfg.run.profile), ("--screenshot", screenshot), ("--record", record)):
        if path:
            check_output_file(path, flag, overwrite=overwrite)  # an earlier file is replaced only with --overwrite
