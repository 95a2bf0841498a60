"""What a route reads from the app: the settings and the shared graph store."""

from __future__ import annotations

from fastapi import Request

from graph.settings import Settings
from graph.store import GraphStore


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def store(request: Request) -> GraphStore:
    return request.app.state.store  # type: ignore[no-any-return]
