"""Before a training run starts: where its outputs go and what it resumes from, all checked
up front so that a bad --out or --resume is a one-line error with nothing written."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from attrs import define

from config.schema import AppConfig
from envs.base import make_environment
from rl.checkpoint import check_compatible, find_latest, read_checkpoint
from runtime.run_outputs import RUNS_ROOT, check_out_dir, default_out_dir


@define
class RunPlan:
    out_dir: Path
    resume_path: Path | None = None
    resume_data: dict[str, Any] | None = None


def plan_run(cfg: AppConfig) -> RunPlan:
    """Resolve and check the output folder and the checkpoint to resume (raises UsageError/CheckpointError)."""
    out_dir = Path(cfg.run.out) if cfg.run.out else default_out_dir(RUNS_ROOT)
    check_out_dir(out_dir)
    plan = RunPlan(out_dir)
    if not cfg.run.resume:
        return plan
    if cfg.run.resume == "auto":
        path = find_latest(out_dir.parent, cfg.env.system)
        if path is None:
            print(f"app.py: --resume auto: no {cfg.env.system} checkpoint in {out_dir.parent}/*/; starting fresh",
                  file=sys.stderr)
            return plan
    else:
        path = Path(cfg.run.resume)
    data = read_checkpoint(path)
    check_compatible(data, cfg, make_environment(cfg.env), path)
    plan.resume_path, plan.resume_data = path, data
    return plan
