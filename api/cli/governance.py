"""`warrant policy check` and `warrant audit verify|checkpoint|report|verify-report`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from api.services import governance as service
from graph.settings import Settings

policy_app = typer.Typer(help="The approval gates (Cedar policies in policies/).", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
console = Console(highlight=False)
KEY_HELP = "Ed25519 private key (PEM); default $WARRANT_HOME/keys/audit-ed25519.pem, created on first use."


@policy_app.command("check")
def check(
    directory: Path | None = typer.Option(
        None, "--dir", help="A policy folder; default the installed policies/."
    ),
) -> None:
    """Validate the policy files against the schema and print what each policy allows or forbids."""
    policies = service.check_policies(directory)
    console.print(f"policy set {policies.version_id} valid: {len(policies.policies)} policies")
    console.print(f"sha256 {policies.sha256}")
    table = Table("id", "effect", "where", "what it says")
    for p in policies.policies:
        table.add_row(p.id, p.effect, p.where, p.reason)
    console.print(table)
    for f in policies.freezes:
        console.print(f"change freeze {f.name!r}: {f.start} to {f.end}")


def _done(result: object) -> None:
    from governance.audit import Verification

    assert isinstance(result, Verification)
    if result.ok:
        console.print(result.line())
        return
    Console(stderr=True).print(f"[bold red]error:[/] {result.line()}", highlight=False)
    raise typer.Exit(1)


@audit_app.command("verify")
def verify(key: Path | None = typer.Option(None, "--key", help=KEY_HELP)) -> None:
    """Check every link of the chain and every signed checkpoint; exit 1 at the first broken link."""
    _done(service.verify_chain(Settings(), key))


@audit_app.command("checkpoint")
def checkpoint(key: Path | None = typer.Option(None, "--key", help=KEY_HELP)) -> None:
    """Sign the chain's head, so removing events from its end is detectable too."""
    signed = service.checkpoint(Settings(), key)
    console.print(f"signed seq {signed['seq']} (hash {signed['hash'][:16]}...) at {signed['at']}")


@audit_app.command("report")
def report(
    start: str = typer.Option(..., "--from", help="ISO-8601 time (inclusive)."),
    end: str = typer.Option(..., "--to", help="ISO-8601 time (inclusive)."),
    out: Path = typer.Option(..., "--out", help="Where to write the report (JSON)."),
    key: Path | None = typer.Option(None, "--key", help=KEY_HELP),
) -> None:
    """A self-contained, signed report of the events in a period, for an auditor to verify off-line."""
    count = service.report(Settings(), start, end, out, key)
    console.print(
        f"wrote {count} events to {out}; verify with: warrant audit verify-report {out} --public-key PEM"
    )


@audit_app.command("verify-report")
def verify_report(
    path: Path = typer.Argument(..., help="A report written by `warrant audit report`."),
    public_key: Path | None = typer.Option(None, "--public-key", help="The public key you trust (PEM)."),
) -> None:
    """Verify a report off-line: its links, its hashes and the signature over its last event."""
    _done(service.verify_report(path, public_key))
