"""`warrant postmortem run` for a campaign, and the analyst commands on a plain table:
`warrant scorecard`, `warrant drivers`, `warrant dissect`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from api.services import analysis
from api.services import postmortem as service
from graph.settings import Settings

app = typer.Typer(help="Run a campaign's post-mortem on its snapshots.", no_args_is_help=True)
console = Console(highlight=False)
JSON_HELP = "Machine-readable output."
SET_HELP = "KEY=VALUE: an assumption for this run (repeatable; e.g. attribution_window_days=7)."
MODEL_HELP = "NAME@ALIAS or NAME/VERSION: a model version for this run (default: each model's champion)."


@app.command("run")
def run(
    campaign: str = typer.Option(
        ..., "--campaign", "-c", help="The campaign id (its snapshots must be ingested)."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Also write the self-contained HTML report here."
    ),
    icp: Path | None = typer.Option(
        None, "--icp", help="YAML: lead field -> the values of the ideal customer profile (audience check)."
    ),
    sets: list[str] = typer.Option([], "--set", help=SET_HELP),
    models: list[str] = typer.Option([], "--model", help=MODEL_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Scorecard, funnel, dissection, drivers, fatigue, counterfactual, checks, action plan; stored
    in the graph and logged as an MLflow run."""
    from registry import assumption_sets
    from registry import models as registered

    stored, result = service.run_postmortem(
        Settings(),
        campaign,
        report=report,
        icp=_icp(icp),
        overrides=assumption_sets.parse_sets(sets),
        models=dict(registered.parse_ref(m) for m in models),
    )
    if as_json:
        print(stored.model_dump_json(indent=2))
        return
    _header(stored)
    table = Table("label", "category", "finding", "effect", "impact", title="findings", title_justify="left")
    for f in result.findings:
        table.add_row(
            f.label,
            f.category,
            f.title,
            f.effect.format(".3g") if f.effect else "",
            f.money_impact.format(",.0f") if f.money_impact else "",
        )
    console.print(table)
    items = Table("#", "action", "owner role", "expected impact", title="action items", title_justify="left")
    for i, item in enumerate(result.plan.items, start=1):
        impact = item.expected_impact.format(",.3g") if item.expected_impact else "not estimated"
        items.add_row(str(i), item.title, item.owner_role or "", impact)
    console.print(items)
    if stored.report:
        console.print(f"report: {stored.report}")


def _header(stored: service.PostMortemRun) -> None:
    console.print(
        f"[bold]{stored.postmortem_id}[/] "
        + ("stored" if stored.created else "(same inputs: already stored)")
        + (f", a replay of {stored.replay_of}" if stored.replay_of and stored.created else "")
    )
    console.print(f"  against {', '.join(stored.baseline_ids)}; {len(stored.snapshot_ids)} snapshots")
    console.print(f"  MLflow run {stored.mlflow_run_id}; models: {', '.join(stored.models.values())}")
    for d in stored.drift:
        if d["drifted"]:
            signals = ", ".join(s["signal"] for s in d["report"]["signals"] if s["drifted"])
            console.print(f"  [yellow]drift[/] {d['table']} ({d['mapping']}): {signals}")
    if stored.lineage_event:
        console.print(f"  OpenLineage event: {stored.lineage_event}")


@app.command("replay")
def replay(
    postmortem_id: str = typer.Argument(..., help="The post-mortem to replay."),
    sets: list[str] = typer.Option([], "--set", help=SET_HELP),
    models: list[str] = typer.Option([], "--model", help=MODEL_HELP),
    report: Path | None = typer.Option(None, "--report", help="Also write the replay's HTML report here."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Run a post-mortem again on the same snapshots under other assumptions or model versions,
    and show what changed, finding by finding, and which assumption caused it."""
    done = service.replay(Settings(), postmortem_id, sets=sets, models=models, report=report)
    if as_json:
        print(
            json.dumps(
                {"run": done.run.model_dump(mode="json"), "diff": done.diff.model_dump(mode="json")}, indent=2
            )
        )
        return
    _header(done.run)
    for line in done.diff.lines():
        console.print("  " + line, markup=False)


def _icp(path: Path | None) -> dict[str, list[str]] | None:
    if path is None:
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise typer.BadParameter(f"{path}: cannot read the ICP: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise typer.BadParameter(f"{path}: an ICP is a mapping of lead field -> list of values")
    return {str(k): [str(v) for v in values] for k, values in data.items()}


@app.command("assign")
def assign(
    action_id: str = typer.Argument(..., help="An action item id (from `postmortem run --json`)."),
    owner: str = typer.Option(..., "--owner", help="The named person who will do it (never 'the team')."),
    due: str = typer.Option(..., "--due", help="Due date, YYYY-MM-DD."),
) -> None:
    """Name an action item's owner and due date: both are required before publishing."""
    try:
        when = date.fromisoformat(due)
    except ValueError:
        raise typer.BadParameter(f"{due!r} is not a date (YYYY-MM-DD)") from None
    item = service.assign_action(Settings(), action_id, owner, when)
    console.print(f"{item.id}: {item.title} -> {item.owner}, due {item.due}")


@app.command("expect")
def expect(
    action_id: str = typer.Argument(..., help="An action item id."),
    by: str = typer.Option(..., "--as", help="The person setting it (a Person id)."),
    metric: str = typer.Option(
        ..., "--metric", help="leads_per_day, spend_per_day, clicks_per_day, cpl, cpc or ctr."
    ),
    direction: str = typer.Option(..., "--direction", help="up or down."),
    size: str = typer.Option(..., "--size", help="Relative change, e.g. 10% or 0.1."),
    by_date: str = typer.Option(..., "--by", help="The date the effect is due, YYYY-MM-DD."),
    channels: list[str] = typer.Option([], "--channel", help="Only these channels (repeatable)."),
) -> None:
    """Give an action item its expected effect; monitoring marks it achieved or missed once a
    snapshot covers the date."""
    from api.services import decisions

    try:
        relative = float(size.rstrip("%")) / (100 if size.endswith("%") else 1)
    except ValueError:
        raise typer.BadParameter(f"--size {size!r} is not a number or a percentage") from None
    try:
        when = date.fromisoformat(by_date)
    except ValueError:
        raise typer.BadParameter(f"--by {by_date!r} is not a date (YYYY-MM-DD)") from None
    wanted = {"metric": metric, "direction": direction, "size": relative, "by": when, "channels": channels}
    item = decisions.expect(Settings(), action_id, wanted, by=by)
    console.print(
        f"{item['id']}: expects {metric} {direction} {relative:.0%} by {when} "
        f"(now {item['expect_baseline']:.4g})"
    )


@app.command("publish")
def publish(postmortem_id: str = typer.Argument(..., help="A post-mortem id.")) -> None:
    """Publish a post-mortem; refused while any action item lacks a named owner or a due date."""
    node = service.publish(Settings(), postmortem_id)
    console.print(f"{node.id}: {node.status}")


def scorecard(
    file: Path = typer.Argument(
        ..., help="A table with columns metric, plan, actual (optional direction, group)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Plan against actual for each metric, with the status labels and the thresholds used."""
    card = analysis.scorecard_file(file)
    if as_json:
        print(card.model_dump_json(indent=2))
        return
    print(card.render())


def drivers(
    file: Path = typer.Argument(..., help="One row per unit (lead, session, ...) or aggregated rows."),
    outcome: str = typer.Option(
        ..., "--outcome", help="COL, COL=VALUE, or SUCCESSES/TRIALS for aggregated rows."
    ),
    dims: str = typer.Option(..., "--dims", help="Dimensions to split by, comma-separated."),
    split: str | None = typer.Option(None, "--split", help="COL=BASE,CURRENT: the two periods or groups."),
    target: float | None = typer.Option(None, "--target", help="Explain the gap to this rate instead."),
    among: str | None = typer.Option(
        None, "--among", help="Only rows where this column is set (e.g. mql_at)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """What explains a rate's change: mix and rate effects per dimension value, with intervals."""
    if (split is None) == (target is None):
        raise typer.BadParameter("give exactly one of --split and --target")
    result = analysis.drivers_file(
        file,
        outcome,
        [d.strip() for d in dims.split(",") if d.strip()],
        split=split,
        target=target,
        among=among,
    )
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    for line in result.summary_lines():
        print(line)


def dissect(
    file: Path = typer.Argument(..., help="A table with spend and conversions per row."),
    spend: str = typer.Option(..., "--spend", help="The spend column."),
    conversions: str = typer.Option(..., "--conversions", help="The conversions column."),
    by: str = typer.Option(..., "--by", help="Columns to group by, comma-separated."),
    value: str | None = typer.Option(None, "--value", help="Rank by this column (e.g. pipeline)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Segments ranked by value, and any segment taking over 20% of spend while converting below average."""
    result = analysis.dissect_file(file, spend, conversions, [b.strip() for b in by.split(",")], value=value)
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    table = Table("rank", *result.by, "spend", "share", "conversions", "cost per conversion")
    for s in result.segments:
        table.add_row(
            str(s.rank),
            *s.key,
            f"{s.spend:,.2f}",
            "" if s.spend_share is None else f"{s.spend_share:.1%}",
            f"{s.conversions:,.0f}",
            s.cost_per_conversion.format(",.3g"),
        )
    console.print(table)
    for flag in result.flags:
        console.print(f"[bold red]flag[/] {flag.text}")
    console.print(f"[dim]budget share flag above {result.assumptions.combo_budget_share:.0%} of spend[/]")


def attribute(
    file: Path = typer.Argument(..., help="Aggregated paths (path, conversions, value, nulls) or touches."),
    model: str = typer.Option("markov", "--model", help=f"One of {', '.join(analysis.MODELS)}."),
    order: int = typer.Option(1, "--order", min=1, max=3, help="Markov chain order."),
    samples: int = typer.Option(1000, "--samples", min=0, help="Bootstrap resamples of journeys (0: none)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Credit per channel under one attribution model, with bootstrap intervals over journeys."""
    result = analysis.attribute_file(file, model, order=order, samples=samples)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    table = Table("channel", "conversions", "share", "value", title=f"{result.label}: {result.parameters}")
    for c in sorted(result.channels, key=lambda c: -(c.conversions.value or 0)):
        table.add_row(c.channel, c.conversions.format(",.1f"), c.share.format(".1%"), c.value.format(",.1f"))
    console.print(table)
    console.print(f"total {result.total_conversions:,.0f} conversions over {result.journeys:,.0f} journeys")
