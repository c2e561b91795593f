"""bench/noisy_nominal.py: without noise it is the nominal policy (every start reaches the goal),
with noise the actions stay inside the bounds, and bad arguments are refused."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import noisy_nominal  # noqa: E402

from config import build_config  # noqa: E402
from envs import make_environment  # noqa: E402


def test_without_noise_every_start_reaches_the_goal(tmp_path):
    out = tmp_path / "n.json"
    assert noisy_nominal.main(["--noise", "0", "--starts", "8", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert {r["environment"] for r in rows} == set(noisy_nominal.BUDGETS)
    assert all(r["success_rate"] == 1.0 for r in rows), rows


def test_noisy_actions_stay_inside_the_bounds():
    env = make_environment(build_config(overrides={"env": {"system": "differential_drive"}}).env)
    policy = noisy_nominal.noisy_nominal(env, 5.0, np.random.default_rng(1))
    states = np.random.default_rng(2).uniform(-2, 2, (500, env.state_dim))
    actions, _ = policy.act(states)
    assert (actions <= env.action_high).all() and (actions >= env.action_low).all()
    assert len(np.unique(actions[:, 0])) > 2  # noise was added, not only the clipped nominal


@pytest.mark.parametrize("argv", [["--starts", "0"], ["--noise", "-1"], ["--noise", "nan"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as e:
        noisy_nominal.main(argv)
    assert e.value.code == 2 and "--starts must be at least 1" in capsys.readouterr().err
