"""The pictures of docs/VIEW.md, rendered offscreen (1280x720, EGL) from one trained checkpoint.

    python app.py --headless --train-preset quick --out runs/pm_quick        # the checkpoint (once)
    python bench/view_screenshots.py --checkpoint runs/pm_quick/checkpoint.pt

Writes into --out (default docs/):
  view_point_mass_trained.png  30 visual agents + the training agent and the policy cohort (8), resumed
                               (the checkpoint's task kept, the run so far in the learning curve) and
                               run --frames frames (training on), then the second agent in table order
                               inspected through the C key and followed (F) for 60 more frames
  view_learning_panel.png      the learning-curve panel of the first picture's world, cut from a
                               1600x900 frame of it (4x enlarged)
  view_cohort.png              the same world, a cohort agent inspected and followed, zoomed in
  view_10000.png               10 000 visual agents from the same checkpoint: the trail level of detail
                               and point markers, the 300th frame
  view_drive.png               differential drive (untrained), the theta slice named under the colour bar
The keys go through view.controls, as a key press in a window would.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/view_screenshots.py`
from bench import common  # noqa: E402


def world_from(app, checkpoint: str | None, agents: int, seed: int, extra: dict | None = None):  # noqa: ANN001, ANN201
    """A rendered world as `app.py --offscreen --agents A --seed S [--resume CHECKPOINT]` builds it: the
    checkpoint's task kept (cli.resume_task), the run so far in the learning curve."""
    from cli.arguments import overrides_from_args, parse_args
    from cli.resume_task import resumed_config
    from config import load_config
    from envs.registry import make_environment
    from rl.checkpoint import check_compatible, read_checkpoint, restore
    from runtime.training_run import checkpoint_max_bytes
    from systems.learning_curve import preload_history

    argv = ["--offscreen", "--agents", str(agents), "--seed", str(seed)]
    for section, values in (extra or {}).items():
        argv += [x for key, value in values.items() for x in ("--set", f"{section}.{key}={value}")]
    if checkpoint:
        argv += ["--resume", checkpoint]
    args = parse_args(argv)
    cfg = load_config(None, overrides=overrides_from_args(args))
    data = None
    if checkpoint:  # only read: nothing is written beside it
        data = read_checkpoint(Path(checkpoint), checkpoint_max_bytes(cfg))
        cfg, notes = resumed_config(args, cfg, data, Path(checkpoint))
        for line in notes:
            print(line)
        check_compatible(data, cfg, make_environment(cfg.env), Path(checkpoint))
    world = common.offscreen_world(cfg, app)
    if data is not None:
        restore(world, data, Path(checkpoint))
        episodes, evaluations = preload_history(world, Path(checkpoint).parent)
        print(f"the run's learning curve: {episodes} episodes, {evaluations} evaluations")
    return world


def panel_picture(app, world, path: Path, size: tuple[int, int] = (1600, 900), scale: int = 4) -> None:  # noqa: ANN001
    """The learning-curve panel, cut from a frame at `size` and enlarged `scale` times (nearest pixels)."""
    import numpy as np
    from matplotlib import image as mpimg

    from render.screenshot import grab_rgb

    app.win.setSize(*size)
    world.run(3)
    rs = world.system("RenderSystem")
    w, h = rs.window_size()
    left, right, top, bottom = (int(round(v)) for v in rs.layout.to_pixels(rs.layout.panels["learning"], w, h))
    img = grab_rgb(app)[top:bottom, left:right]
    mpimg.imsave(path, np.kron(img, np.ones((scale, scale, 1), dtype=img.dtype)))
    print("written", path)
    app.win.setSize(1280, 720)
    world.run(2)


def main(argv: list[str] | None = None) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", default=str(common.ROOT / "docs"))
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)

    from render.screenshot import save_png
    from view import controls

    out = Path(args.out)
    from cli.arguments import UsageError
    from rl.checkpoint import CheckpointError

    try:  # a missing, damaged or foreign checkpoint is one line, before anything is rendered or written
        from config import build_config
        from envs.registry import make_environment
        from rl.checkpoint import check_compatible, read_checkpoint
        from runtime.training_run import checkpoint_max_bytes

        cfg = build_config()
        check_compatible(read_checkpoint(Path(args.checkpoint), checkpoint_max_bytes(cfg)), cfg,
                         make_environment(cfg.env), Path(args.checkpoint))
    except (CheckpointError, UsageError) as exc:
        print(f"view_screenshots: error: {exc}", file=sys.stderr)
        return 2
    app = common.offscreen_app()

    world = world_from(app, args.checkpoint, 30, args.seed)
    world.run(args.frames)
    controls.press(world, "c")  # the training agent
    controls.press(world, "c")  # the next agent
    controls.press(world, "f")  # follow it
    world.run(60)
    print("written", save_png(app, out / "view_point_mass_trained.png"))
    panel_picture(app, world, out / "view_learning_panel.png")
    from components.agent_table import AgentTable

    table = world.resource(AgentTable)
    cohort = [int(e) for e, g in zip(table.entity, table.group) if g == 1]
    if cohort:  # the policy cohort up close: an agent of it inspected and followed, the camera nearer
        controls.select(world, cohort[0])
        from components.view_state import Selection

        if not world.resource(Selection).follow:
            controls.press(world, "f")  # (following carries over to the new selection)
        rs = world.system("RenderSystem")
        world.run(2)
        for _ in range(8):  # the wheel, towards the followed agent in the region's middle
            rs.rig.zoom(True, (0.0, 0.0))
        world.run(60)
        print("written", save_png(app, out / "view_cohort.png"))
    world.shutdown()

    world = world_from(app, args.checkpoint, 10_000, args.seed)
    world.run(300)
    print("written", save_png(app, out / "view_10000.png"))
    world.shutdown()

    world = world_from(app, None, 30, args.seed, {"env": {"system": "differential_drive"}})
    world.run(200)
    print("written", save_png(app, out / "view_drive.png"))
    world.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
