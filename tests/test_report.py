"""The report command on synthetic run folders whose aggregates are known by hand."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import app
from config import build_config, to_toml
from rl.evaluation import EVAL_COLUMNS
from runfiles.episode_log import COLUMNS


def make_run(folder, *, policy="calf", seed=0, system="point_mass", successes=(), returns=None, evals=None,
             extra=None, torn_tail=False):
    """A run folder as a run writes it: config.toml, episodes.csv (one row per entry of `successes`),
    optionally eval.csv (a list of dicts of eval columns)."""
    folder.mkdir(parents=True)
    over = {"training": {"policy": policy}, "run": {"seed": seed, "out": str(folder)}, "env": {"system": system}}
    for key, value in (extra or {}).items():
        section, name = key.split(".")
        over.setdefault(section, {})[name] = value
    (folder / "config.toml").write_text(to_toml(build_config(overrides=over)))
    n = len(successes)
    returns = np.full(n, -100.0) if returns is None else np.asarray(returns, float)
    lines = [",".join(COLUMNS)]
    for i, ok in enumerate(successes):
        cert = "" if policy == "nominal" else "0.5"
        groups = ",".join(str((i + 1) * 10) for _ in range(len(COLUMNS) - 12))  # the per-group counters
        lines.append(f"{i + 1},{(i + 1) * 50},{returns[i]},50,{'success' if ok else 'timeout'},{cert},0.25,0.25,"
                     f"0.9,1.0,2.0,{0.1 * (i + 1)},{groups}")
    text = "\n".join(lines) + "\n"
    if torn_tail:
        text += f"{n + 1},{(n + 1) * 50},-1"  # a crash mid-write: no newline, too few cells
    (folder / "episodes.csv").write_text(text)
    (folder / "run_summary.json").write_text(json.dumps({"episodes": n, "interrupted": False}))
    if evals:
        rows = [",".join(EVAL_COLUMNS)]
        for e in evals:
            rows.append(",".join(str(e.get(c, "")) for c in EVAL_COLUMNS))
        (folder / "eval.csv").write_text("\n".join(rows) + "\n")
    return folder


def success_pattern(rate: float, n: int = 20) -> list[bool]:
    k = round(rate * n)
    return [True] * k + [False] * (n - k)


def _report(argv, capsys, charts=False):
    if argv and "--reps" not in argv:
        argv = [*argv, "--reps", "1000"]  # enough for the intervals checked here; quicker than 10000
    if argv and not charts:
        argv = [*argv, "--no-charts"]  # the tables are what most tests check; drawing is most of the time
    code = app.main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _summary(report, group, score, task="point_mass"):
    (s,) = [s for s in report["summaries"] if s["group"] == group and s["score"] == score and s["task"] == task]
    return s


def test_final_scores_median_iqr_and_iqm_by_hand(tmp_path, capsys):
    # CALF: last-20 success 0.1, 0.2, 0.3, 0.9 -> median 0.25, quartiles 0.175 / 0.45, IQM mean(0.2, 0.3) = 0.25
    for seed, rate in enumerate([0.1, 0.2, 0.3, 0.9]):
        make_run(tmp_path / "sw" / "calf" / f"seed{seed}", seed=seed, successes=[False] * 5 + success_pattern(rate),
                 returns=[-500.0] * 5 + [-100.0 * (seed + 1)] * 20)
    # nominal: always succeeds, returns -50
    for seed in range(3):
        make_run(tmp_path / "sw" / "nominal" / f"seed{seed}", policy="nominal", seed=seed, successes=[True] * 25,
                 returns=[-50.0] * 25)
    code, out, err = _report([str(tmp_path / "sw")], capsys, charts=True)
    assert code == 0, err
    rep = json.loads((tmp_path / "sw" / "report" / "report.json").read_text())
    s = _summary(rep, "policy=calf", "success")
    assert (s["runs"], s["median"], s["q25"], s["q75"], s["iqm"]) == (4, pytest.approx(0.25), pytest.approx(0.175),
                                                                      pytest.approx(0.45), pytest.approx(0.25))
    assert s["ci_low"] <= s["iqm"] <= s["ci_high"]
    r = _summary(rep, "policy=calf", "return")  # -100, -200, -300, -400 over the last 20 (the first 5 excluded)
    assert (r["median"], r["q25"], r["q75"], r["iqm"]) == (-250.0, -325.0, -175.0, -250.0)
    n = _summary(rep, "policy=nominal", "success")
    assert (n["runs"], n["median"], n["iqm"], n["ci_low"], n["ci_high"]) == (3, 1.0, 1.0, 1.0, 1.0)
    assert _summary(rep, "policy=nominal", "certified_share")["runs"] == 0  # no filter decisions: no score
    md = (tmp_path / "sw" / "report" / "summary.md").read_text()
    assert "| policy=calf | 4 | 25% [18%, 45%] | 25% [" in md
    assert re.search(r"Made with `(python app\.py|calf-ecs) report .+`\.", md) and rep["command"] in md
    for png in ("curves_episodes.png", "final_scores.png"):
        assert (tmp_path / "sw" / "report" / png).read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "sw" / "report" / "curves_eval.png").exists()  # no run evaluated


def test_last_k_and_groups_by_the_settings_that_differ(tmp_path, capsys):
    for nu in (0.01, 1.0):
        for seed in range(2):
            make_run(tmp_path / f"nu{nu}" / f"s{seed}", seed=seed, successes=[True] * 10 + [False] * 10,
                     extra={"calf.nu_bar": nu})
    code, _, err = _report([str(tmp_path / "nu0.01"), str(tmp_path / "nu1.0"), "--last", "10",
                            "--out", str(tmp_path / "rep")], capsys)
    assert code == 0, err
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    groups = sorted({r["group"] for r in rep["runs"]})
    assert groups == ["policy=calf, calf.nu_bar=0.01", "policy=calf, calf.nu_bar=1.0"]
    assert _summary(rep, groups[0], "success")["median"] == 0.0  # the last 10 episodes all failed
    code, _, err = _report([str(tmp_path / "nu0.01"), str(tmp_path / "nu1.0"), "--last", "20", "--group-by",
                            "training.policy", "--out", str(tmp_path / "rep2")], capsys)
    rep = json.loads((tmp_path / "rep2" / "report.json").read_text())
    assert {r["group"] for r in rep["runs"]} == {"policy=calf"}
    assert _summary(rep, "policy=calf", "success")["median"] == 0.5


def test_evaluations_and_environments_stratify_the_pooled_interval(tmp_path, capsys):
    def ev(steps, success, ret, cert):
        return {"episode": steps // 50, "total_steps": steps, "collected": steps, "wall_time": steps / 100,
                "policy": "calf", "starts": 8, "success_rate": success, "mean_return": ret, "mean_length": 50,
                "certified_share": cert, "fallback_share": 0.1, "boundary_rate": 0, "timeout_rate": 1 - success,
                "nominal_success_rate": 1.0, "nominal_mean_return": -100.0, "actor_success_rate": "",
                "actor_mean_return": "", "return_gain": (ret + 100.0) / 100.0}

    for system, final in (("point_mass", 0.0), ("differential_drive", 1.0)):
        for seed in range(3):
            make_run(tmp_path / system / f"s{seed}", seed=seed, system=system, successes=[True] * 5,
                     evals=[ev(100, 0.5, -150.0, 0.2), ev(200, final, -80.0, 0.6)])
    code, _, err = _report([str(tmp_path)], capsys, charts=True)
    assert code == 0, err
    rep = json.loads((tmp_path / "report" / "report.json").read_text())
    assert _summary(rep, "policy=calf", "eval_success_rate", "point_mass")["median"] == 0.0
    assert _summary(rep, "policy=calf", "eval_return_gain", "point_mass")["median"] == pytest.approx(0.2)
    pooled = _summary(rep, "policy=calf", "eval_success_rate", "*")
    # 3 zeros and 3 ones, stratified: every replicate keeps 3 and 3, so the interval is the point
    assert (pooled["runs"], pooled["iqm"], pooled["ci_low"], pooled["ci_high"]) == (6, 0.5, 0.5, 0.5)
    assert (tmp_path / "report" / "curves_eval.png").exists()
    assert "## Across environments" in (tmp_path / "report" / "summary.md").read_text()


def test_a_last_line_cut_short_is_skipped(tmp_path, capsys):
    make_run(tmp_path / "r", successes=[True, False, True], torn_tail=True)
    code, _, err = _report([str(tmp_path / "r")], capsys)
    assert code == 0, err
    rep = json.loads((tmp_path / "r" / "report" / "report.json").read_text())
    assert rep["runs"][0]["episodes"] == 3
    assert _summary(rep, "policy=calf", "success")["median"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("argv,fragment", [
    ([], "the following arguments are required: DIR"),
    (["missing"], "missing: no such folder"),
    (["empty"], "empty: holds no run folder"),
    (["afile"], "afile: not a folder"),
    (["runs", "--group-by", "calf.no_such"], "--group-by: no run has the config key 'calf.no_such'"),
    (["runs", "--group-by", "policy"], "--group-by: no run has the config key 'policy'"),
    (["runs", "--out", "afile"], "--out: afile exists and is not a directory"),
    (["runs", "--out", "/proc/calf-report"], "--out: cannot write in /proc"),
    (["runs", "--last", "0"], "--last"),
    (["runs", "--reps", "5"], "--reps"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(argv, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("x")
    make_run(tmp_path / "runs" / "a", successes=[True])
    before = sorted(p for p in tmp_path.rglob("*"))
    code, out, err = _report(argv, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("app.py report: error: "), err
    assert fragment in err, err
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_the_report_parser_is_covered_by_the_generated_bad_input_cases(tmp_path, capsys, monkeypatch):
    from report.command import build_parser
    from tests.bad_input import flag_cases

    monkeypatch.chdir(tmp_path)
    make_run(tmp_path / "runs" / "a", successes=[True])
    cases = flag_cases(build_parser())
    assert {c[1][0] for c in cases} == {"--out", "--last", "--window", "--group-by", "--reps"}
    for case_id, argv, fragment in cases:
        code, out, err = _report(["runs", *argv], capsys)
        assert code == 2 and fragment in err and err.count("\n") == 1, (case_id, err)
    assert not (tmp_path / "runs" / "report").exists()


def test_nan_scores_are_written_as_null(tmp_path, capsys):
    make_run(tmp_path / "n", policy="nominal", successes=[True, True])
    assert _report([str(tmp_path / "n")], capsys)[0] == 0
    rep = json.loads((tmp_path / "n" / "report" / "report.json").read_text())
    cert = _summary(rep, "policy=nominal", "certified_share")
    assert cert["median"] is None and cert["iqm"] is None and not math.isnan(_summary(rep, "policy=nominal",
                                                                                       "success")["median"])


def test_the_experiment_script_builds_one_sweep_and_reports_it(tmp_path, capsys):
    from experiments.calf_vs_baselines import build_parser, main, sweep_argv

    args = build_parser().parse_args(["--seeds", "0-2", "--systems", "point_mass,differential_drive",
                                      "--budgets", "100,300", "--set", "calf.nu_bar=0.01,1", "--cpus", "2"])
    argv = sweep_argv(args, tmp_path / "runs")
    assert argv[:6] == ["--out", str(tmp_path / "runs"), "--seeds", "0-2", "--policies", "calf,actor,nominal"]
    for pair in (["--set", "env.system=point_mass,differential_drive"], ["--set", "training.episodes=100,300"],
                 ["--set", "calf.nu_bar=0.01,1"], ["--cpus", "2"], ["--train-preset", "quick"], ["--agents", "63"]):
        assert any(argv[i:i + 2] == pair for i in range(len(argv))), pair
    # --analyse-only: the report of what is there, and the charts copied for the docs
    for policy in ("calf", "nominal"):
        make_run(tmp_path / "exp" / "runs" / policy / "seed0", policy=policy, successes=[True, False])
    assert main(["--out", str(tmp_path / "exp"), "--analyse-only", "--figures", str(tmp_path / "docs")]) == 0
    assert (tmp_path / "exp" / "report" / "summary.md").exists()
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["learning_curves_episodes.png",
                                                                     "learning_final_scores.png",
                                                                     "learning_safety.png"]


def _eval_row(success, gain):
    return {"episode": 10, "total_steps": 500, "collected": 500, "wall_time": 1, "policy": "calf", "starts": 100,
            "success_rate": success, "mean_return": -300, "mean_length": 50, "certified_share": 0.6,
            "fallback_share": 0.4, "boundary_rate": 0, "timeout_rate": 0.5, "nominal_success_rate": 1,
            "nominal_mean_return": -350, "actor_success_rate": 0.4, "actor_mean_return": -400, "return_gain": gain}


def test_intervals_from_few_runs_are_flagged_in_the_tables_and_the_chart(tmp_path, capsys):
    """Two seeds give a bootstrap 'interval' that only spans the two scores: the report says so."""
    for seed, rate in enumerate([0.3, 0.6]):
        make_run(tmp_path / "sw" / "calf" / f"seed{seed}", seed=seed, successes=success_pattern(rate, 25),
                 evals=[_eval_row(0.5 + 0.1 * seed, 0.1)])
    for seed in range(6):
        make_run(tmp_path / "sw" / "nominal" / f"seed{seed}", policy="nominal", seed=seed, successes=[True] * 25,
                 evals=[_eval_row(1.0, 0.0)])
    code, _, err = _report([str(tmp_path / "sw")], capsys, charts=True)
    assert code == 0, err
    md = (tmp_path / "sw" / "report" / "summary.md").read_text()
    assert "**Warning: few runs.** policy=calf on point_mass (2 runs): with fewer than 5 runs" in md
    ci_rows = [line for line in md.splitlines() if "IQM" not in line and "] |" in line]  # the tables with intervals
    calf_rows = [line for line in ci_rows if line.startswith("| policy=calf | 2 |")]
    nominal_rows = [line for line in ci_rows if line.startswith("| policy=nominal | 6 |")]
    assert calf_rows and all("(few runs)" in line for line in calf_rows)
    assert nominal_rows and not any("(few runs)" in line for line in nominal_rows)  # 6 runs: no warning
    assert (tmp_path / "sw" / "report" / "final_scores.png").read_bytes()[:4] == b"\x89PNG"


def test_chart_titles_are_wrapped_inside_the_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from report.charts import _title

    for width in (6.2, 11.4):  # one environment's column, two
        fig = Figure(figsize=(width, 6))
        FigureCanvasAgg(fig)
        fig.add_subplot(1, 1, 1)
        _title(fig, "Final scores: dots are runs; black tick is the IQM, the bar its 95 % stratified-bootstrap "
               "interval", note="Dashed: an interval from 2 runs (fewer than 5) means little: a bootstrap can only "
               "recombine those few scores. Read the dots; run more seeds for an interval.")
        canvas = fig.canvas
        canvas.draw()
        frame = fig.bbox
        renderer = canvas.get_renderer()
        for text in [fig._suptitle, *fig.texts]:
            box = text.get_window_extent(renderer)
            assert box.x0 >= frame.x0 and box.x1 <= frame.x1, (width, text.get_text())  # not clipped at a side
            assert box.y0 >= frame.y0 and box.y1 <= frame.y1
            assert not box.overlaps(fig.axes[0].get_window_extent(renderer))  # nor over the axes


def test_the_reward_plot_shows_the_evaluations_and_its_legend_hides_no_point(tmp_path):
    from runfiles.reward_plot import RewardPlot

    plot = RewardPlot(tmp_path / "rewards.png", "point_mass, policy calf, seed 1")
    returns = np.linspace(-3000, -400, 30)
    evals = np.array([(10, -1600.0, -1550.0), (20, -1200.0, -1550.0), (30, -350.0, -1550.0)])
    path = plot.update(returns, returns > -800, 1, evals)
    assert path.read_bytes()[:4] == b"\x89PNG"
    x, y = plot.evals.get_data()
    assert list(x) == [10, 20, 30] and list(y) == [-1600.0, -1200.0, -350.0]
    assert list(plot.nominal.get_data()[1]) == [-1550.0] * 3
    lo, hi = plot.ax.get_ylim()
    assert lo < -3000 and hi > -350  # every point, the last evaluation included, is inside the axes
    renderer = plot.fig.canvas.get_renderer()
    legend = plot.fig.legends[0].get_window_extent(renderer)
    assert not legend.overlaps(plot.ax.get_window_extent(renderer))  # under the axes, over no point
    assert legend.y0 >= 0 and legend.x0 >= 0 and legend.x1 <= plot.fig.bbox.x1


def test_no_charts_writes_the_tables_without_drawing(tmp_path, capsys):
    for seed in (1, 2):
        make_run(tmp_path / "sw" / f"seed{seed}", seed=seed, successes=success_pattern(0.5),
                 evals=[{"episode": 20, "total_steps": 1000, "policy": "calf", "success_rate": 0.5}])
    code, out, err = _report([str(tmp_path / "sw")], capsys)
    assert code == 0, err
    report = tmp_path / "sw" / "report"
    assert sorted(p.name for p in report.iterdir()) == ["report.json", "summary.md"]
    md = (report / "summary.md").read_text()
    assert "## Charts" not in md and ".png" not in md and "| " in md
    assert "(report.json)" in out


def test_keys_that_differ_only_between_environments_do_not_split_groups(tmp_path, capsys):
    """The pendulum's own dwell and budget, the point mass's own calf.rejected_proposals: those describe
    the task; a setting that differs between runs of one environment still names the groups."""
    for system in ("point_mass", "pendulum", "differential_drive"):
        for seed in range(2):
            make_run(tmp_path / system / f"s{seed}", seed=seed, system=system, successes=[True] * 5,
                     extra={"env.max_steps_per_episode": {"point_mass": 750}.get(system, 1000)})
    make_run(tmp_path / "point_mass" / "nu", seed=9, successes=[True] * 5, extra={"calf.nu_bar": 1.0})
    code, _, err = _report([str(tmp_path)], capsys)
    assert code == 0, err
    rep = json.loads((tmp_path / "report" / "report.json").read_text())
    assert sorted({r["group"] for r in rep["runs"]}) == ["policy=calf, calf.nu_bar=0.01", "policy=calf, calf.nu_bar=1.0"]
    assert {r["group"] for r in rep["runs"] if r["environment"] == "pendulum"} == {"policy=calf, calf.nu_bar=0.01"}
