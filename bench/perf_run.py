"""One measured run of the performance study (docs/PERFORMANCE.md): a child process of bench/perf_study.py.

    python bench/perf_run.py --render offscreen --variant baseline --agents 20 --frames 300 --warmup 150 \\
        --result r.json --out /tmp/run

It builds and runs the world exactly as `python app.py` does (same builders, the same frame loop
with its warm-up reset, the run's output files kept by RunOutputs, training on), with the
variant's three feature flags. `--render offscreen` renders 1280x720 through EGL like
`app.py --offscreen`; `--render headless` runs the same world with the view's data systems
(Heatmap, Height, TrailBatch, Stats) but no renderer, so the flags that act on the CPU side are
measured without llvmpipe in the frame (`app.py --headless` has no view systems at all, so the
flags could not change anything there).

The result is the profiler's JSON (docs/PROFILE_FORMAT.md) plus a `study` block: wall time,
the GL renderer, the machine's load average before and after, the CPU time other processes used
during the frame loop (`others_share`: of all cores), and the command's arguments.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/perf_run.py`
from bench import common  # noqa: E402
from config import load_config  # noqa: E402
from config.variants import variant_overrides  # noqa: E402

RENDERS = ("offscreen", "headless")


def study_config(render: str, variant: str, agents: int, frames: int, warmup: int, seed: int, out: str):
    """The config `app.py --<variant> --agents N --frames W+F --warmup W --seed S --out DIR` would build."""
    overrides = variant_overrides(variant)
    overrides["visual"]["agents"] = agents
    overrides["run"] = {"seed": seed, "frames": warmup + frames, "out": out}
    overrides["profiler"] = {"warmup_frames": warmup, "window": max(frames, 10)}
    return load_config(None, overrides=overrides)


def build(cfg, render: str):  # noqa: ANN001, ANN201
    """(world, app or None), assembled like app.py's offscreen run, or headless with the view's data systems."""
    if render == "offscreen":
        app = common.offscreen_app(cfg.visual.window_width, cfg.visual.window_height)
        return common.offscreen_world(cfg, app), app
    return common.headless_world(cfg, view_systems=True, mode="headless"), None


class OtherLoad:
    """CPU time other processes used while this run's frame loop ran: system-wide busy time minus ours.

    The machine is shared; this says how much of a run's measurement another job may have shared."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._proc = psutil.Process()
        self._sys0 = self._busy(psutil.cpu_times())
        self._own0 = self._own()
        self._t0 = time.perf_counter()

    @staticmethod
    def _busy(t) -> float:  # noqa: ANN001
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    def _own(self) -> float:
        t = self._proc.cpu_times()
        return t.user + t.system

    def result(self) -> dict:
        wall = time.perf_counter() - self._t0
        busy = self._busy(self._psutil.cpu_times()) - self._sys0
        own = self._own() - self._own0
        cores = self._psutil.cpu_count() or 1
        others = max(0.0, busy - own)
        return {"others_cpu_seconds": others, "others_share": others / (wall * cores) if wall > 0 else 0.0,
                "own_cpu_seconds": own, "loop_wall_seconds": wall}


def measure(render: str, variant: str, agents: int, frames: int, warmup: int, seed: int, out: str) -> dict:
    from runfiles.run_outputs import RunOutputs

    cfg = study_config(render, variant, agents, frames, warmup, seed, out)
    load_before = os.getloadavg()
    world, app = build(cfg, render)
    try:
        outputs = RunOutputs(world, out)
        other_load = OtherLoad()
        start = time.perf_counter()
        if render == "offscreen":
            from runtime.rendered import run_rendered

            result = run_rendered(world, cfg, progress=False)
        else:
            from runtime.headless import run_headless

            result = run_headless(world, cfg, progress=False)
        wall = time.perf_counter() - start
        contention = other_load.result()
        report = world.system("ProfilerSystem").report()
        outputs.close(interrupted=result["interrupted"])
        renderer = common.renderer(app) if app is not None else None
    finally:
        world.shutdown()
    report["meta"]["mode"] = render
    report["study"] = {
        "render": render,
        "variant": variant,
        "agents": agents,
        "frames": frames,
        "warmup": warmup,
        "seed": seed,
        "loop_seconds": wall,
        "frames_run": result["frames"],
        "interrupted": result["interrupted"],
        "renderer": renderer,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        **contention,
        "machine": common.machine()["machine"],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return report


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--render", choices=RENDERS, required=True)
    p.add_argument("--variant", choices=("baseline", "optimized"), required=True)
    p.add_argument("--agents", type=int, required=True)
    p.add_argument("--frames", type=int, default=300, help="measured frames (after the warm-up)")
    p.add_argument("--warmup", type=int, default=150, help="frames excluded from the statistics")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--result", required=True, help="where the run's JSON goes")
    p.add_argument("--out", help="the run's output folder (default: a temporary one, removed after)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="calf-perf-") as tmp:
        out = args.out or os.path.join(tmp, "run")
        report = measure(args.render, args.variant, args.agents, args.frames, args.warmup, args.seed, out)
    common.save_json(args.result, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
