"""The benchmarks' shared plumbing, so a benchmark file keeps only what it measures.

A benchmark runs as `python bench/NAME.py`, where only bench/ is on the path: its first lines put
the repository there, then import from here::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/NAME.py`
    from bench import common  # noqa: E402

What is here:

- where things are: ROOT, RESULTS (bench/results/), `parser` (argparse with the module doc's
  first line), `command_line` (the command recorded in a results JSON);
- building: `config` (build_config with override layers merged section by section),
  `offscreen_app` (the EGL app, one per process), `offscreen_world` / `headless_world`, `opened`
  (shut a world down however the block ends), `renderer` (the GL renderer's name);
- measuring: `profiled` (profiler reset, frames timed: report, wall and CPU seconds, load average
  around them), `per_call` (seconds per call of a loop), `flip` / `alternate` (rounds whose
  order flips so the machine's load falls on every side alike), `load1` / `load_span`;
- summarising and recording: `medians`, `system_medians`, `round_ratios`, `md_head` / `md_row`
  (markdown tables), `machine` (platform and Python), `child_json` (one measurement in a fresh
  process, its JSON read back), `save_json` (the results file written atomically).

Nothing here imports the project's heavy packages (config, render, runtime, torch) until a helper
that needs them is called, so `--help` stays fast.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import attrs
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


# -- command line -----------------------------------------------------------------------------------
def parser(doc: str | None) -> argparse.ArgumentParser:
    """An ArgumentParser described by the first line of the benchmark's module doc."""
    return argparse.ArgumentParser(description=(doc or "").split("\n")[0])


def command_line(script: str, argv: Sequence[str] | None = None) -> str:
    """`python bench/NAME.py ARGS` as it was run (`argv`, or the process's own arguments when None)."""
    return f"python bench/{Path(script).name} " + " ".join(argv if argv is not None else sys.argv[1:])


# -- building ----------------------------------------------------------------------------------------
def merged(*layers: dict | None) -> dict:
    """Config override layers merged section by section (a later layer's keys win)."""
    out: dict = {}
    for layer in layers:
        for section, values in (layer or {}).items():
            out.setdefault(section, {}).update(values)
    return out


def config(*layers: dict | None, **kwargs: Any):  # noqa: ANN201 - config.AppConfig
    """`build_config(overrides=merged(*layers), **kwargs)` (kwargs: train_preset, extra_plugins, ...)."""
    from config import build_config

    return build_config(overrides=merged(*layers), **kwargs)


def offscreen_app(width: int = 1280, height: int = 720):  # noqa: ANN201 - the ursina.Ursina singleton
    """The offscreen app (EGL, no display needed); Ursina allows one per process."""
    from render.app_setup import create_app

    return create_app("offscreen", width, height)


def offscreen_world(cfg, app):  # noqa: ANN001, ANN201
    """The world `app.py --offscreen` runs, drawing into `app`."""
    from runtime.rendered import build_rendered_world

    return build_rendered_world(cfg, app, "offscreen")


def headless_world(cfg, view_systems: bool = False, **kwargs: Any):  # noqa: ANN001, ANN201
    """A headless world (runtime.build.build_world), with the view's data systems (Heatmap, Height,
    TrailBatch, Stats; no renderer) when `view_systems`."""
    from runtime.build import build_world

    if view_systems:
        from runtime.view_systems import add_view_systems

        kwargs["extend"] = lambda w: add_view_systems(w, cfg)
    return build_world(cfg, **kwargs)


@contextmanager
def opened(world) -> Iterator:  # noqa: ANN001
    """`with opened(world) as w:`: the world is shut down however the block ends."""
    try:
        yield world
    finally:
        world.shutdown()


def renderer(app) -> str:  # noqa: ANN001
    """The GL renderer drawing the app's frames (llvmpipe on this machine)."""
    return app.win.getGsg().getDriverRenderer()


# -- measuring ---------------------------------------------------------------------------------------
def load1() -> float:
    """The machine's 1-minute load average (others' work shows here on a shared machine)."""
    return os.getloadavg()[0]


def load_span(loads: Iterable[float]) -> str:
    """'LOW to HIGH on C cores' for the load averages recorded during a benchmark."""
    loads = list(loads)
    return f"{min(loads):.2f} to {max(loads):.2f} on {os.cpu_count()} cores"


@attrs.define
class Profiled:
    """What `profiled` measured: the profiler's report over the timed frames, their wall and CPU
    (this process) seconds, and the 1-minute load average just before and after."""

    report: dict
    wall: float
    cpu: float
    load_before: float
    load_after: float


def profiled(world, frames: int, warmup: int = 0) -> Profiled:  # noqa: ANN001
    """Run `warmup` frames, reset the world's ProfilerSystem, then time `frames` frames."""
    world.run(warmup)
    prof = world.system("ProfilerSystem")
    prof.reset()
    load_before = load1()
    c0, t0 = time.process_time(), time.perf_counter()
    world.run(frames)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    load_after = load1()
    return Profiled(prof.report(), wall, cpu, load_before, load_after)


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of `fn`, over `calls` calls in a row."""
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def flip(items: Sequence, round_: int) -> list:
    """`items` in round `round_`'s order: as given in even rounds, reversed in odd ones."""
    return list(items) if round_ % 2 == 0 else list(items)[::-1]


def alternate(names: Sequence, rounds: int, measure: Callable[[Any], float]) -> dict[Any, list[float]]:
    """`measure(name)` for every name once per round, the order flipping every round."""
    out: dict[Any, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        for name in flip(names, r):
            out[name].append(measure(name))
    return out


# -- summarising and recording ----------------------------------------------------------------------
def medians(rows: Sequence[dict], keys: Iterable[str]) -> dict[str, float]:
    """The median over `rows` of each of `keys`."""
    return {k: float(np.median([x[k] for x in rows])) for k in keys}


def system_medians(rows: Sequence[dict], names: Iterable[str], field: str = "systems_median_ms") -> dict[str, float]:
    """The median over `rows` of each system's figure in `row[field]` (NaN where a row lacks it)."""
    return {k: float(np.median([x[field].get(k, np.nan) for x in rows])) for k in names}


def round_ratios(nums: Sequence[dict], dens: Sequence[dict], key: str) -> list[float]:
    """num[key] / den[key] for every num and den row of the same round (`row["round"]`)."""
    return [a[key] / b[key] for a in nums for b in dens if a["round"] == b["round"]]


def md_head(*cells: object) -> str:
    """A markdown table's header line and its `|---|` line."""
    return md_row(*cells) + "\n" + "|---" * len(cells) + "|"


def md_row(*cells: object) -> str:
    """`| a | b | c |`."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def machine() -> dict:
    """The machine and Python a result was measured on."""
    return {"machine": platform.platform(), "python": sys.version.split()[0]}


def child_json(cmd: Sequence[str], result: str, *, cwd: str | Path = ROOT, timeout: float | None = None) -> dict:
    """Run `cmd` in a fresh process (a clean heap; one Ursina app per process) and return the JSON it
    wrote to `result`. In `cmd` and `result`, "{tmp}" stands for a temporary folder removed after.
    A failing child raises RuntimeError with the end of its stderr."""
    with tempfile.TemporaryDirectory(prefix="calf-bench-") as tmp:
        words = [str(w).replace("{tmp}", tmp) for w in cmd]
        res = subprocess.run(words, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(words)} failed (exit {res.returncode}): {res.stderr[-800:]}")
        return json.loads(Path(result.replace("{tmp}", tmp)).read_text())


def save_json(path: str | Path, data: Any, indent: int = 2, keep_nan: bool = False) -> Path:
    """Write a results JSON atomically (safe_io.atomic), its folder made if need be. NaN is written
    as null and numpy values as plain numbers (safe_io.atomic.json_safe), unless `keep_nan`: then
    the data is written as json.dumps has it (NaN as NaN, for a benchmark that reads its file back)."""
    from safe_io.atomic import atomic_write_text, json_safe

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=indent) if keep_nan else json.dumps(json_safe(data), indent=indent, allow_nan=False)
    return atomic_write_text(path, text + "\n")
