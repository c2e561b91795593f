"""`app.py report` on damaged run folders: every file is read within bounds, a damaged run is named in
one line and left out while the others are reported, and names from run data stay text in the charts
and in summary.md."""
from __future__ import annotations

import json
import os

import pytest

import app
from tests.test_report import make_run, success_pattern


def _replace(name, data):
    def damage(run):
        p = run / name
        if p.is_dir() and not p.is_symlink():
            p.rmdir()
        elif os.path.lexists(p):
            p.unlink()
        data(p) if callable(data) else p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return damage


def _append(data):
    def damage(run):
        with open(run / "episodes.csv", "ab") as f:
            f.write(data)
    return damage


DAMAGE = {  # how the run is damaged -> (damage, fragment of its warning, whether the run is still reported)
    "episodes.csv with NUL bytes": (_append(b"21,1050,\x00\x00,50,timeout,,,,,,,1\n"), "1 damaged line skipped", True),
    "episodes.csv with a 200 kB field": (_append(b"21,1050," + b"9" * 200_000 + b",50,timeout,,,,,,,1\n"),
                                         "1 damaged line skipped", True),
    "episodes.csv missing columns": (_replace("episodes.csv", "episode,total_steps\n1,20\n"),
                                     "not an episodes table (no 'return'", False),
    "episodes.csv empty": (_replace("episodes.csv", ""), "empty or without a header line", False),
    "episodes.csv not UTF-8": (_replace("episodes.csv", b"episode,\xff\n"), "not UTF-8 text", False),
    "episodes.csv a directory": (_replace("episodes.csv", lambda p: p.mkdir()), "is a directory", False),
    "episodes.csv a FIFO": (_replace("episodes.csv", os.mkfifo), "is a FIFO", False),
    "episodes.csv /dev/zero": (_replace("episodes.csv", lambda p: os.symlink("/dev/zero", p)),
                               "is a character device", False),
    "episodes.csv far too big": (_replace("episodes.csv", lambda p: (p.write_text("x"), os.truncate(p, 3 << 30))),
                                 "more than the 512.0 MiB", False),
    "eval.csv empty": (_replace("eval.csv", ""), "eval.csv: empty", False),
    "eval.csv a directory": (_replace("eval.csv", lambda p: p.mkdir()), "is a directory", False),
    "eval.csv without total_steps": (_replace("eval.csv", "episode,success_rate\n1,0.5\n"), "no 'total_steps'", False),
    "run_summary.json deeply nested": (_replace("run_summary.json", "[" * 200_000 + "]" * 200_000),
                                       "nested too deeply", False),
    "run_summary.json a FIFO": (_replace("run_summary.json", os.mkfifo), "is a FIFO", False),
    "run_summary.json /dev/zero": (_replace("run_summary.json", lambda p: os.symlink("/dev/zero", p)),
                                   "is a character device", False),
    "run_summary.json a list": (_replace("run_summary.json", "[1, 2]"), "not a JSON object", False),
    "config.toml sections not tables": (_replace("config.toml", 'run = 5\nenv = "x"\n'), "[run] is not a table", False),
    "config.toml a FIFO": (_replace("config.toml", os.mkfifo), "is a FIFO", False),
    "config.toml deeply nested": (_replace("config.toml", "x = " + "[" * 100_000 + "]" * 100_000 + "\n"),
                                  "nested too deeply", False),
    "config.toml 50 MB": (_replace("config.toml", lambda p: (p.write_text("#"), os.truncate(p, 50 << 20))),
                          "more than the 1.0 MiB", False),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_run_is_named_in_one_line_and_the_others_are_reported(case, tmp_path, capsys):
    damage, fragment, kept = DAMAGE[case]
    evals = [{"episode": 20, "total_steps": 1000, "policy": "calf", "success_rate": 0.5}]
    for seed in (1, 2):
        make_run(tmp_path / "runs" / f"good{seed}", seed=seed, successes=success_pattern(0.5), evals=evals)
    damage(make_run(tmp_path / "runs" / "bad", seed=3, successes=success_pattern(0.5), evals=evals))
    code = app.main(["report", str(tmp_path / "runs"), "--reps", "200", "--no-charts"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err, err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "runs/bad" in warnings[0] and fragment in warnings[0], err
    report = json.loads((tmp_path / "runs" / "report" / "report.json").read_text())
    assert len(report["runs"]) == (3 if kept else 2)


def test_when_every_run_is_damaged_the_report_is_one_line_and_writes_nothing(tmp_path, capsys):
    (make_run(tmp_path / "runs" / "bad", successes=success_pattern(0.5)) / "episodes.csv").write_bytes(b"\x00")
    code = app.main(["report", str(tmp_path / "runs")])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "no usable run" in err and "runs/bad" in err, err
    assert not (tmp_path / "runs" / "report").exists()


def test_names_from_run_data_are_text_in_charts_and_summary_md(tmp_path, capsys):
    """A `$\\frac{` reaches matplotlib as text (no mathtext), and HTML, table rows and headings in
    group or environment names stay inside their cell of summary.md."""
    evil = "$\\frac{x<script>alert(1)</script>|fake|row|\n# Injected"
    make_run(tmp_path / "runs" / "a", policy="calf", successes=success_pattern(0.5))
    b = make_run(tmp_path / "runs" / "b", policy="actor", successes=success_pattern(0.5))
    text = (b / "config.toml").read_text().replace('policy = "actor"', f"policy = {json.dumps(evil)}")
    (b / "config.toml").write_text(text.replace('system = "point_mass"', 'system = "$x^{$"'))
    code = app.main(["report", str(tmp_path / "runs"), "--reps", "200"])
    _, err = capsys.readouterr()
    assert code == 0, err
    md = (tmp_path / "runs" / "report" / "summary.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert not any(line.startswith("# Injected") for line in md.splitlines())
    rows = [line for line in md.splitlines() if "Injected" in line]  # table rows, and the few-runs warning
    assert rows and all(line.startswith(("| ", "**Warning")) and "\\|fake\\|row\\|" in line for line in rows), rows
    assert "## \\$x^{\\$" in md
    for chart in ("curves_episodes.png", "final_scores.png"):
        assert (tmp_path / "runs" / "report" / chart).stat().st_size > 1000


def test_a_tree_of_any_depth_is_searched_without_recursion_and_non_finite_cells_are_damage(tmp_path, capsys):
    deep = tmp_path / "runs"
    for _ in range(40):  # deeper than the search goes: named, not a RecursionError
        deep = deep / "a"
    deep.mkdir(parents=True)
    good = make_run(tmp_path / "runs" / "good", successes=success_pattern(0.5))
    with open(good / "episodes.csv", "a") as f:
        f.write("21,1050,inf,50,timeout,0.5,0.25,0.25,0.9,1.0,2.0,1\n")
    code = app.main(["report", str(tmp_path / "runs"), "--reps", "200", "--no-charts"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "more than 32 levels down were not searched" in err and "1 damaged line skipped" in err, err
