"""Benchmarks: run as modules (`python -m tests.bench.<name>`); they report figures, never assert."""
