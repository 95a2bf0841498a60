"""`warrant serve` (the HTTP API) and `warrant keys create|list|revoke` (who may call it)."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.table import Table

from api.services import keys as service
from graph.settings import Settings

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
console = Console(highlight=False)


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default WARRANT_API_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Port (default WARRANT_API_PORT, 8470)."),
) -> None:
    """Serve the HTTP API; every route, the OpenAPI document included, needs a key (`warrant keys create`)."""
    import uvicorn

    from api.http.app import create_app
    from api.services.decisions import policies

    settings = Settings()
    policies(settings)  # a bad policy file stops here, in one line with its file and line
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("httpx", "httpcore", "neo4j"):  # one line per request is ours; theirs is noise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    where = f"http://{host or settings.api_host}:{port if port is not None else settings.api_port}"
    console.print(f"Warrant API on {where} (OpenAPI document: {where}/v1/openapi.json, with a key)")
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port if port is not None else settings.api_port,
        log_level="warning",
        access_log=False,  # the app logs one line per request, with its request id
    )


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
