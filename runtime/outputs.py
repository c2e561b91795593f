"""Checks on output locations, done before a run starts (not after an hour of training).

They live in runtime.paths, the one module that vets every path; these names stay for callers."""
from __future__ import annotations

from runtime.paths import check_output_file, check_writable_dir

__all__ = ["check_output_file", "check_writable_dir"]
