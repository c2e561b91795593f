"""docs/EXTENDING.md's first walk-through, run as written: the doc's code is the test's plugin."""
import re
import sys
from pathlib import Path

import numpy as np

from components import AgentTable
from config import build_config
from runtime.build import build_world

DOC = Path(__file__).resolve().parents[1] / "docs" / "EXTENDING.md"


def doc_module(name: str) -> str:
    """The python block of the doc that starts with `# <name>`."""
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S):
        if block.startswith(f"# {name}\n"):
            return block
    raise AssertionError(f"docs/EXTENDING.md has no python block starting with '# {name}'")


def test_the_docs_top_speed_system_runs_as_written(tmp_path, monkeypatch):
    pkg = tmp_path / "mysystems"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "speed.py").write_text(doc_module("mysystems/speed.py"))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mysystems", None)
    sys.modules.pop("mysystems.speed", None)
    cfg = build_config({"plugins": [{"system": "mysystems.speed:TopSpeed", "after": "PhysicsSystem"}],
                        "visual": {"agents": 4}})
    world = build_world(cfg)
    names = world.schedule.names()
    assert names.index("TopSpeed") == names.index("PhysicsSystem") + 1
    table = world.resource(AgentTable)
    # loop oracle: per agent, the largest |v| since its episode started (rows are stable: no add/remove)
    oracle = np.zeros(table.n)
    ended: list[np.ndarray] = []
    world.events.subscribe("episodes_ended", lambda rows, *rest: ended.append(np.asarray(rows)))
    for _ in range(300):
        world.step()
        for rows in ended:
            for r in rows:
                oracle[r] = 0.0
        ended.clear()
        for r in range(table.n):
            oracle[r] = max(oracle[r], abs(table.state[r, 1]))
    np.testing.assert_allclose(table.top_speed, oracle, rtol=0, atol=1e-12)
    assert (table.top_speed > 0).any()
    assert "TopSpeed" in world.system("ProfilerSystem").report()["systems"]
    world.shutdown()


def test_the_docs_report_extras_plugin_runs_as_written(tmp_path, monkeypatch, capsys):
    """The ReportExtras example: its figures reach run_summary.json, the profile and the summary lines."""
    import json

    import app

    pkg = tmp_path / "mysystems"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "goal_counter.py").write_text(doc_module("mysystems/goal_counter.py"))
    monkeypatch.chdir(tmp_path)
    for name in ("mysystems", "mysystems.goal_counter"):
        sys.modules.pop(name, None)
    code = app.main(["--headless", "--episodes", "3", "--agents", "6", "--set", "env.max_steps_per_episode=400",
                     "--plugin", "mysystems.goal_counter:GoalCounter", "--out", "runs/goals",
                     "--profile", "goals.json", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads((tmp_path / "runs" / "goals" / "run_summary.json").read_text())
    figures = summary["extensions"]["GoalCounter"]
    assert set(figures) == {"episodes", "goals", "goal_share", "fastest_steps"}
    assert figures["episodes"] >= 3 and 0 <= figures["goals"] <= figures["episodes"]
    assert json.loads((tmp_path / "goals.json").read_text())["extensions"]["GoalCounter"]["episodes"] > 0
    line = [x for x in out.splitlines() if x.startswith("GoalCounter: ")]
    assert line and f"episodes {figures['episodes']}, goals {figures['goals']}" in line[0]
    for name in ("mysystems", "mysystems.goal_counter"):
        sys.modules.pop(name, None)
