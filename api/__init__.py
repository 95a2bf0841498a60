"""Thin adapters over the service layer: the HTTP API (`api.http`) and the `warrant` CLI (`api.cli`)."""
