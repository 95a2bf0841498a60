"""Warrant test suite: contract tests over graph backends, integration tests, benchmarks."""
