"""Connectors, column mappings, the unified schema, quality gates and content-addressed snapshots."""
