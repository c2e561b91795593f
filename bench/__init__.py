"""Benchmarks: scripts that measure and print (and save) figures, never pass/fail; their shared plumbing is bench/common.py."""
