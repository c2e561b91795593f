"""A config file is parsed without a traceback whatever it holds: deep nesting is refused before
anything recurses through it, a UTF-8 byte-order mark is skipped and UTF-16 named, and an error
quoting a key with a newline or an escape character is still one line. A run's config.toml
records any value a plugin's options can hold (strings with control characters, nested tables,
dates, odd keys) so that it loads back to the same config."""
from __future__ import annotations

import datetime

import attrs
import pytest

import app
from config import build_config, load_config, to_toml
from config.loader import MAX_DEPTH
from config.schema import PluginSpec


def one_line_refusal(tmp_path, monkeypatch, capsys, text: bytes | str, fragment: str) -> str:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    code = app.main(["--config", "c.toml", "--headless", "--frames", "2", "--out", "run"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("app.py: error: "), err
    assert fragment in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]
    return err


@pytest.mark.parametrize("text", [
    "x = " + "[" * 50_000 + "]" * 50_000,                              # arrays 50 000 deep
    "x = " + "{a = " * 3_000 + "1" + "}" * 3_000,                       # inline tables 3 000 deep
    "[[plugins]]\nsystem = 'a:B'\noptions = {a = " + "[" * 40 + "]" * 40 + "}\n",  # deep, but not for the parser
    "\n".join(f"[{'.'.join(['t'] * 40)}]" for _ in range(1)),          # a table header 40 levels deep
])
def test_deeply_nested_values_are_refused_in_one_line(tmp_path, monkeypatch, capsys, text):
    one_line_refusal(tmp_path, monkeypatch, capsys, text, f"nested too deeply (at most {MAX_DEPTH} levels)")


def test_a_utf8_byte_order_mark_is_skipped(tmp_path):
    (tmp_path / "c.toml").write_bytes(b"\xef\xbb\xbf[run]\nseed = 9\n")
    assert load_config(tmp_path / "c.toml").run.seed == 9


@pytest.mark.parametrize("bom,name", [(b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"), (b"\xff\xfe\x00\x00", "UTF-32")])
def test_utf16_and_utf32_files_are_named_as_such(tmp_path, monkeypatch, capsys, bom, name):
    one_line_refusal(tmp_path, monkeypatch, capsys, bom + "[run]\n".encode("utf-16-le"), f"encoded as {name}")


@pytest.mark.parametrize("text,fragment", [
    ('[visual]\n"a\\nb" = 1\n', "unknown key 'visual.a\\nb'"),
    ('[visual]\n"a\\u001b[31mred" = 1\n', "unknown key 'visual.a\\x1b[31mred'"),
    ('"sec\\ntion" = 1\n', "unknown section or key 'sec\\ntion'"),
    ('preset = "med\\rium"\n', "unknown preset 'med\\rium'"),
    ('[[plugins]]\nsystem = "examples.lyapunov_monitor:LyapunovMonitor"\noptions = {"x\\ny" = 1}\n', "x\\ny"),
])
def test_an_error_quoting_a_key_with_control_characters_is_still_one_line(tmp_path, monkeypatch, capsys, text,
                                                                        fragment):
    one_line_refusal(tmp_path, monkeypatch, capsys, text, fragment)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path, monkeypatch, capsys):
    one_line_refusal(tmp_path, monkeypatch, capsys, b"[run]\nseed = 1\n# caf\xe9\n", "not UTF-8 text (byte 0xe9 on line 3)")


def test_the_runs_config_records_any_plugin_option_and_loads_back_equal(tmp_path):
    options = {"text": 'line\nbreak\t"quoted" \\ back \x01 \u00e9', "nested": {"odd key": [1, 2.5, -0.0], "t": True},
               "when": datetime.datetime(2024, 5, 6, 7, 8, 9), "day": datetime.date(2024, 1, 2), "empty": {},
               "big": 2**62, "inf": float("inf")}
    cfg = attrs.evolve(build_config(overrides={"run": {"out": "r\u00e9 \"q\" \\\\ x", "seed": 3}}),
                       plugins=[PluginSpec(system="examples.lyapunov_monitor:LyapunovMonitor", options=options)])
    path = tmp_path / "config.toml"
    path.write_text(to_toml(cfg))
    assert load_config(path) == cfg
    path.write_text(to_toml(cfg, where=False))  # a run's own file: where it wrote is a comment
    back = load_config(path)
    assert back.run.out is None and back.run.seed == 3 and back.plugins == cfg.plugins
