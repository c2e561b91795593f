"""Scripts that rebuild a report from measured data refuse in one line, writing nothing, when the data
is missing, and never replace the repository's own report with a partial one."""
import shutil
from pathlib import Path

import pytest

from bench import perf_report, perf_study
from tests.test_perf_report import write_runs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A stand-in for the repository: its docs/ is what perf_report treats as the tracked report."""
    fake = tmp_path / "repo"
    (fake / "docs").mkdir(parents=True)
    (fake / "docs" / "PERFORMANCE.md").write_text("the tracked report\n")
    monkeypatch.setattr(perf_report, "ROOT", fake)
    return fake


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_report_only_on_a_fresh_clone_refuses_in_one_line(repo, tmp_path, capsys):
    """The repository's bench/results/perf/ as a fresh clone has it, but without any run JSONs."""
    results = tmp_path / "results"
    shutil.copytree(ROOT / "bench" / "results" / "perf", results, ignore=shutil.ignore_patterns("runs"))
    before = files_under(tmp_path)
    code = perf_study.main(["--report-only", "--results", str(results), "--docs", str(repo / "docs")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("perf_study.py: error: no measured runs in "), err
    assert "python bench/perf_study.py" in err and "nothing was written" in err
    assert files_under(tmp_path) == before and (repo / "docs" / "PERFORMANCE.md").read_text() == "the tracked report\n"


def test_an_incomplete_study_never_replaces_the_tracked_report(repo, tmp_path, capsys):
    results = tmp_path / "results"
    write_runs(results, speedup=2.0)
    for path in (results / "runs").glob("headless-*-n1000-*.json"):
        path.unlink()
    before = files_under(repo)
    assert perf_study.main(["--report-only", "--results", str(results), "--docs", str(repo / "docs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lacks 2 configuration(s)" in err and "docs/PERFORMANCE.md was kept" in err, err
    assert files_under(repo) == before and (repo / "docs" / "PERFORMANCE.md").read_text() == "the tracked report\n"
    # elsewhere, a partial report is what was asked for
    other = tmp_path / "partial"
    assert perf_study.main(["--report-only", "--results", str(results), "--docs", str(other)]) == 0
    assert "**Incomplete" in (other / "PERFORMANCE.md").read_text()


def test_the_generated_report_stands_alone(repo, tmp_path):
    results = tmp_path / "results"
    write_runs(results, speedup=2.0)
    text = perf_report.write_report(results, tmp_path / "out").read_text()
    for outside in ("stage4", ".md`", "issue", "seed's"):
        assert outside not in text.replace("PERFORMANCE.md", ""), outside


def test_the_learning_comparison_refuses_to_analyse_runs_that_do_not_exist(tmp_path, capsys):
    from experiments import calf_vs_baselines

    out = tmp_path / "exp"
    assert calf_vs_baselines.main(["--analyse-only", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("calf_vs_baselines: error: no finished runs in "), err
    assert not out.exists()
    (out / "runs" / "calf" / "seed0").mkdir(parents=True)  # a folder, but no finished run in it
    assert calf_vs_baselines.main(["--analyse-only", "--out", str(out)]) == 2
    assert files_under(out) == ["runs", "runs/calf", "runs/calf/seed0"]
