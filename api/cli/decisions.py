"""`warrant people add` and `warrant decision propose|show|list|submit|approve|reject|execute|monitor`.

Until API keys exist (the HTTP API), the CLI names the acting person with `--as`; every action is
still judged by the Cedar policies and recorded in the audit chain under that person."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from api.services import decisions as service
from graph.settings import Settings

people_app = typer.Typer(
    help="People and their roles (analyst, governance_lead, auditor).", no_args_is_help=True
)
decision_app = typer.Typer(help="Decisions: propose, submit, approve, reject.", no_args_is_help=True)
console = Console(highlight=False)
AS_HELP = "The person acting (a Person id: warrant people add)."
VERSION_HELP = (
    "The version you decided on (from `decision show`); a newer one is a conflict, not a silent change."
)


@people_app.command("add")
def add_person(
    person_id: str = typer.Argument(..., help="A stable id, e.g. person:priya."),
    name: str = typer.Option(..., "--name", help="Full name."),
    roles: list[str] = typer.Option(..., "--role", help="analyst, governance_lead or auditor (repeatable)."),
) -> None:
    """Add a person, or change their name or roles (recorded in the audit chain)."""
    person = service.add_person(Settings(), person_id, name, roles)
    console.print(f"{person['id']}: {person['name']} ({', '.join(person['roles'])})")


@decision_app.command("propose")
def propose(
    by: str = typer.Option(..., "--as", help=AS_HELP),
    kind: str = typer.Option(
        ..., "--kind", help="budget_reallocation, pause, creative_change, audience_change, process_change."
    ),
    title: str = typer.Option(..., "--title", help="What is decided, in one line."),
    findings: list[str] = typer.Option(..., "--finding", help="A justifying finding id (repeatable)."),
    amount: float | None = typer.Option(None, "--amount", help="Money moved (budget_reallocation)."),
    source: str | None = typer.Option(None, "--from", help="Channel the budget leaves."),
    target: str | None = typer.Option(None, "--to", help="Channel the budget goes to."),
    share_bp: int | None = typer.Option(
        None, "--share-bp", help="The amount in basis points of the source channel's budget."
    ),
    rationale: str = typer.Option("", "--rationale", help="Why, in the proposer's words."),
    period_days: int | None = typer.Option(
        None, "--period-days", min=1, help="Days over which the amount moves (default 28)."
    ),
) -> None:
    """Draft a decision justified by findings; `decision submit` sends it for approval.

    A budget reallocation is priced on the response curves of the post-mortem behind its findings:
    the leads a day it promises, with their interval, which monitoring later holds it to."""
    decision = service.propose(
        Settings(),
        by=by,
        kind=kind,
        title=title,
        findings=findings,
        amount=amount,
        from_channel=source,
        to_channel=target,
        budget_share_bp=share_bp,
        rationale=rationale,
        period_days=period_days,
    )
    console.print(f"{decision['id']}: {decision['state']} (version {decision['version']})")
    _print_promise(decision)


def _print_promise(d: dict) -> None:
    if d.get("promise"):
        p = json.loads(d["promise"])
        after, before = p["expected_after"], p["expected_before"]
        band = after.get("interval") or {}
        console.print(
            f"  promises {after['value']:.1f} leads a day [{band.get('low', float('nan')):.1f}, "
            f"{band.get('high', float('nan')):.1f}] in {p['from_channel']} + {p['to_channel']} "
            f"(now {before['value']:.1f}), moving {p['daily_shift']:,.0f} a day for {p['period_days']} days"
        )
    elif d.get("promise_note"):
        console.print(f"  no promise: {d['promise_note']}")
    if d.get("monitor_status"):
        console.print(f"  monitoring: {d['monitor_status']}: {d.get('monitor')}")
    if d.get("rolls_back"):
        console.print(f"  rolls back {d['rolls_back']}")


def _act(action: str, decision_id: str, by: str, version: int | None, comment: str) -> None:
    done = service.act(Settings(), decision_id, action, by=by, expected_version=version, comment=comment)
    state = done.decision["state"]
    console.print(f"{decision_id}: {state} (version {done.decision['version']})")
    console.print(f"  policies: {', '.join(done.verdict.policies) or '-'}; {' '.join(done.verdict.reasons)}")
    if action == "approve" and state == "pending_approval":
        console.print("  above the two-approver threshold: a second governance lead must approve")


@decision_app.command("submit")
def submit(
    decision_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help=AS_HELP),
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
) -> None:
    """Send a draft for approval."""
    _act("submit", decision_id, by, version, "")


@decision_app.command("approve")
def approve(
    decision_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help=AS_HELP),
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
    comment: str = typer.Option("", "--comment", help="What the approver wants on the record."),
) -> None:
    """Approve a pending decision (refused, with the reason, when the policies say no)."""
    _act("approve", decision_id, by, version, comment)


@decision_app.command("reject")
def reject(
    decision_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help=AS_HELP),
    comment: str = typer.Option(..., "--comment", help="Why it is rejected."),
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
) -> None:
    """Reject a pending decision, saying why."""
    _act("reject", decision_id, by, version, comment)


@decision_app.command("show")
def show(
    decision_id: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """A decision, its justifying findings and its approvals."""
    view = service.show(Settings(), decision_id)
    if as_json:
        print(json.dumps(view.model_dump(mode="json"), indent=2, default=str))
        return
    d = view.decision
    console.print(f"[bold]{d['id']}[/] {d['title']} [{d['state']}, version {d['version']}]")
    console.print(
        f"  {d['kind']} proposed by {d.get('proposer')}"
        + (f", amount {d['amount']:,.0f}" if d.get("amount") else "")
    )
    _print_promise(d)
    for f in view.findings:
        console.print(
            f"  justified by {f['id']}: {f.get('title')}" + (" [red]TAINTED[/]" if f.get("tainted") else "")
        )
    for a in view.approvals:
        console.print(
            f"  {a['verdict']} by {a['by']} at {a['created_at']}: {a.get('reason')} {a.get('comment') or ''}"
        )


@decision_app.command("list")
def list_decisions(
    state: str | None = typer.Option(None, "--state", help="Only decisions in this state."),
) -> None:
    """Every decision, or those in one state."""
    table = Table("id", "state", "kind", "title", "proposer", "version")
    for d in service.list_decisions(Settings(), state):
        table.add_row(d["id"], d["state"], d["kind"], d["title"], d.get("proposer", ""), str(d["version"]))
    console.print(table)


@decision_app.command("inbox")
def inbox(by: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """What you must see: decisions you proposed or approved that were reopened, and why."""
    notes = service.inbox(Settings(), by)
    if not notes:
        console.print("nothing new")
    for n in notes:
        console.print(f"{n['created_at']}  {n['message']}")


@decision_app.command("execute")
def execute(
    decision_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help=AS_HELP),
    adapter: str = typer.Option(
        "file", "--adapter", help="file (a signed change order) or simulated (a fake platform)."
    ),
) -> None:
    """Execute an approved decision, exactly once; run it again to resume an interrupted execution."""
    done = service.execute(Settings(), decision_id, by=by, adapter=adapter)
    console.print(f"{decision_id}: {done['state']} (version {done['version']})")


@decision_app.command("verify")
def verify(
    decision_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help=AS_HELP),
    comment: str = typer.Option("", "--comment", help="What the realised metrics showed."),
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
) -> None:
    """Record that an executed change did what it promised."""
    _act("verify", decision_id, by, version, comment)


@decision_app.command("rollback")
def rollback(
    decision_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--as", help=AS_HELP),
    comment: str = typer.Option(..., "--comment", help="Why it is rolled back."),
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
) -> None:
    """Record that an executed change was rolled back, and why."""
    _act("rollback", decision_id, by, version, comment)


@decision_app.command("monitor")
def monitor() -> None:
    """Hold executed decisions to their promise and check action items' expected effects against
    the snapshots ingested since; a shortfall raises a finding and drafts a rollback."""
    from governance.monitoring import summary

    console.print(summary(service.monitor(Settings())))
