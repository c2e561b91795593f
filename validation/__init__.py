"""Validators that fail with one readable line, each carrying the rule it checks (the config schema and environments use them)."""
