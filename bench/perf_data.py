"""The performance study's data: run JSONs loaded, grouped by (render, variant, N), summarised over repeats.

Each run JSON is the profiler's report plus a `study` block (bench/perf_run.py). A configuration
(render, variant, N) has one run per repeat; its figures are the median over repeats, with the
range kept to show the noise. Ratios compare the two variants within one repeat (they ran back
to back), then take the median over repeats.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

VARIANTS = ("baseline", "optimized")
RENDERS = ("offscreen", "headless")


def load_runs(results: Path) -> list[dict]:
    runs = []
    for path in sorted((results / "runs").glob("*.json")):
        data = json.loads(path.read_text())
        if "study" in data:
            data["study"]["file"] = path.name
            runs.append(data)
    return runs


def metrics(run: dict) -> dict[str, float]:
    """The figures the report uses from one run (frame statistics over the measured window)."""
    frame, proc, counters = run["frame"], run["process"], run["counters"]
    per_frame = {name: c["per_frame"] for name, c in counters.items()}
    out = {
        "frame_mean_ms": frame["mean_ms"],
        "frame_median_ms": frame["median_ms"],
        "frame_p95_ms": frame["p95_ms"],
        "frame_max_ms": frame["max_ms"],
        "fps_mean": 1000.0 / frame["mean_ms"],
        "fps_min": 1000.0 / frame["max_ms"],
        "cpu_ms_per_frame": proc["cpu_ms_per_frame"],
        "cpu_percent": proc["cpu_percent_run"],
        "rss_mb": proc["rss_mb_max"],
        "network_calls": per_frame.get("network_forward_calls", float("nan")),
        "view_network_calls": per_frame.get("view_network_calls", float("nan")),
        "draw_calls": per_frame.get("draw_calls", float("nan")),
        "train_updates": per_frame.get("train_updates", float("nan")),
        "load": run["study"]["loadavg_before"][0],
    }
    for name, s in run["systems"].items():
        out[f"sys_mean:{name}"] = s["mean_ms"]
        out[f"sys_median:{name}"] = s["median_ms"]
    return out


class Study:
    """Runs grouped by configuration; `value(...)` is the median over repeats, `spread(...)` their range."""

    def __init__(self, runs: list[dict]) -> None:
        self.runs = runs
        self.by_config: dict[tuple[str, str, int], dict[int, dict]] = defaultdict(dict)
        for run in runs:
            s = run["study"]
            self.by_config[(s["render"], s["variant"], s["agents"])][s.get("repeat", 1)] = metrics(run)
        self.agents = sorted({key[2] for key in self.by_config})

    def has(self, render: str, variant: str, n: int) -> bool:
        return (render, variant, n) in self.by_config

    def values(self, render: str, variant: str, n: int, key: str) -> list[float]:
        reps = self.by_config.get((render, variant, n), {})
        return [m[key] for _, m in sorted(reps.items()) if key in m]

    def value(self, render: str, variant: str, n: int, key: str) -> float:
        v = self.values(render, variant, n, key)
        return float(np.median(v)) if v else float("nan")

    def spread(self, render: str, variant: str, n: int, key: str) -> tuple[float, float]:
        v = self.values(render, variant, n, key)
        return (float(min(v)), float(max(v))) if v else (float("nan"), float("nan"))

    def ratios(self, render: str, n: int, key: str, num: str = "optimized", den: str = "baseline") -> list[float]:
        """num / den per repeat, for repeats that have both variants."""
        a = self.by_config.get((render, num, n), {})
        b = self.by_config.get((render, den, n), {})
        return [a[r][key] / b[r][key] for r in sorted(set(a) & set(b)) if key in a[r] and key in b[r] and b[r][key]]

    def ratio(self, render: str, n: int, key: str, num: str = "optimized", den: str = "baseline") -> float:
        r = self.ratios(render, n, key, num, den)
        return float(np.median(r)) if r else float("nan")

    def ratio_range(self, render: str, n: int, key: str, num: str = "optimized", den: str = "baseline"):  # noqa: ANN201
        r = self.ratios(render, n, key, num, den)
        return (float(min(r)), float(max(r))) if r else (float("nan"), float("nan"))

    def systems(self, render: str) -> list[str]:
        """System names in schedule order (from any run of this render mode)."""
        for run in self.runs:
            if run["study"]["render"] == render:
                return list(run["systems"])
        return []

    def repeats(self) -> int:
        return max((len(r) for r in self.by_config.values()), default=0)

    def renderer(self) -> str | None:
        return next((r["study"]["renderer"] for r in self.runs if r["study"].get("renderer")), None)

    def loads(self) -> list[float]:
        return [r["study"]["loadavg_before"][0] for r in self.runs]

    def repeat_spread_percent(self, key: str = "frame_mean_ms") -> list[float]:
        """Per configuration with >= 2 repeats: (max - min) / median of `key`, in percent."""
        out = []
        for reps in self.by_config.values():
            v = [m[key] for m in reps.values()]
            if len(v) >= 2:
                out.append(100.0 * (max(v) - min(v)) / float(np.median(v)))
        return out

    def process_seconds(self) -> float:
        return float(sum(r["study"].get("process_seconds", 0.0) for r in self.runs))

    def first(self, render: str, variant: str, n: int) -> dict | None:
        for run in self.runs:
            s = run["study"]
            if (s["render"], s["variant"], s["agents"]) == (render, variant, n):
                return run
        return None


def load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None
