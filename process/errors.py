"""Usage errors and the exit code they end with: below everything that vets user input (paths,
flags, subcommands), so each layer can refuse bad input without importing the command line."""
from __future__ import annotations

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2, nothing written."""
