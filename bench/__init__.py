"""Benchmarks of tangkal against real servers and databases; run each with ``python -m``."""
