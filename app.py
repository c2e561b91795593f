"""calf-ecs: train a CALF agent and watch it live. Run `python app.py --help`."""
from __future__ import annotations

import sys

from config import ConfigError, load_config
from runtime.cli import EXIT_USAGE, UsageError, overrides_from_args, parse_args
from runtime.outputs import check_output_file
from runtime.plugins import parse_plugin_arg
from runtime.view_cli import check_view_flags, list_view_systems


def _fail(message: str) -> int:
    print(f"app.py: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        check_view_flags(args)
        cfg = load_config(
            args.config, preset=args.preset, train_preset=args.train_preset, overrides=overrides_from_args(args),
            extra_plugins=[parse_plugin_arg(p) for p in args.plugin],
        )
        if cfg.run.profile and not args.list_systems:
            check_output_file(cfg.run.profile, "--profile")
    except (UsageError, ConfigError) as exc:
        return _fail(str(exc))

    from runtime.build import build_world

    mode = "headless" if args.headless else ("offscreen" if args.offscreen else "window")
    if args.list_systems:
        extend = None if args.headless else (lambda w: list_view_systems(w, cfg))
        try:
            world = build_world(cfg, mode=mode, spawn=False, extend=extend)
        except ConfigError as exc:  # a plugin that cannot be imported or placed
            return _fail(str(exc))
        print(world.schedule.describe(verbose=args.verbose))
        world.shutdown()
        return 0

    from rl.checkpoint import CheckpointError, restore
    from runtime.run_outputs import RunOutputs
    from runtime.training_run import plan_run

    try:
        plan = plan_run(cfg)
        if args.headless:
            world = build_world(cfg, mode=mode)
        else:
            from render.app_setup import NoDisplayError, create_app
            from runtime.rendered import build_rendered_world

            try:
                app = create_app(mode, cfg.visual.window_width, cfg.visual.window_height)
            except NoDisplayError as exc:
                return _fail(str(exc))
            world = build_rendered_world(cfg, app, mode)
    except (UsageError, CheckpointError, ConfigError) as exc:  # ConfigError: a plugin that cannot be placed
        return _fail(str(exc))
    try:
        if plan.resume_data is not None:
            try:
                restore(world, plan.resume_data, plan.resume_path)
            except CheckpointError as exc:
                return _fail(str(exc))
        outputs = RunOutputs(world, plan.out_dir, resumed_from=str(plan.resume_path) if plan.resume_path else None)
        if args.headless:
            from runtime.headless import run_headless

            result = run_headless(world, cfg, progress=not args.no_progress)
        else:
            from runtime.rendered import run_rendered

            result = run_rendered(world, cfg, screenshot=args.screenshot,
                                  progress=not args.no_progress and mode == "offscreen")
        if result["aborted"]:  # stopped mid-frame: keep the last whole-frame checkpoint
            outputs.write_plot()
            outputs.write_summary(interrupted=True)
            outputs.log.close()
        else:
            outputs.close(interrupted=result["interrupted"])
        summary = outputs.summary(result["interrupted"])
        if cfg.run.profile:
            world.system("ProfilerSystem").write_json(cfg.run.profile)
    finally:
        world.shutdown()
    print(
        f"{result['frames']} frames ({mode}), {summary['session_episodes']} training episodes in {result['seconds']:.2f} s "
        f"({result['steps_per_second']:.0f} steps/s); success {summary['success_rate']:.0%} "
        f"(last 20: {summary['success_rate_last20']:.0%}), certified {summary['certification_rate']:.0%}, "
        f"interventions {summary['intervention_rate']:.0%}, relax {summary['relax_rate']:.0%}, "
        f"P_relax {summary['p_relax']:.3g}; outputs in {plan.out_dir}"
        + (" [interrupted]" if result["interrupted"] else "")
        + (f"; screenshot {result['screenshot']}" if result.get("screenshot") else "")
        + (f"; profile written to {cfg.run.profile}" if cfg.run.profile else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
