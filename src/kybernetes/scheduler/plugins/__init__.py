"""Scheduler plugins: one module per plugin exporting ``NAME`` and ``new()``; logic in pure functions."""
