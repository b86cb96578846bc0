"""Fault tests of the whole system: `make chaos` (see runner.py)."""
