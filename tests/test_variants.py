"""--baseline / --optimized: the performance study's two variants on the command line, recorded in the profile."""
import json

import pytest

import app
from config import build_config
from config.variants import OPTIMISATION_FLAGS, variant_of, variant_overrides


def run_headless(tmp_path, capsys, *flags, config_text=None):
    argv = ["--headless", "--frames", "5", "--agents", "2", "--no-progress", "--profile", str(tmp_path / "p.json"),
            "--out", str(tmp_path / "run"), *flags]
    if config_text is not None:
        (tmp_path / "c.toml").write_text(config_text)
        argv += ["--config", str(tmp_path / "c.toml")]
    code = app.main(argv)
    _, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads((tmp_path / "p.json").read_text())
    return {**report["meta"], "config": report["config"]}


def test_baseline_sets_all_three_flags_off_and_is_recorded(tmp_path, capsys):
    meta = run_headless(tmp_path, capsys, "--baseline")
    assert meta["variant"] == "baseline"
    assert all(meta["flags"][flag] is False for flag in OPTIMISATION_FLAGS)
    assert all(meta["config"]["visual"][flag] is False for flag in OPTIMISATION_FLAGS)


def test_optimized_overrides_a_config_file_that_turns_the_flags_off(tmp_path, capsys):
    off = "[visual]\nuse_vectorized_heights = false\nuse_stats_cache = false\nuse_batched_trails = false\n"
    meta = run_headless(tmp_path, capsys, "--optimized", config_text=off)
    assert meta["variant"] == "optimized"
    assert all(meta["flags"][flag] is True for flag in OPTIMISATION_FLAGS)


def test_flags_that_are_neither_all_on_nor_all_off_are_a_mixed_variant(tmp_path, capsys):
    meta = run_headless(tmp_path, capsys, config_text="[visual]\nuse_stats_cache = false\n")
    assert meta["variant"] == "mixed" and meta["flags"]["use_stats_cache"] is False


def test_baseline_and_optimized_exclude_each_other(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = app.main(["--headless", "--baseline", "--optimized", "--frames", "5"])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "not allowed with argument --baseline" in err
    assert out == "" and list(tmp_path.iterdir()) == []


def test_variant_helpers():
    assert variant_of(build_config(overrides=variant_overrides("baseline")).visual) == "baseline"
    assert variant_of(build_config().visual) == "optimized"  # the default
    off = {"visual": {flag: False for flag in OPTIMISATION_FLAGS}}
    assert variant_of(build_config(off).visual) == "baseline"  # a config file alone can select it too
    with pytest.raises(ValueError, match="unknown variant"):
        variant_overrides("fast")
