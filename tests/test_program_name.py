"""The program calls itself what the user typed: `calf-ecs` (the installed script) or `app.py`."""
import sys

import pytest

import app
from cli.arguments import build_parser


@pytest.mark.parametrize("argv0, name, command", [
    ("/usr/local/bin/calf-ecs", "calf-ecs", "calf-ecs"),
    ("/home/me/calf-ecs/app.py", "app.py", "python app.py"),
    ("app.py", "app.py", "python app.py"),
])
def test_usage_errors_and_examples_use_the_name_the_program_was_started_by(monkeypatch, capsys, argv0, name, command):
    monkeypatch.setattr(sys, "argv", [argv0])
    parser = build_parser()
    assert parser.format_usage().startswith(f"usage: {name} [-h]")
    assert f"Examples: {command} --agents 30 |" in " ".join(parser.format_help().split())
    assert app.main(["--agents", "-1"]) == 2
    assert capsys.readouterr().err == f"{name}: error: argument --agents: must be >= 0, got -1\n"


def test_the_subcommands_too(monkeypatch, capsys):
    from report.command import main as report_main
    from sweep.command import build_parser as sweep_parser

    monkeypatch.setattr(sys, "argv", ["/opt/venv/bin/calf-ecs"])
    assert sweep_parser().format_usage().startswith("usage: calf-ecs sweep")
    assert report_main(["/nonexistent/runs"]) == 2
    assert capsys.readouterr().err.startswith("calf-ecs report: error: ")
