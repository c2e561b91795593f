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
