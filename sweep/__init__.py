"""Sweeps: seeds x policies x config variants, each an ordinary headless run, executed as Ray tasks."""
