"""The pictures of docs/VIEW.md, rendered offscreen (1280x720, EGL) from one trained checkpoint.

    python app.py --headless --train-preset quick --out runs/pm_quick        # the checkpoint (once)
    python bench/view_screenshots.py --checkpoint runs/pm_quick/checkpoint.pt

Writes into --out (default docs/):
  view_point_mass_trained.png  30 visual agents + the training agent, resumed and run --frames frames
                               (training on), then the second agent in table order inspected through
                               the C key and followed (F) for 60 more frames
  view_10000.png               10 000 visual agents from the same checkpoint: the trail level of detail
                               and point markers, the 300th frame
  view_drive.png               differential drive (untrained), the theta slice named under the colour bar
The keys go through runtime.controls, as a key press in a window would.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def world_from(app, checkpoint: str | None, agents: int, seed: int, extra: dict | None = None):  # noqa: ANN001, ANN201
    from config import build_config
    from rl.checkpoint import restore
    from runtime.rendered import build_rendered_world
    from runtime.training_run import plan_run

    overrides = {"visual": {"agents": agents}, "run": {"seed": seed}}
    for section, values in (extra or {}).items():
        overrides.setdefault(section, {}).update(values)
    if checkpoint:
        overrides["run"]["resume"] = checkpoint
        overrides["run"]["out"] = str(Path(checkpoint).parent)  # only read: nothing is written there
    cfg = build_config(overrides=overrides)
    world = build_rendered_world(cfg, app, "offscreen")
    if checkpoint:
        plan = plan_run(cfg)
        restore(world, plan.resume_data, plan.resume_path)
    return world


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)

    from render.app_setup import create_app
    from render.screenshot import save_png
    from runtime import controls

    out = Path(args.out)
    app = create_app("offscreen", 1280, 720)

    world = world_from(app, args.checkpoint, 30, args.seed)
    world.run(args.frames)
    controls.press(world, "c")  # the training agent
    controls.press(world, "c")  # the next agent
    controls.press(world, "f")  # follow it
    world.run(60)
    print("written", save_png(app, out / "view_point_mass_trained.png"))
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
