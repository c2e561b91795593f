"""`python app.py sweep`: many seeded headless runs (seeds x policies x --set variants) on Ray.

Everything is checked before anything runs: the options, every run's full command line exactly
as app.py would check it, the output folder, and finished runs made with other settings. Bad
input is one line on stderr and exit code 2, with nothing written. Exit codes afterwards: 0 when
every run finished (now or before), 1 when a run failed (the others still ran), 130 when the
sweep was stopped (Ctrl-C, SIGTERM).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from cli.arguments import (
    EXIT_USAGE,
    OneLineParser,
    UsageError,
    _count,
    _nonempty,
    _path,
    overrides_from_args,
    parse_args,
)
from cli.preflight import check_flags
from config import POLICIES, SYSTEMS, TRAINING_PRESETS, ConfigError, load_config
from process.messages import one_line
from process.program import command as command_name
from process.program import prog
from safe_io.paths import check_out_dir, check_tree
from sweep.grid import RunSpec, expand, parse_seeds, parse_variants
from sweep.state import ChangedRunError, clear_unfinished, finished


def _prog() -> str:
    return f"{prog()} sweep"
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def _policies(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",")]
    for name in names:
        if name not in POLICIES:
            raise argparse.ArgumentTypeError(f"unknown policy {name!r}: choose from {', '.join(POLICIES)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a policy is listed twice in {text!r}")
    return names


_policies.__name__ = "--policies"
_policies.bad_values = ("bogus", "", "calf,calf", "calf,")  # read by the generated bad-input tests


def _seeds(text: str) -> list[int]:
    try:
        return parse_seeds(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--seeds: ")) from None


_seeds.__name__ = "--seeds"
_seeds.bad_values = ("", "x", "5-2", "1,,2", "-3", "0-100000")


def build_parser() -> OneLineParser:
    p = OneLineParser(
        prog=_prog(),
        description="Run every combination of seeds x policies x config variants as its own ordinary headless "
        "run (in OUT/<policy>[_<key>=<value>...]/seed<S>/), as Ray tasks: a local Ray on this machine's cores, "
        "or a Ray cluster with --address. Runs that finished before are skipped, so the same command resumes a "
        f"stopped sweep; a failing run is named and the others go on. Compare the runs with: {command_name()} "
        "report OUT.",
        epilog=f"Example: {command_name()} sweep --out runs/nu_bar --seeds 0-9 --policies calf,actor "
        "--set calf.nu_bar=0.01,1 --train-preset quick",
    )
    what = p.add_argument_group("the runs")
    what.add_argument("--out", required=True, type=_path("--out"), metavar="DIR",
                      help="the sweep's folder: one folder per run, logs/, sweep.json (a new or empty folder, or "
                      "this sweep's own to resume it)")
    what.add_argument("--seeds", type=_seeds, default=[42], metavar="LIST",
                      help="seeds: 42 | 1,2,3 | 0-9 (inclusive) | a mix such as 0-4,10 (default 42)")
    what.add_argument("--policies", type=_policies, default=["calf"], metavar="LIST",
                      help=f"comma-separated policies from {', '.join(POLICIES)} (default calf)")
    what.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=V1[,V2...]", dest="set",
                      help="a config key for every run; several values make one variant per value (every "
                      "combination across --set options); repeatable")
    what.add_argument("--system", choices=SYSTEMS, help="environment of every run")
    what.add_argument("--train-preset", choices=tuple(TRAINING_PRESETS), help="training preset of every run")
    what.add_argument("--episodes", type=_count(1, 100_000_000, "--episodes"), metavar="E",
                      help="episodes per run")
    what.add_argument("--agents", type=_count(0, 100_000, "--agents"), default=0, metavar="N",
                      help="agents per run besides the training agent (default 0). With training.collect = all "
                      "(the default) every agent is a learner, so this is the parallel data of each run: "
                      "--agents 63 for 64 learners")
    what.add_argument("--config", type=_path("--config"), metavar="FILE.toml", help="config file of every run")
    what.add_argument("--tensorboard", action="store_true", help="every run also writes TensorBoard event files")
    how = p.add_argument_group("where and how")
    how.add_argument("--cpus", type=_count(1, 4096, "--cpus"), metavar="N",
                     help="CPUs of the local Ray (default: all of this machine's cores)")
    how.add_argument("--address", type=_nonempty("--address"), metavar="HOST:PORT|auto",
                     help="join this Ray cluster instead of starting a local Ray (the nodes need this project "
                     "at the same path and a shared folder for --out); an address where no Ray answers is refused "
                     "within seconds")
    how.add_argument("--threads-per-run", type=_count(1, 256, "--threads-per-run"), default=1, metavar="T",
                     help="CPUs Ray gives each run, and its torch/BLAS threads (default 1)")
    how.add_argument("--dry-run", action="store_true", help="list the runs (and which are finished) and exit")
    how.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _base_args(args: argparse.Namespace) -> list[str]:
    out = ["--agents", str(args.agents)]
    for flag, value in (("--system", args.system), ("--train-preset", args.train_preset),
                        ("--episodes", args.episodes), ("--config", args.config)):
        if value is not None:
            out += [flag, str(value)]
    if args.tensorboard:
        out.append("--tensorboard")
    if args.threads_per_run > 1:
        out += ["--set", f"td3.torch_threads={args.threads_per_run}"]
    return out


def check_run(spec: RunSpec) -> None:
    """The run's command line, checked exactly as app.py checks it (UsageError or ConfigError)."""
    run_args = parse_args(list(spec.argv))
    cfg = load_config(run_args.config, preset=run_args.preset, train_preset=run_args.train_preset,
                      overrides=overrides_from_args(run_args))
    check_flags(run_args, cfg)


def plan(args: argparse.Namespace) -> tuple[Path, list[RunSpec], list[RunSpec]]:
    """(out, runs to do, finished runs to skip); raises UsageError / ConfigError."""
    if args.address and args.cpus:
        raise UsageError("--cpus sets the size of a local Ray; with --address the cluster decides")
    out = Path(args.out)
    variants = parse_variants(args.set)
    if "td3.torch_threads" in variants and args.threads_per_run > 1:
        raise UsageError("--threads-per-run sets td3.torch_threads; do not --set it too")
    specs = expand(out, args.seeds, args.policies, variants, _base_args(args))
    checked: set[str] = set()
    for spec in specs:  # the seed is checked by the parser; one run per setting is enough
        if spec.group not in checked:
            checked.add(spec.group)
            try:
                check_run(spec)
            except (UsageError, ConfigError) as exc:
                raise UsageError(f"run {spec.group}: {exc}") from None
    check_out_dir(out)
    check_sweep_folder(out, specs)
    todo, done = [], []
    for spec in specs:
        try:
            (done if finished(spec) else todo).append(spec)
        except ChangedRunError as exc:
            raise UsageError(str(exc)) from None
    return out, todo, done


def check_sweep_folder(out: Path, specs: list[RunSpec]) -> None:
    """--out is new, empty, or a sweep's own folder (it holds sweep.json): never a folder of other
    data. Nothing the sweep writes or clears there may be reached through a symbolic link or be of
    another kind (sweep.json a folder or a FIFO, logs/ a file): the sweep would write, or clear an
    unfinished run's folder, through it."""
    from sweep.execute import STOP_FILE, stem_of
    from sweep.state import MARKER, SWEEP_FILE

    try:
        names = sorted(os.listdir(out))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"--out: {out} cannot be listed ({exc.strerror or exc})") from None
    if names and not os.path.lexists(out / SWEEP_FILE):
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        raise UsageError(f"--out {out} holds other files ({shown}) and is not a sweep's folder (no {SWEEP_FILE}); "
                         "give a new or empty folder")
    what = "--out"
    check_tree(out, out / SWEEP_FILE, what, leaf="file")
    check_tree(out, out / STOP_FILE, what, leaf="file")
    check_tree(out, out / "logs", what, leaf="dir")
    for spec in specs:
        check_tree(out, spec.folder, what, leaf="dir")
        check_tree(out, spec.folder / MARKER, what, leaf="file")
        stem = Path(stem_of(out / "logs", spec))
        for suffix in (".stdout.txt", ".stderr.txt"):
            check_tree(out, stem.with_name(stem.name + suffix), what, leaf="file")


def _fail(message: str) -> int:
    print(f"{_prog()}: error: {one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        out, todo, done = plan(args)
    except (UsageError, ConfigError) as exc:
        return _fail(str(exc))
    total = len(todo) + len(done)
    if args.dry_run:
        for spec in done:
            print(f"finished  {spec.name}")
        for spec in todo:
            print(f"to run    {spec.name}: python app.py {' '.join(spec.argv)}")
        print(f"{total} runs: {len(done)} finished, {len(todo)} to run")
        return 0
    command = [prog(), "sweep", *argv]
    if not todo:
        print(f"{total} runs, all finished before; nothing to do (results in {out})")
        return 0
    from sweep.execute import run_sweep, start_ray

    try:
        started, ray_seconds = start_ray(args.cpus, args.address)  # an --address nobody answers at: refused here
    except UsageError as exc:
        return _fail(str(exc))
    try:
        out.mkdir(parents=True, exist_ok=True)
        for spec in todo:
            clear_unfinished(spec)
        import ray

        cpus = int(ray.cluster_resources().get("CPU", 0))
        print(f"sweep: {len(todo)} runs to do ({len(done)} finished before) on Ray with {cpus} CPUs, "
              f"{args.threads_per_run} per run; Ray started in {ray_seconds:.1f} s" if started else
              f"sweep: {len(todo)} runs to do ({len(done)} finished before) on the running Ray ({cpus} CPUs)",
              file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        outcome = run_sweep(todo, done, out, command, threads=args.threads_per_run, progress=not args.no_progress)
    finally:
        if started:
            import ray

            ray.shutdown()
    failed = [r for r in outcome.records.values() if r["status"] == "failed"]
    print(f"{total} runs in {time.perf_counter() - t0:.1f} s: {outcome.count('ok')} finished now, "
          f"{len(done)} before, {len(failed)} failed"
          + (f", {outcome.count('interrupted')} stopped" if outcome.interrupted else "")
          + f"; results in {out} (compare: {command_name()} report {out})")
    for rec in failed:
        print(f"{_prog()}: failed run {rec['name']}: {rec['error']} (log: {rec['stderr']})", file=sys.stderr)
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else 0
