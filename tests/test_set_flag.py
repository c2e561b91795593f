"""`--set section.key=value`: the same validation as the config file, one-line errors with exit 2
and nothing written, and values that reach the run's config."""
from __future__ import annotations

import pytest

import app
from cli.arguments import overrides_from_args, parse_args
from config import build_config, load_config
from config.assignments import assignments_to_overrides, parse_value, split_values
from tests.bad_input import BAD_ASSIGNMENTS, config_key_cases, set_key_cases
from tests.test_bad_input import FLAG_OF_KEY, _failures, in_tmp, run_refused  # noqa: F401 - fixture
from validation.validators import ConfigError


def test_every_bad_config_value_is_refused_by_set_too(in_tmp, capsys):  # noqa: F811
    def check(argv, fragment):
        err = run_refused(argv, in_tmp, capsys, leave=[FLAG_OF_KEY.get(fragment)])
        assert fragment in err and "--set" in err, err

    cases = set_key_cases()
    assert len(cases) == len(config_key_cases())
    assert _failures(cases, check) == []


@pytest.mark.parametrize("text", BAD_ASSIGNMENTS)
def test_malformed_assignments_are_one_line_errors(text, in_tmp, capsys):  # noqa: F811
    err = run_refused(["--set", text], in_tmp, capsys)
    assert "--set" in err


def test_the_file_and_set_give_the_same_message_for_the_same_bad_value(tmp_path):
    (tmp_path / "c.toml").write_text("[calf]\nnu_bar = -1\n")
    with pytest.raises(ConfigError) as from_file:
        load_config(tmp_path / "c.toml")
    with pytest.raises(ConfigError) as from_set:
        assignments_to_overrides(["calf.nu_bar=-1"])
    # the file names itself, --set names the assignment; the rest is the validator's own words
    assert str(from_file.value).split(": ", 1)[1] == str(from_set.value).split(": ", 1)[1] \
        == "calf.nu_bar must be >= 0.0, got -1.0"


def test_set_values_reach_the_config_like_the_file_and_win_over_it(tmp_path):
    (tmp_path / "c.toml").write_text("[calf]\nnu_bar = 3.0\n[env]\nsystem = 'differential_drive'\n")
    args = parse_args(["--config", str(tmp_path / "c.toml"), "--set", "calf.nu_bar=1", "--set",
                       "env.system=point_mass", "--set", "training.policy=\"actor\"", "--set", "run.tensorboard=true",
                       "--set", "td3.hidden_size=32"])
    cfg = load_config(args.config, overrides=overrides_from_args(args))
    same = build_config({"calf": {"nu_bar": 1.0}, "env": {"system": "point_mass"}, "training": {"policy": "actor"},
                         "run": {"tensorboard": True}, "td3": {"hidden_size": 32}})
    assert cfg == same
    assert isinstance(cfg.calf.nu_bar, float) and cfg.calf.nu_bar == 1.0


def test_cross_key_checks_see_set_values(in_tmp, capsys):  # noqa: F811
    err = run_refused(["--set", "env.reset_range=6"], in_tmp, capsys)
    assert "reset_range (6.0) must be smaller than boundary_limit (5.0)" in err
    # and both together are fine
    cfg = load_config(overrides=assignments_to_overrides(["env.reset_range=6", "env.boundary_limit=10"]))
    assert (cfg.env.reset_range, cfg.env.boundary_limit) == (6.0, 10.0)


def test_a_key_given_by_set_and_by_its_flag_or_twice_is_refused(in_tmp, capsys):  # noqa: F811
    assert "run.seed" in run_refused(["--seed", "3", "--set", "run.seed=4"], in_tmp, capsys)
    assert "twice" in run_refused(["--set", "calf.nu_bar=1", "--set", "calf.nu_bar=2"], in_tmp, capsys)


def test_values_are_read_as_toml_else_as_bare_text():
    assert parse_value("1") == 1 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value('"a b"') == "a b" and parse_value("point_mass") == "point_mass"
    assert parse_value("runs/x") == "runs/x"
    assert split_values("1,5") == ["1", "5"] and split_values('"a,b",c') == ['"a,b"', "c"]


@pytest.mark.parametrize("text,fragment", [
    ("plugins.x=1", "plugins is not a section of settings"),
    ("preset.x=low", "preset is not a section of settings (it is a top-level key of the config file); on the "
                     "command line use --preset"),
    ("train_preset.x=quick", "use --train-preset"),
    ("calf.nu_bar=" + "[" * 5000 + "1" + "]" * 5000, "nested too deeply"),
    ("env.options=" + "{a=" * 3000 + "1" + "}" * 3000, "nested too deeply"),
    ("calf.nu_bar=" + "[" * 40 + "1" + "]" * 40, "nested too deeply"),
    ("calf.nu_bar=1.0\ncalf.x = 2", "the value holds a newline; a value is one line"),
    ("env.system=point_mass\rx", "holds a newline"),
    ("calf.nu_bar=1\x1b[2J", "the control character"),
    ("calf.nu_bar=1.0 # was 2", "there is more after the value 1.0 (a comment?)"),
], ids=lambda v: v[:30] if isinstance(v, str) else None)
def test_a_value_is_one_whole_line_of_a_real_section_or_refused_in_one_line(text, fragment, in_tmp, capsys):  # noqa: F811
    """Never a KeyError, a RecursionError, or a value cut silently at a newline or a comment."""
    err = run_refused(["--set", text], in_tmp, capsys)
    assert fragment in err, err
    with pytest.raises(ConfigError, match="--set"):  # the sweep's variants go through the same parsing
        assignments_to_overrides([text])


def test_values_that_look_like_comments_but_are_text_stay_values():
    assert parse_value('"a # b"') == "a # b" and parse_value("my#name") == "my#name"
    assert parse_value("[1, 2]") == [1, 2] and parse_value("{a = 1}") == {"a": 1} and parse_value("1e3") == 1000.0


@pytest.mark.parametrize("argv,fragment", [
    (["--headless", "--set", "visual.warp_auto=true"], "--warp auto keeps a rendered view at 20 FPS (visual.warp_auto"),
    (["--headless", "--set", "run.record=v.mp4"], "--record needs a rendered run"),
    (["--offscreen", "--set", "run.record=v.txt"], "--record: v.txt must end in .mp4"),
    (["--offscreen", "--config", "rec.toml"], "--record: v.avi must end in .mp4"),
    (["--headless", "--config", "warp.toml"], "--warp auto keeps a rendered view"),
])
def test_view_settings_are_checked_however_they_are_given(argv, fragment, in_tmp, capsys):  # noqa: F811
    (in_tmp / "rec.toml").write_text('[run]\nrecord = "v.avi"\n')
    (in_tmp / "warp.toml").write_text("[visual]\nwarp_auto = true\n")
    err = run_refused(argv, in_tmp, capsys, leave=["--out"] if "--config" in argv else ())
    assert fragment in err, err


def test_a_sweep_refuses_the_same_assignments_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text, fragment in (("plugins.x=1", "plugins is not a section"),
                           ("calf.nu_bar=" + "[" * 3000 + "1" + "]" * 3000, "nested too deeply"),
                           ("calf.nu_bar=1\nx=2,3", "holds a newline")):
        code = app.main(["sweep", "--out", "o", "--set", text, "--dry-run"])
        out, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1 and fragment in err and out == "", err
    assert list(tmp_path.iterdir()) == []
