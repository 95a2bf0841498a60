"""A real uvicorn server for the HTTP tests and the load benchmark: the app on a free loopback port
in a background thread, stopped cleanly; and keys for people with each role."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from api.http.app import create_app
from api.services import decisions, keys
from graph.settings import Settings
from graph.store import GraphStore

ROLES = ("analyst", "governance_lead", "auditor", "admin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(settings: Settings, store: GraphStore | None = None) -> Iterator[str]:
    """The API on `http://127.0.0.1:<port>` until the block ends."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, store=store), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def people_with_keys(settings: Settings, store: GraphStore) -> dict[str, str]:
    """A person per role (`<role>-1`) and a key for each: role -> bearer token."""
    tokens = {}
    for role in ROLES:
        person = f"{role}-1"
        decisions.add_person(settings, person, person.replace("-", " ").title(), [role])
        _, tokens[role] = keys.create(settings, person, [role], name=f"{role} tests", store=store)
    return tokens


def client(base: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base, headers=headers, timeout=60)
