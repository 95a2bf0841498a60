"""What a route reads from the app: the settings and the shared graph store (async: no thread hop)."""

from __future__ import annotations

from fastapi import Request

from graph.settings import Settings
from graph.store import GraphStore


async def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def store(request: Request) -> GraphStore:
    return request.app.state.store  # type: ignore[no-any-return]
