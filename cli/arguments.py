"""The command line: flags, their checks, and how they override the config file."""
from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from config import POLICIES, SYSTEMS, TRAINING_PRESETS, VISUAL_PRESETS
from config.schema import MAX_AGENTS, MAX_COHORT, RELAX_SCHEDULES
from config.variants import variant_overrides
from process.errors import EXIT_USAGE, UsageError
from process.program import command, prog
from validation.validators import path_problem


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr with exit code 2 (no usage block)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _count(lo: int, hi: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {value}")
        if value > hi:
            raise argparse.ArgumentTypeError(f"must be <= {hi}, got {value}")
        return value

    parse.__name__ = what
    parse.bounds = (lo, hi)  # read by the generated bad-input tests
    return parse


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


_probability.__name__ = "--p-relax"
_probability.bounds = (0.0, 1.0)


def _nonempty(what: str):
    """Any text that is not blank (names, addresses; paths use _path)."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError("must not be empty")
        return text

    parse.__name__ = what
    parse.nonempty = True  # read by the generated bad-input tests
    return parse


def _path(what: str):
    """A file or folder name that can be used at all (validation.validators.path_problem); whether it
    exists, what kind of file it is and whether it may be written is safe_io.paths' job."""

    def parse(text: str) -> str:
        problem = path_problem(text)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return text

    parse.__name__ = what
    parse.nonempty = True  # read by the generated bad-input tests
    parse.path = True
    return parse


def _warp(text: str) -> str:
    """`--warp`: a whole number of simulation steps per frame, or 'auto'."""
    if text == "auto":
        return text
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of steps per frame or 'auto', got {text!r}") from None
    if not 1 <= value <= _warp.bounds[1]:
        raise argparse.ArgumentTypeError(f"must be in [1, {_warp.bounds[1]}] or 'auto', got {value}")
    return text


_warp.__name__ = "--warp"
_warp.bounds = (1, 1000)  # read by the generated bad-input tests


def build_parser() -> OneLineParser:
    cmd = command()
    p = OneLineParser(
        prog=prog(),
        description="Train a CALF agent (TD3 + critic-as-Lyapunov-function filter) and watch it: "
        "agents are esper entities with numpy structure-of-arrays data, processed by ordered systems. "
        "Ctrl-C, SIGTERM or SIGHUP (also SIGXCPU, SIGUSR1, SIGUSR2) stops after the current frame and saves "
        "everything (exit code 0); "
        "bad input is one line and exit code 2; a contained fault (a plugin failed) is exit code 1 with "
        "everything saved; 3 means something could not be saved (each named on stderr).",
        epilog=f"Examples: {cmd} --agents 30 | {cmd} --headless --episodes 100 "
        f"| {cmd} --headless --frames 500 --profile profile.json | {cmd} --list-systems "
        f"| {cmd} --headless --train-preset quick --policy actor --out runs/actor "
        f"| {cmd} --headless --resume auto "
        f"| {cmd} --headless --set calf.nu_bar=1.0. "
        f"Subcommands: {cmd} sweep --help (many seeded runs on Ray), {cmd} report --help "
        "(curves and tables over run folders).",
    )
    run = p.add_argument_group("what to run")
    run.add_argument("--agents", type=_count(0, MAX_AGENTS, "--agents"), metavar="N",
                     help="number of visual agents besides the training agent (preset default)")
    run.add_argument("--cohort", type=_count(0, MAX_COHORT, "--cohort"), metavar="K",
                     help="agents of the policy cohort: they replay the current policy without exploration noise "
                     "from the evaluation's fixed starts and never learn, drawn as cubes with dashed trails "
                     "(default 8; 0: none)")
    run.add_argument("--system", type=_nonempty("--system"), metavar="NAME|MODULE:CLASS",
                     help=f"environment: {', '.join(SYSTEMS)} (default point_mass), or your own Environment "
                     "subclass as package.module:ClassName (see docs/EXTENDING.md)")
    run.add_argument("--preset", choices=tuple(VISUAL_PRESETS), help="visual preset (default medium)")
    run.add_argument("--train-preset", choices=tuple(TRAINING_PRESETS),
                     help="training preset: episodes and episode length (default standard)")
    run.add_argument("--seed", type=_count(0, 2**63 - 1, "--seed"), metavar="S", help="random seed (default 42)")
    run.add_argument("--config", type=_path("--config"), metavar="FILE.toml",
                     help="config file; command-line flags override it")
    run.add_argument("--write-config", type=_path("--write-config"), metavar="PATH",
                     help="write a starter config file for this command line and stop: every setting with its "
                     "value, range and meaning, commented unless the command line sets it (load it with --config)")
    mode = p.add_argument_group("how to run")
    mode.add_argument("--headless", action="store_true", help="no rendering at all (never imports ursina)")
    mode.add_argument("--offscreen", action="store_true",
                      help="render the 3D view into an offscreen buffer (EGL, no display needed) instead of a window")
    mode.add_argument("--screenshot", type=_path("--screenshot"), metavar="PATH",
                      help="save the last rendered frame as a PNG (window or --offscreen)")
    mode.add_argument("--frames", type=_count(1, 10**12, "--frames"), metavar="N",
                      help="stop after N frames (headless default: run until --episodes are done)")
    mode.add_argument("--episodes", type=_count(1, 100_000_000, "--episodes"), metavar="E",
                      help="stop after E episodes of the training agent (training preset default; "
                      "not with --frames)")
    mode.add_argument("--warp", type=_warp, metavar="K|auto",
                      help="simulation steps per rendered frame (default 1; headless: per frame of the loop); "
                      "'auto': as many as keep the view at 20 FPS. Keys [ and ] change it live")
    mode.add_argument("--record", type=_path("--record"), metavar="PATH.mp4",
                      help="write an H.264 video of the view, HUD included, at the view's frame rate (window or "
                      "--offscreen; needs the 'video' extra: pip install -e '.[video]')")
    mode.add_argument("--no-trail-lod", action="store_true",
                      help="draw every trail point at any number of agents (default: trails are decimated "
                      "above visual.trail_lod_points drawn points; docs/VIEW.md)")
    mode.add_argument("--list-systems", action="store_true", help="print the system order and exit")
    mode.add_argument("--verbose", action="store_true",
                      help="with --list-systems: also the columns and resources each system reads and writes")
    run.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="set",
                     help="set any config key (e.g. calf.nu_bar=1.0, env.system=differential_drive), checked "
                     "exactly like the config file; repeatable; wins over --config, and may not repeat a key "
                     "another flag sets (docs/CONFIG.md lists the keys)")
    ext = p.add_argument_group("extending")
    ext.add_argument("--plugin", action="append", default=[], metavar="MODULE:CLASS[:after=NAME|:before=NAME][:phase=simulation|view]",
                     help="add a system: MODULE is a dotted module name (on the Python path or in the current "
                     "folder) or a path/to/file.py; optionally placed after/before a named system "
                     "(it joins that system's phase) or in a phase (simulation: every step; view: every frame) "
                     "(repeatable; appended to the config file's plugins list; see docs/EXTENDING.md)")
    train = p.add_argument_group("training")
    train.add_argument("--policy", choices=POLICIES,
                       help="who acts: calf (the CALF filter, default), actor (the bare TD3 actor) or nominal "
                       "(the nominal policy alone); TD3 trains on the learners' transitions in every case (every "
                       "agent's with training.collect = all, the default; the training agent's with = training)")
    train.add_argument("--relax-schedule", choices=RELAX_SCHEDULES,
                       help="how P_relax changes: linear (from the start to calf.relax_ramp_end over "
                       "calf.relax_ramp_steps, default: 0.3 to 0 over 20000 steps), exponential (P *= lambda_relax "
                       "each step), goal_zero (exponential, but 0 near the goal); see docs/CALF.md")
    train.add_argument("--p-relax", type=_probability, metavar="P",
                       help="starting relax probability in [0, 1] (default 0.3; 0: an uncertified step always "
                       "falls back to the nominal policy)")
    train.add_argument("--train-steps-per-frame", type=_count(0, 1000, "--train-steps-per-frame"), metavar="K",
                       help="TD3 updates per simulation step once training has started (default 2)")
    train.add_argument("--out", type=_path("--out"), metavar="DIR",
                       help="folder for checkpoint, reward plot, summary, CALF log and config "
                       "(default runs/<timestamp>/)")
    train.add_argument("--tensorboard", action="store_true",
                       help="also write the per-episode scalars (and evaluations) as a TensorBoard event file "
                       "in the run folder's tensorboard/ (view with: tensorboard --logdir runs/)")
    train.add_argument("--overwrite", action="store_true",
                       help="allow --out to name a folder that holds an earlier run (its files are replaced; "
                       "with --resume of that run's checkpoint the run continues there) and --profile / "
                       "--screenshot to replace existing files; without it nothing that exists is overwritten")
    train.add_argument("--resume", type=_path("--resume"), metavar="auto|PATH",
                       help="continue from a checkpoint file, or 'auto': the newest one for the same "
                       "environment in the run folders beside --out (default: runs/); the run keeps the "
                       "checkpoint's task (training preset, [env], [td3], [calf], evaluation, agents) unless "
                       "the command line sets it, and says what it kept and overrode")
    prof = p.add_argument_group("profiling")
    prof.add_argument("--profile", type=_path("--profile"), metavar="PATH",
                      help="write the profiler's JSON report here at the end")
    prof.add_argument("--profile-window", type=_count(10, 1_000_000, "--profile-window"), metavar="F",
                      help="frames kept for profiler statistics (default 1000)")
    prof.add_argument("--warmup", type=_count(0, 10**9, "--warmup"), metavar="F",
                      help="frames excluded from profiler statistics at the start (default 0)")
    prof.add_argument("--no-profiler", action="store_true", help="do not time systems (for overhead checks)")
    variant = prof.add_mutually_exclusive_group()
    variant.add_argument("--baseline", dest="variant", action="store_const", const="baseline",
                         help="the view's naive paths: use_vectorized_heights, use_stats_cache and "
                         "use_batched_trails all off (the performance study's baseline, docs/PERFORMANCE.md)")
    variant.add_argument("--optimized", dest="variant", action="store_const", const="optimized",
                         help="the three view optimisations all on (the default; overrides a config file)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def overrides_from_args(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Only the flags the user gave; they win over the config file."""
    mapping = {
        "agents": ("visual", "agents"),
        "cohort": ("visual", "cohort"),
        "system": ("env", "system"),
        "seed": ("run", "seed"),
        "frames": ("run", "frames"),
        "profile": ("run", "profile"),
        "episodes": ("training", "episodes"),
        "profile_window": ("profiler", "window"),
        "policy": ("training", "policy"),
        "relax_schedule": ("calf", "relax_schedule"),
        "p_relax": ("calf", "p_relax_init"),
        "train_steps_per_frame": ("training", "train_steps_per_frame"),
        "out": ("run", "out"),
        "resume": ("run", "resume"),
        "warmup": ("profiler", "warmup_frames"),
    }
    out: dict[str, dict[str, Any]] = {}
    for attr, (section, key) in mapping.items():
        value = getattr(args, attr, None)
        if value is not None:
            out.setdefault(section, {})[key] = value
    if args.no_profiler:
        out.setdefault("profiler", {})["enabled"] = False
    if getattr(args, "warp", None) is not None:
        auto = args.warp == "auto"
        out.setdefault("visual", {})["warp_auto"] = auto
        if not auto:
            out["visual"]["warp"] = int(args.warp)
    if getattr(args, "record", None) is not None:
        out.setdefault("run", {})["record"] = args.record
    if getattr(args, "no_trail_lod", False):
        out.setdefault("visual", {})["trail_lod"] = False
    if getattr(args, "variant", None):
        out.setdefault("visual", {}).update(variant_overrides(args.variant)["visual"])
    if getattr(args, "tensorboard", False):
        out.setdefault("run", {})["tensorboard"] = True
    _merge_assignments(out, getattr(args, "set", None) or [])
    return out


def _merge_assignments(out: dict[str, dict[str, Any]], items: list[str]) -> None:
    """--set values join the flags' overrides; a key that a flag sets too is refused."""
    from config.assignments import assignments_to_overrides

    for section, values in assignments_to_overrides(items).items():
        for key, value in values.items():
            if key in out.get(section, {}):
                raise UsageError(f"--set {section}.{key} and another flag both set {section}.{key} "
                                 f"({out[section][key]!r}); give it once")
            out.setdefault(section, {})[key] = value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(sys.argv[1:] if argv is None else argv)
