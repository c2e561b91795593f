"""The command line: flags and subcommands, checks before a run, and the session it starts."""
