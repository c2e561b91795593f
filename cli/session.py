"""One training session from the command line: check, claim, build, run, save, report.

Before anything is written, every path is vetted (safe_io.paths) and the run folder is claimed
with a lock (runfiles.run_folder); a refusal is one line and exit code 2. From then on until the
last file is written, SIGINT, SIGTERM, SIGHUP, SIGXCPU, SIGUSR1 and SIGUSR2 are caught (process.stop): the first finishes the
current frame, then the checkpoint, reward plot, summary, CALF log and profile are written
(shielded from further signals), the world is torn down and the lock released.

A fault during the run never ends in a traceback on the terminal: a plugin's failure is contained
by plugins.boundary (the plugin is switched off, the run stops after that frame and saves
everything); an exception from a built-in system stops the loop at once (the last periodic
checkpoint is kept, never the broken frame). Either is one `app.py: error:` line, with the
traceback in the run folder's errors.log.

Exit codes: 0 everything saved; 1 a fault (named), but every output was saved; 2 bad input,
nothing written; 3 something was lost (named): an output not written, CALF log rows lost, or a
stop mid-frame so the checkpoint is an older one; 130 interrupted twice while starting.
"""
from __future__ import annotations

import argparse
import sys
import traceback

from cli.arguments import EXIT_USAGE, UsageError
from cli.preflight import check_memory
from cli.resume_task import resumed_config
from config import ConfigError
from config.schema import AppConfig
from plugins.boundary import describe, failures_of, stops_the_run
from plugins.figures import figure_lines
from process.messages import error, note
from process.stop import StopRequest
from rl.checkpoint import CheckpointError, restore
from runfiles.run_folder import RunFolder, recover
from runfiles.run_outputs import ERRORS, RunOutputs, default_out_dir
from runtime.build import build_world
from runtime.training_run import RunPlan, check_outputs, plan_run

EXIT_FAULT = 1  # a plugin or a system failed (named on stderr), but every output was saved
EXIT_LOST = 3  # something could not be saved (named on stderr)
EXIT_INTERRUPTED = 130  # a second signal before the first frame


def _error(message: str, code: int = EXIT_USAGE) -> int:
    error(message)
    return code


def _evaluation_text(ev: dict | None) -> str:
    """The last evaluation without noise, for the closing line."""
    if not ev:
        return ""
    text = f"; evaluation ({ev['starts']} fixed starts, no noise): success {ev['success_rate']:.0%}, " \
           f"return {ev['mean_return']:.0f}"
    if ev.get("return_gain") is not None and ev["policy"] != "nominal":
        from systems.evaluation import gain_words

        text += f" (return {gain_words(ev['return_gain'])})"
    if ev.get("certified_share") is not None:
        text += f", certified {ev['certified_share']:.0%}"
    return text


def run_session(args: argparse.Namespace, cfg: AppConfig, mode: str) -> int:
    overwrite = bool(getattr(args, "overwrite", False))
    try:
        check_memory(cfg, mode)
        plan = plan_run(cfg, overwrite=overwrite, retask=lambda data, path: resumed_config(args, cfg, data, path))
        if plan.cfg is not cfg:  # resuming: the checkpoint's task (agents, buffer, ...) is this run's
            cfg = plan.cfg
            check_memory(cfg, mode)
        check_outputs(plan, cfg, args)
    except (UsageError, CheckpointError, ConfigError) as exc:
        return _error(str(exc))
    with StopRequest() as stop:
        try:
            folder = _claim(plan, overwrite, getattr(args, "config", None))
        except UsageError as exc:
            return _error(str(exc))
        except KeyboardInterrupt:
            return _error("interrupted twice while starting; nothing was written", EXIT_INTERRUPTED)
        try:
            return _build_and_run(args, cfg, mode, plan, stop, folder)
        except KeyboardInterrupt:
            folder.abandon()
            return _error("interrupted twice while starting; no checkpoint was written", EXIT_INTERRUPTED)
        finally:
            with stop.shield():
                folder.release()


def _claim(plan: RunPlan, overwrite: bool, config: str | None) -> RunFolder:
    """Lock the run folder (a default runs/<timestamp>/ one is new: another name if it was taken
    meanwhile), and tidy the folder of the checkpoint being resumed. Inputs in the folder are kept
    until the run's own files replace them (`--overwrite`); a run resumed into its own folder keeps
    its histories (episodes.csv, eval.csv, tensorboard/), which it goes on appending to."""
    from pathlib import Path

    from safe_io.paths import HISTORY_FILES

    keep = tuple(Path(p) for p in (plan.resume_path, config) if p is not None)
    if plan.resume_path is not None and plan.resume_path.parent.resolve() == plan.out_dir.resolve():
        keep += tuple(plan.out_dir / name for name in HISTORY_FILES)  # continued in place: the histories go on
    for _ in range(100):
        try:
            folder = RunFolder.claim(plan.out_dir, overwrite=overwrite, keep=keep, exclusive=plan.default_out)
            break
        except FileExistsError:
            plan.out_dir = default_out_dir(plan.out_dir.parent)
    else:
        raise UsageError(f"--out: cannot find a free folder name in {plan.out_dir.parent}")
    if plan.resume_path is not None and plan.resume_path.parent.resolve() != plan.out_dir.resolve():
        recover(plan.resume_path.parent)
    return folder


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


def _build_and_run(args: argparse.Namespace, cfg: AppConfig, mode: str, plan: RunPlan, stop: StopRequest,
                   folder: RunFolder) -> int:
    try:
        world = _build_world(args, cfg, mode)
    except (UsageError, CheckpointError, ConfigError) as exc:  # ConfigError: a plugin that cannot be set up or placed
        folder.abandon()
        return _error(str(exc))
    world.insert_resource(stop)  # the plugin boundary asks for a stop through it; writes are shielded by it
    if failures_of(world):  # an environment that failed while the first agents were spawned: stop at once
        stop.request(failures_of(world)[0].plugin + " failed")
    try:
        if plan.resume_data is not None:
            try:
                restore(world, plan.resume_data, plan.resume_path)
            except CheckpointError as exc:
                folder.abandon()
                return _error(str(exc))
            from systems.learning_curve import preload_history

            preload_history(world, plan.resume_path.parent)  # the view's learning curve: the run so far
        for line in plan.notes:  # which checkpoint --resume continues from: said once nothing can refuse the run
            note(line)
        try:
            outputs = RunOutputs(world, plan.out_dir,
                                 resumed_from=str(plan.resume_path) if plan.resume_path else None,
                                 command=getattr(args, "argv", None))
        except OSError as exc:
            return _error(f"--out: cannot write in {plan.out_dir} ({exc.strerror or exc})", EXIT_LOST)
        start_frame = world.frame
        tracebacks: list[str] = []
        try:
            result = _run_loop(args, cfg, mode, world, stop)
        except Exception as exc:  # noqa: BLE001 - a built-in system's fault: keep what is whole
            tracebacks.append(f"frame {world.frame}:\n" + "".join(traceback.format_exception(exc)))
            result = {"frames": world.frame - start_frame, "seconds": 0.0, "steps_per_second": 0.0,
                      "interrupted": True, "aborted": True, "signal": None,
                      "crash": f"the run stopped inside frame {world.frame} ({describe(exc)})"}
        with stop.shield():  # more signals now would only cut the saving short
            return _finish(args, cfg, mode, plan, world, outputs, result, tracebacks, _shutdown_then(world))
    finally:
        if not world._closed:
            try:
                world.shutdown()
            except Exception:  # noqa: BLE001 - already failing: do not hide the first error
                pass


def _shutdown_then(world):  # noqa: ANN001, ANN202
    """World shutdown as a step of `_finish` (after the outputs are written); returns its error."""
    def shutdown() -> str | None:
        try:
            world.shutdown()
        except Exception as exc:  # noqa: BLE001 - a built-in system's teardown: named, not a traceback
            return f"tearing the world down failed ({describe(exc)})"
        return None

    return shutdown


def _finish(args: argparse.Namespace, cfg: AppConfig, mode: str, plan: RunPlan, world, outputs: RunOutputs,  # noqa: ANN001
            result: dict, tracebacks: list[str], shutdown) -> int:  # noqa: ANN001
    """Write everything, tear down, report: the exit code says whether anything was lost."""
    lost = list(outputs.close(result["interrupted"], checkpoint=not result["aborted"]).values())
    faults: list[str] = []
    summary = outputs.summary(result["interrupted"])
    profile = None
    if cfg.run.profile:
        try:
            profile = world.system("ProfilerSystem").write_json(cfg.run.profile)
        except Exception as exc:  # noqa: BLE001 - OSError, or anything else: the other outputs are kept
            reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else describe(exc)
            lost.append(f"--profile {cfg.run.profile}: not written ({reason})")
    teardown = shutdown()
    if teardown:
        faults.append(teardown)
    failures = failures_of(world)
    tracebacks += [f"plugin {f.plugin}, {f.phase}, frame {f.frame}:\n{f.traceback}" for f in failures]
    outputs.write_errors_log(tracebacks)
    if "errors.log" in outputs.write_errors:
        lost.append(outputs.write_errors["errors.log"])
    where = f"; traceback in {plan.out_dir / ERRORS}" if tracebacks and "errors.log" not in outputs.write_errors else ""
    for f in failures:
        if f.consequence is not None:  # an environment's failure (plugins.environment_boundary)
            faults.append(f"{f.line()}; {f.consequence}{where}")
        elif f.phase == "teardown":
            faults.append(f"{f.line()}; the run's outputs were written before{where}")
        elif stops_the_run(f.phase):
            faults.append(f"{f.line()}; it was switched off and the run stopped after that frame; "
                          f"everything was saved{where}")
        else:
            faults.append(f"{f.line()}; it was switched off and its figures are an error note; "
                          f"everything else was saved{where}")
    if result.get("crash") or result["aborted"]:
        kept = (f"the checkpoint is the last periodic one (step {outputs.checkpoint_steps})"
                if outputs.checkpoint_steps is not None else "no checkpoint was written")
        cause = result.get("crash") or "stopped mid-frame by a second signal"
        lost.append(f"{cause}; {kept}; the summary, reward plot and CALF log are written"
                    + (where if result.get("crash") else ""))
    if result.get("screenshot_error"):
        lost.append(result["screenshot_error"])
    if result.get("video_error"):
        lost.append(result["video_error"])
    stopped = ""
    if result["interrupted"]:
        stopped = " [interrupted]" + (f" ({result['signal']})" if result.get("signal") else "")
    _say(
        f"{result['frames']} frames ({mode}), {summary['session_episodes']} training episodes "
        f"in {result['seconds']:.2f} s "
        f"({result['steps_per_second']:.0f} steps/s); success {summary['success_rate']:.0%} "
        f"(last 20: {summary['success_rate_last20']:.0%}), certified {summary['certification_rate']:.0%}, "
        f"interventions {summary['intervention_rate']:.0%}, relax {summary['relax_rate']:.0%}, "
        f"P_relax {summary['p_relax']:.3g}"
        + _evaluation_text(summary.get("evaluation"))
        + f"; outputs in {plan.out_dir}"
        + (f" (resumed from {summary['resumed_from']})" if summary.get("resumed_from") else "")
        + stopped
        + (f"; screenshot {result['screenshot']}" if result.get("screenshot") else "")
        + (f"; video {result['video']['path']} ({result['video']['frames']} frames, "
           f"{result['video']['fps']:.1f} FPS)" if result.get("video") and not result["video"]["error"] else "")
        + (f"; profile written to {cfg.run.profile}" if profile is not None else "")
    )
    for line in figure_lines(summary.get("extensions")):  # what the plugins measured (also in run_summary.json)
        _say(line)
    for message in faults + lost:
        error(message)
    return EXIT_LOST if lost else (EXIT_FAULT if faults else 0)


def _say(line: str) -> None:
    """The run's summary line on stdout; a closed pipe (`| head`) must not turn it into a traceback."""
    try:
        print(line, flush=True)
    except (BrokenPipeError, ValueError):
        _quiet_stdout()


def _quiet_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
