"""Checks on output locations, done before a run starts (not after an hour of training).

They live in safe_io.paths, the one module that vets every path; these names stay for callers."""
from __future__ import annotations

from safe_io.paths import check_output_file, check_writable_dir

__all__ = ["check_output_file", "check_writable_dir"]
