"""Tests of whole processes: the embedded server, the CLI, concurrency and failure."""
