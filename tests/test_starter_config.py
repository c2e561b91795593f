"""`--write-config PATH`: a commented starter file that loads back to the command line's configuration,
describes every key, and follows the rules for outputs (no silent overwrite, bad paths refused)."""
import re

import attrs
import pytest

import app
from config import build_config, load_config
from config.key_docs import KEYS, TOP_LEVEL
from config.schema import SECTIONS
from config.starter import starter_toml


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def active_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith(("#", "["))]


def test_every_key_is_described_and_no_description_is_stale():
    assert set(KEYS) == set(SECTIONS), "config/key_docs.py: one table per config section"
    for name, cls in SECTIONS.items():
        fields = {f.name for f in attrs.fields(cls)}
        missing, stale = fields - set(KEYS[name]), set(KEYS[name]) - fields
        assert not missing, f"config/key_docs.py: describe {', '.join(f'{name}.{k}' for k in sorted(missing))}"
        assert not stale, f"config/key_docs.py: {', '.join(f'{name}.{k}' for k in sorted(stale))} no longer exist"
    assert set(TOP_LEVEL) == {"preset", "train_preset"}


def test_the_plain_starter_file_sets_nothing_and_loads_to_the_defaults(in_tmp, capsys):
    assert app.main(["--write-config", "my.toml"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wrote my.toml: ") and out.rstrip().endswith("run with: python app.py --config my.toml")
    text = (in_tmp / "my.toml").read_text()
    assert active_lines(text) == []  # every setting a comment
    assert load_config("my.toml") == build_config()
    for name, cls in SECTIONS.items():  # every key appears, with its meaning and what it accepts
        assert f"[{name}]" in text
        for f in attrs.fields(cls):
            assert re.search(rf"^# {re.escape(f.name)} = ", text, re.M), f"{name}.{f.name} missing"
    assert "# integration step in seconds (RK4); number in (0, 0.1]\n# dt = 0.01\n" in text
    assert "# who acts: the CALF filter, the bare TD3 actor, or the nominal policy alone; --policy; one of calf, " \
           "actor, nominal\n# policy = \"calf\"\n" in text


def test_what_the_command_line_sets_is_active_and_the_file_loads_back_to_the_same_config(in_tmp, capsys):
    argv = ["--preset", "low", "--agents", "30", "--seed", "3", "--set", "calf.nu_bar=1.0", "--p-relax", "0.5",
            "--plugin", "examples.lyapunov_monitor:LyapunovMonitor:after=ControlSystem"]
    assert app.main([*argv, "--write-config", "mine.toml"]) == 0
    text = (in_tmp / "mine.toml").read_text()
    assert sorted(active_lines(text)) == sorted([
        'preset = "low"', "agents = 30", "seed = 3", "nu_bar = 1.0", "p_relax_init = 0.5",
        'system = "examples.lyapunov_monitor:LyapunovMonitor"', 'after = "ControlSystem"'])
    assert "# agents = " not in text and "# trail_max_length = 300" in text  # the low preset's, as a comment
    from cli.arguments import overrides_from_args, parse_args
    from plugins.loading import parse_plugin_arg

    args = parse_args(argv)
    expected = load_config(preset=args.preset, overrides=overrides_from_args(args),
                           extra_plugins=[parse_plugin_arg(p) for p in args.plugin])
    assert load_config("mine.toml") == expected
    assert text.startswith("# calf-ecs configuration file\n# written by: python app.py --preset low --agents 30")


def test_an_existing_file_is_kept_unless_overwrite(in_tmp, capsys):
    (in_tmp / "my.toml").write_text("# mine\n")
    assert app.main(["--write-config", "my.toml"]) == 2
    err = capsys.readouterr().err
    assert err == "app.py: error: --write-config: my.toml exists; give another name, or --overwrite to replace it\n"
    assert (in_tmp / "my.toml").read_text() == "# mine\n"
    assert app.main(["--write-config", "my.toml", "--overwrite", "--seed", "5"]) == 0
    assert load_config("my.toml").run.seed == 5
    assert not list(in_tmp.glob(".*"))  # written atomically: no temp file left


@pytest.mark.parametrize("argv, fragment", [
    (["--write-config", "nowhere/my.toml"], "--write-config"),
    (["--write-config", "."], "is a directory"),
    (["--write-config", "x.toml", "--list-systems"], "exclude each other"),
    (["--write-config", "x.toml", "--agents", "-2"], "--agents"),
])
def test_bad_uses_are_one_line_and_write_nothing(in_tmp, capsys, argv, fragment):
    assert app.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err
    assert list(in_tmp.iterdir()) == []


def test_a_value_the_starter_cannot_show_as_a_setting_still_round_trips():
    cfg = build_config(overrides={"run": {"out": 'runs/"quoted" name', "frames": 10}, "env": {"dt": 0.005}})
    import tomllib

    text = starter_toml(cfg, "test")
    data = tomllib.loads(text)
    assert build_config(data) == cfg
