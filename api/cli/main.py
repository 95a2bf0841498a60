"""`warrant`: the command line. Parses, calls `api.services`, presents; nothing else.

Errors a user can act on (`WarrantError`, bad settings) print as one line on stderr with exit
code 2; a traceback means a bug.
"""

from __future__ import annotations

import logging
import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from api.cli import db, decisions, governance, ingest, library, lineage, models, postmortem, sample, serve
from graph.errors import WarrantError

app = typer.Typer(
    name="warrant",
    help="Warrant: governed knowledge graph for marketing campaign post-mortems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(lineage.app, name="lineage")
app.command("ingest")(ingest.ingest)
app.add_typer(ingest.mappings_app, name="mappings")
app.add_typer(ingest.schema_app, name="schema")
app.add_typer(sample.app, name="sample")
app.add_typer(postmortem.app, name="postmortem")
app.add_typer(library.app, name="library")
app.command("scorecard")(postmortem.scorecard)
app.command("drivers")(postmortem.drivers)
app.command("dissect")(postmortem.dissect)
app.command("attribute")(postmortem.attribute)
app.add_typer(models.app, name="models")
app.command("mlflow-ui")(models.mlflow_ui)
app.add_typer(governance.policy_app, name="policy")
app.add_typer(governance.audit_app, name="audit")
app.add_typer(decisions.people_app, name="people")
app.add_typer(decisions.decision_app, name="decision")
app.add_typer(serve.keys_app, name="keys")
app.command("serve")(serve.serve)


def run() -> None:
    """Console-script entry point."""
    # The driver logs each dropped connection (with its retries) before raising; the error that
    # reaches the user is one line below, so those log lines are only noise above it.
    logging.getLogger("neo4j").setLevel(logging.CRITICAL)
    try:
        app()
    except WarrantError as exc:
        _fail(str(exc))
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "WARRANT_" + "_".join(str(p) for p in err["loc"]).upper()
        _fail(f"{name}: {err['msg']}")


def _fail(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(2)


if __name__ == "__main__":
    run()
