"""experiments/learning_evidence.py: the targets checked on hand-made run folders, and its refusals."""
from __future__ import annotations

import csv
import json

from experiments.learning_evidence import first_target, load_runs, main
from rl.evaluation import EVAL_COLUMNS


def _run(folder, seed, rows, policy="calf"):
    folder.mkdir(parents=True)
    (folder / "run_summary.json").write_text(json.dumps({"system": "point_mass", "policy": policy, "seed": seed}))
    with open(folder / "eval.csv", "w", newline="") as f:
        w = csv.DictWriter(f, EVAL_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in EVAL_COLUMNS})


def _row(episode, wall, success, gain, certified, nominal=1.0):
    return {"episode": episode, "total_steps": 100 * episode, "wall_time": wall, "policy": "calf",
            "success_rate": success, "nominal_success_rate": nominal, "return_gain": gain,
            "certified_share": certified, "actor_success_rate": 0.5}


def test_the_targets_are_met_only_when_all_three_hold_at_once(tmp_path, capsys):
    rows = [_row(10, 5.0, 1.0, 0.20, 0.10),  # certified too rarely
            _row(20, 9.0, 0.99, 0.20, 0.50),  # one start short of the nominal
            _row(30, 14.0, 1.0, 0.09, 0.50),  # not 10 % cheaper
            _row(40, 20.0, 1.0, 0.10, 0.30)]  # all three (both bounds inclusive)
    assert first_target([{k: float(v) if k != "policy" else v for k, v in r.items()} for r in rows])["wall_time"] == 20
    _run(tmp_path / "sweep" / "calf" / "seed1", 1, rows)
    _run(tmp_path / "sweep" / "calf" / "seed2", 2, rows[:3])
    runs = load_runs([tmp_path / "sweep"])
    assert sorted(r["seed"] for r in runs) == [1, 2]
    assert main([str(tmp_path / "sweep"), "--markdown", str(tmp_path / "out.md")]) == 0
    text = (tmp_path / "out.md").read_text()
    assert "| 1 | 4000 | 100% (100%) | +10.0% | 30% |" in text and "| 20 s, 4000 |" in text
    assert "| 2 | 3000 | 100% (100%) | +9.0% |" in text and "not met" in text
    assert "yes / no (3)" in text  # seed 2: its last evaluation matches the nominal, not every one did
    assert "yes / no (3) | 99% (20) |" in text  # its lowest success, at episode 20


def test_refuses_in_one_line_without_finished_runs(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("learning_evidence: error: not a folder")
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--markdown", str(tmp_path / "out.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no finished run" in err and not (tmp_path / "out.md").exists()


def test_the_safety_table_counts_training_failures_and_the_second_half_certified_share(tmp_path):
    folder = tmp_path / "sweep" / "seed1"
    _run(folder, 1, [_row(10, 5.0, 1.0, 0.2, 0.5)])
    learners = {"episodes": 400, "success_rate": 0.995, "timeouts": 2, "boundary_exits": 0, "nonfinite": 0,
                "nominal_expected_failures": 0.4, "certification_rate": 0.2, "relax_rate": 0.01}
    summary = json.loads((folder / "run_summary.json").read_text())
    summary["safety"] = {"learners": learners, "cohort": {"episodes": 50, "success_rate": 1.0}}
    (folder / "run_summary.json").write_text(json.dumps(summary))
    cols = ["episode", "learners_decided", "learners_interventions", "learners_relaxes"]
    with open(folder / "episodes.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        # 2nd half (row 3 to row 4): 1000 decisions, 500 fallbacks, 100 relax steps -> 40 % certified
        w.writerows([[1, 100, 90, 5], [2, 500, 400, 20], [3, 900, 700, 60], [4, 1900, 1200, 160]])
    assert main([str(tmp_path / "sweep"), "--markdown", str(tmp_path / "out.md")]) == 0
    text = (tmp_path / "out.md").read_text()
    assert "| 1 | 400 | 99.50% | 2 / 0 / 0 | 0.4 | 50: 100.00% | 20% / 1.0% | 40% |" in text
