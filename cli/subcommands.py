"""`python app.py sweep ...` and `python app.py report ...`: commands beside the ordinary run.

The first word of the command line picks one; everything else is the ordinary run's command line
(cli.arguments), so `python app.py --agents 30` works as it always has. Each subcommand's module is
imported only when it is used (the report does not need torch, the run does not need Ray).
"""
from __future__ import annotations

import importlib

#: subcommand -> module whose main(argv) -> exit code runs it
SUBCOMMANDS = {"sweep": "sweep.command", "report": "report.command"}


def run_subcommand(name: str, argv: list[str]) -> int:
    return importlib.import_module(SUBCOMMANDS[name]).main(argv)
