"""`warrant serve` (the HTTP API) and `warrant keys create|list|revoke` (who may call it)."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import signal
import subprocess
import sys

import typer
from rich.console import Console
from rich.table import Table

from api.services import keys as service
from graph.settings import Settings

_PR_SET_PDEATHSIG = 1

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
console = Console(highlight=False)


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default WARRANT_API_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Port (default WARRANT_API_PORT, 8470)."),
    ui: bool = typer.Option(True, "--ui/--no-ui", help="Also serve the Streamlit UI, which calls this API."),
    ui_port: int | None = typer.Option(None, "--ui-port", help="UI port (default WARRANT_UI_PORT, 8501)."),
) -> None:
    """Serve the HTTP API, and the UI beside it; every route, the OpenAPI document included, needs a
    key (`warrant keys create`), and the UI signs in with one."""
    import uvicorn

    from api.http.app import create_app
    from api.services.decisions import policies
    from graph.connect import open_store

    settings = Settings()
    policies(settings)  # a bad policy file stops here, in one line with its file and line
    # The graph is opened here, before anything listens, and lent to the app: opened in the app's
    # start-up instead, an unreachable graph was uvicorn's traceback and exit code 3, not one line.
    store = open_store(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("httpx", "httpcore", "neo4j"):  # one line per request is ours; theirs is noise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    host = host or settings.api_host
    port = port if port is not None else settings.api_port
    where = f"http://{host}:{port}"
    console.print(
        f"Warrant API on {where} (OpenAPI document: {where}/v1/openapi.json, with a key)", soft_wrap=True
    )
    streamlit = _start_ui(host, ui_port or settings.ui_port, where) if ui else None
    # uvicorn re-raises the SIGTERM it handled once it has shut down; as an exception here it lets
    # the `finally` below stop the UI instead of killing this process first.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(
            create_app(settings, store=store),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # the app logs one line per request, with its request id
        )
    finally:
        store.close()
        if streamlit is not None:
            streamlit.terminate()
            streamlit.wait(timeout=10)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _die_with_parent() -> None:
    """In the UI child: a SIGTERM when `warrant serve` dies, even by kill -9 (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _start_ui(host: str, port: int, api: str) -> subprocess.Popen[bytes]:
    """The Streamlit UI as a child process: it is a separate server that only calls the API."""
    spec = importlib.util.find_spec("ui.app")
    if spec is None or spec.origin is None:
        raise typer.BadParameter("the ui package is not installed beside the API")
    command = [
        sys.executable, "-m", "streamlit", "run", spec.origin,
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    console.print(f"Warrant UI on http://{host}:{port} (sign in with an API key)", soft_wrap=True)
    env = {**os.environ, "WARRANT_API_URL": api}
    return subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)


@keys_app.command("create")
def create(
    person: str = typer.Option(..., "--person", help="The Person the key acts as (warrant people add)."),
    roles: list[str] = typer.Option(..., "--role", help="A role of theirs the key may use (repeatable)."),
    name: str = typer.Option("", "--name", help="What the key is for, e.g. 'UI' or 'Prometheus'."),
) -> None:
    """Create a key; its secret is printed once and only its hash is stored."""
    key, token = service.create(Settings(), person, roles, name=name)
    console.print(f"{key['id']} for {key['person']} ({', '.join(key['roles'])})")
    console.print("secret (shown once; send it as 'Authorization: Bearer ...'):")
    print(token)


@keys_app.command("list")
def list_keys() -> None:
    """Every key: whose, which roles, revoked or not (never a secret)."""
    table = Table("id", "person", "roles", "name", "created", "revoked")
    for k in service.list_keys(Settings()):
        table.add_row(
            k["id"], k["person"], ", ".join(k.get("roles") or []), k.get("name", ""), k["created_at"],
            k.get("revoked_at") or "",
        )  # fmt: skip
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id (apikey:...), from `keys list`.")) -> None:
    """Revoke a key for good; calls with it are refused within seconds."""
    key = service.revoke(Settings(), key_id)
    console.print(f"{key['id']} revoked at {key['revoked_at']}")
