"""The performance report is generated from run JSONs alone, and its verdicts follow the data."""
import json

from bench.perf_data import Study, load_runs
from bench.perf_report import targets_table, write_report

def fake_run(render, variant, n, repeat, speedup):
    """A run JSON shaped like bench/perf_run.py's; the baseline's frame is `speedup` times the optimised one,
    the difference sitting in StatsSystem (and RenderSystem when rendered)."""
    systems = {"ControlSystem": 1.0, "TrainingSystem": 2.0, "HeightSystem": 0.1, "StatsSystem": 0.02}
    if render == "offscreen":
        systems["RenderSystem"] = 10.0 + 0.01 * n
    base = variant == "baseline"
    if base:
        extra = sum(systems.values()) * (speedup - 1.0)
        systems["StatsSystem"] += extra / 2 if render == "offscreen" else extra
        if render == "offscreen":
            systems["RenderSystem"] += extra / 2
    frame = sum(systems.values())
    counters = {"network_forward_calls": {"per_frame": 3.0 if base else 2.0},
                "view_network_calls": {"per_frame": 1.0 if base else 0.0}, "train_updates": {"per_frame": 1.0}}
    if render == "offscreen":
        counters["draw_calls"] = {"per_frame": (n + 9.0) if base else 9.0}
    return {
        "frame": {"mean_ms": frame, "median_ms": frame * 0.98, "p95_ms": frame * 1.2, "max_ms": frame * 1.6},
        "systems": {k: {"mean_ms": v, "median_ms": v * 0.95} for k, v in systems.items()},
        "process": {"cpu_ms_per_frame": frame * 1.1, "cpu_percent_run": 100.0, "rss_mb_max": 400.0},
        "counters": counters,
        "study": {"render": render, "variant": variant, "agents": n, "repeat": repeat, "frames": 300, "warmup": 150,
                  "loadavg_before": [1.0 + repeat, 1, 1], "renderer": "llvmpipe" if render == "offscreen" else None,
                  "process_seconds": 10.0},
    }


def write_runs(folder, speedup):
    runs = folder / "runs"
    runs.mkdir(parents=True)
    for render in ("offscreen", "headless"):
        for variant in ("baseline", "optimized"):
            for n in (20, 30, 1000):
                for repeat in (1, 2):
                    data = fake_run(render, variant, n, repeat, speedup)
                    (runs / f"{render}-{variant}-n{n:04d}-r{repeat}.json").write_text(json.dumps(data))


def test_the_report_has_every_section_and_chart(tmp_path):
    results, docs = tmp_path / "results", tmp_path / "docs"
    write_runs(results, speedup=2.5)
    text = write_report(results, docs).read_text()
    for heading in ("## How it was measured", "## FPS and frame times", "## Where a frame goes at N = 20",
                    "## CPU, memory, network calls and draw calls at N = 20", "## Top three bottlenecks",
                    "## Targets", "## The original plan's criteria", "## Micro-benchmarks",
                    "## Visual regression", "## Reproducing"):
        assert heading in text
    for chart in ("perf_fps_vs_n.png", "perf_speedup_vs_n.png", "perf_systems_n20.png", "perf_draw_calls_vs_n.png"):
        assert (docs / chart).stat().st_size > 5000 and f"({chart})" in text
    assert "Incomplete" not in text
    assert "1. **RenderSystem**" in text  # the largest system, named from the data


def test_verdicts_follow_the_data(tmp_path):
    for speedup, verdict in ((2.5, "**met**"), (1.2, "**missed**")):
        folder = tmp_path / str(speedup)
        write_runs(folder, speedup)
        rows, notes = targets_table(Study(load_runs(folder)), None)
        line = next(r for r in rows.splitlines() if r.startswith("| frame time, offscreen"))
        assert line.endswith(verdict + " |"), line
        assert any(n.startswith("Frame time, offscreen") for n in notes) == (verdict == "**missed**")
    line = next(r for r in rows.splitlines() if r.startswith("| draw calls per frame"))
    assert line.endswith("**met** |")  # 9 at every N
