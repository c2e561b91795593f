"""One training session from the command line: check, build, run, save, report.

From the moment the run is planned until its files are written, SIGINT and SIGTERM are caught
(runtime.stop): the first finishes the current frame, then the checkpoint, reward plot, summary,
CALF log and profile are written (shielded from further signals) and the exit code is 0. Files
that cannot be written are reported as one line each and make the exit code 1. An exception
inside a frame (a plugin's bug, say) is printed with its traceback; the summary, plot, log and
profile are still written (the last periodic checkpoint is kept, not the broken frame) and the
exit code is 1.
"""
from __future__ import annotations

import argparse
import sys
import traceback

from config import ConfigError
from config.schema import AppConfig
from rl.checkpoint import CheckpointError, restore
from runtime.build import build_world
from runtime.cli import EXIT_USAGE, UsageError
from runtime.preflight import check_memory, check_output_paths
from runtime.run_outputs import RunOutputs
from runtime.stop import StopRequest
from runtime.training_run import RunPlan, plan_run

EXIT_FAILED = 1  # the run went, but some of its files could not be written
EXIT_INTERRUPTED = 130  # a second signal before the first frame


def _error(message: str, code: int = EXIT_USAGE) -> int:
    print(f"app.py: error: {message}", file=sys.stderr)
    return code


def _evaluation_text(ev: dict | None) -> str:
    """The last evaluation without noise, for the closing line."""
    if not ev:
        return ""
    text = f"; evaluation ({ev['starts']} fixed starts, no noise): success {ev['success_rate']:.0%}, " \
           f"return {ev['mean_return']:.0f}"
    if ev.get("return_gain") is not None and ev["policy"] != "nominal":
        text += f" ({ev['return_gain']:+.1%} vs nominal)"
    if ev.get("certified_share") is not None:
        text += f", certified {ev['certified_share']:.0%}"
    return text


def run_session(args: argparse.Namespace, cfg: AppConfig, mode: str) -> int:
    try:
        check_memory(cfg, mode)
        plan = plan_run(cfg)
        check_output_paths(plan.out_dir, cfg.run.profile, args.screenshot)
    except (UsageError, CheckpointError) as exc:
        return _error(str(exc))
    with StopRequest() as stop:
        try:
            return _build_and_run(args, cfg, mode, plan, stop)
        except KeyboardInterrupt:
            return _error("interrupted twice while starting; no checkpoint was written", EXIT_INTERRUPTED)


def _build_world(args: argparse.Namespace, cfg: AppConfig, mode: str):  # noqa: ANN202
    if args.headless:
        return build_world(cfg, mode=mode)
    from render.app_setup import NoDisplayError, create_app
    from runtime.rendered import build_rendered_world

    try:
        app = create_app(mode, cfg.visual.window_width, cfg.visual.window_height)
    except NoDisplayError as exc:
        raise UsageError(str(exc)) from None
    return build_rendered_world(cfg, app, mode)


def _run_loop(args: argparse.Namespace, cfg: AppConfig, mode: str, world, stop: StopRequest) -> dict:  # noqa: ANN001
    if args.headless:
        from runtime.headless import run_headless

        return run_headless(world, cfg, progress=not args.no_progress, stop=stop)
    from runtime.rendered import run_rendered

    return run_rendered(world, cfg, screenshot=args.screenshot, progress=not args.no_progress and mode == "offscreen",
                        stop=stop)


def _build_and_run(args: argparse.Namespace, cfg: AppConfig, mode: str, plan: RunPlan, stop: StopRequest) -> int:
    try:
        world = _build_world(args, cfg, mode)
    except (UsageError, CheckpointError, ConfigError) as exc:  # ConfigError: a plugin that cannot be placed
        return _error(str(exc))
    try:
        if plan.resume_data is not None:
            try:
                restore(world, plan.resume_data, plan.resume_path)
            except CheckpointError as exc:
                return _error(str(exc))
        try:
            outputs = RunOutputs(world, plan.out_dir,
                                 resumed_from=str(plan.resume_path) if plan.resume_path else None)
        except OSError as exc:
            return _error(f"--out: cannot write in {plan.out_dir} ({exc.strerror or exc})", EXIT_FAILED)
        start_frame = world.frame
        try:
            result = _run_loop(args, cfg, mode, world, stop)
        except Exception as exc:  # a fault no system handles (a plugin's bug, say): keep what is whole
            traceback.print_exc()
            crashed = f"the run stopped at frame {world.frame} ({type(exc).__name__}: {exc}); the last " \
                      "periodic checkpoint is kept, the summary, reward plot and CALF log are written"
            result = {"frames": world.frame - start_frame, "seconds": 0.0, "steps_per_second": 0.0,
                      "interrupted": True, "aborted": True, "signal": None, "error": crashed}
        with stop.shield():  # more signals now would only cut the saving short
            # stopped mid-frame (a second signal): keep the last whole-frame checkpoint
            failed = list(outputs.close(result["interrupted"], checkpoint=not result["aborted"]).values())
            summary = outputs.summary(result["interrupted"])
            profile = None
            if cfg.run.profile:
                try:
                    profile = world.system("ProfilerSystem").write_json(cfg.run.profile)
                except OSError as exc:
                    failed.append(f"--profile {cfg.run.profile}: not written ({exc.strerror or exc})")
    finally:
        world.shutdown()
    if result.get("screenshot_error"):
        failed.append(result["screenshot_error"])
    if result.get("error"):
        failed.append(result["error"])
    stopped = ""
    if result["interrupted"]:
        stopped = " [interrupted]" + (f" ({result['signal']})" if result.get("signal") else "")
    print(
        f"{result['frames']} frames ({mode}), {summary['session_episodes']} training episodes "
        f"in {result['seconds']:.2f} s "
        f"({result['steps_per_second']:.0f} steps/s); success {summary['success_rate']:.0%} "
        f"(last 20: {summary['success_rate_last20']:.0%}), certified {summary['certification_rate']:.0%}, "
        f"interventions {summary['intervention_rate']:.0%}, relax {summary['relax_rate']:.0%}, "
        f"P_relax {summary['p_relax']:.3g}"
        + _evaluation_text(summary.get("evaluation"))
        + f"; outputs in {plan.out_dir}"
        + stopped
        + (f"; screenshot {result['screenshot']}" if result.get("screenshot") else "")
        + (f"; profile written to {cfg.run.profile}" if profile is not None else "")
    )
    for message in failed:
        print(f"app.py: error: {message}", file=sys.stderr)
    return EXIT_FAILED if failed else 0
