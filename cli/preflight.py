"""Checks that need the whole command line, the config and the run mode, done before anything runs.

Each failure is a UsageError (one line, exit code 2, nothing written). They catch settings that
are valid one by one but would fail, or silently do something else, only once the run is going:
flags that contradict each other and runs that cannot fit in memory (output paths: safe_io.paths).
"""
from __future__ import annotations

import argparse

import psutil

from cli.arguments import UsageError
from config.schema import AppConfig
from envs.registry import make_environment
from plugins.loading import instantiate
from rl.sizes import network_parameters

#: bytes per trail point with the view: the table's ring buffers (12 + 1), the trail mesh's position,
#: colour and index arrays and the driver's copy of them (2 x 24), and the float64 temporaries of
#: re-projecting every point onto a refreshed surface (about 12 x 8)
TRAIL_POINT_BYTES = 13 + 48 + 96
#: bytes per network parameter: weights, target copy, two Adam moments, gradients (float32)
PARAM_BYTES = 5 * 4


def check_flags(args: argparse.Namespace, cfg: AppConfig) -> None:
    """Flags that contradict each other or do nothing in this combination; an environment that fails
    its checks (envs/checks.py); plugins that cannot be imported or made (their placement is checked
    when the schedule is built); the view's settings against the mode (cli.view_modes)."""
    from cli.view_modes import check_view_config

    check_view_config(args, cfg)
    make_environment(cfg.env, check=True)
    for spec in cfg.plugins:
        instantiate(spec)
    if args.verbose and not args.list_systems:
        raise UsageError("--verbose only applies with --list-systems")
    if args.episodes is not None and cfg.run.frames is not None:
        raise UsageError(
            f"--episodes {args.episodes} and --frames {cfg.run.frames} exclude each other: a run stops after "
            "--frames frames, or without --frames after --episodes episodes")


def memory_estimate(cfg: AppConfig, mode: str) -> dict[str, int]:
    """Bytes the run's large arrays can take at their full size, by part."""
    env = make_environment(cfg.env)
    sd, ad = env.state_dim, env.action_dim
    rows = max(16, cfg.visual.agents + 1)  # the agent table's starting capacity
    parts = {
        "replay buffer (td3.buffer_size)": cfg.td3.buffer_size * (2 * sd + ad + 2) * 4,
        "networks (td3.hidden_size, td3.hidden_layers)":
            network_parameters(sd, ad, cfg.td3.hidden_size, cfg.td3.hidden_layers) * PARAM_BYTES,
        "agent table (--agents)": rows * (8 * (4 * sd + 2 * ad) + 64),
    }
    if mode != "headless":
        parts["trails (--agents x visual.trail_max_length)"] = rows * cfg.visual.trail_max_length * TRAIL_POINT_BYTES
        parts["critic surface (visual.grid_size)"] = cfg.visual.grid_size ** 2 * 200
    return parts


def check_memory(cfg: AppConfig, mode: str, available: int | None = None) -> None:
    """Refuse a run whose arrays cannot fit in the memory available now."""
    parts = memory_estimate(cfg, mode)
    need = sum(parts.values())
    have = psutil.virtual_memory().available if available is None else available
    if need > have:
        biggest = max(parts, key=parts.get)
        raise UsageError(
            f"this run needs about {need / 2**30:.1f} GiB ({biggest}: {parts[biggest] / 2**30:.1f} GiB), "
            f"more than the {have / 2**30:.1f} GiB of memory available; make it smaller")
