"""What the trails cost llvmpipe: the same rendered world, trails shown, hidden, and drawn 1 px thin.

    python bench/trail_raster_cost.py --agents 30 1000

Offscreen 1280x720, optimised, training on, seed 42. After 300 warm-up frames (trails about half
full), four rounds of 40-frame blocks per state, alternating; prints the medians of the blocks'
median frame and RenderSystem times. Explains why the optimised frame still grows with N although
the draw calls do not (docs/PERFORMANCE.md, N = 1000 vs N = 30).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/trail_raster_cost.py`
from bench import common  # noqa: E402

STATES = ("shown", "hidden", "thin")


def child(n: int) -> None:
    from components.agent_table import AgentTable
    from render.trail_mesh import LINE_THICKNESS

    cfg = common.config({"visual": {"agents": n}, "profiler": {"window": 2000}, "run": {"seed": 42}})
    app = common.offscreen_app(cfg.visual.window_width, cfg.visual.window_height)
    world = common.offscreen_world(cfg, app)
    world.run(300)
    trails = world.system("RenderSystem").trails.nodepath
    res: dict[str, list[tuple[float, float]]] = {k: [] for k in STATES}
    for _ in range(4):
        for state in STATES:
            trails.show() if state != "hidden" else trails.hide()
            trails.setRenderModeThickness(1.0 if state == "thin" else LINE_THICKNESS)
            rep = common.profiled(world, 40, warmup=5).report
            res[state].append((rep["frame"]["median_ms"], rep["systems"]["RenderSystem"]["median_ms"]))
    points = float(np.mean(world.resource(AgentTable).trail_len))
    world.shutdown()
    print(f"N = {n}: {n + 1} rows, mean trail length {points:.0f} points")
    for state, v in res.items():
        a = np.array(v)
        print(f"  trails {state:7s} frame {np.median(a[:, 0]):7.2f} ms   RenderSystem {np.median(a[:, 1]):7.2f} ms")


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--agents", type=int, nargs="+", default=[30, 1000])
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        child(args.child)
        return
    for n in args.agents:  # one Ursina app per process
        subprocess.run([sys.executable, __file__, "--child", str(n)], check=True)


if __name__ == "__main__":
    main()
