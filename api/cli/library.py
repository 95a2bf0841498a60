"""`warrant library search|similar`: the post-mortem library from the command line."""

from __future__ import annotations

import html
import json
import re
from datetime import date

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.services import library as service
from graph.library import FollowUp, LibraryPage, LibraryQuery
from graph.settings import Settings

app = typer.Typer(help="Search the library of post-mortems; find similar ones.", no_args_is_help=True)
console = Console(highlight=False)
JSON_HELP = "Machine-readable output."


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


@app.command("search")
def search(
    text: str = typer.Argument(
        "", help='Lucene syntax: words, "phrases", AND/OR/NOT, -word, pre*; empty: browse, newest first.'
    ),
    channels: list[str] = typer.Option([], "--channel", help="Only these channels (repeatable)."),
    categories: list[str] = typer.Option(
        [], "--category", help="Only these failure categories (repeatable)."
    ),
    statuses: list[str] = typer.Option([], "--status", help="draft or published (repeatable)."),
    outcomes: list[str] = typer.Option([], "--outcome", help="ahead, on_track, ..., flagged, unknown."),
    tags: list[str] = typer.Option(
        [], "--tag", help="Only post-mortems with one of these tags (repeatable)."
    ),
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign's post-mortems."),
    date_from: str | None = typer.Option(None, "--from", help="Campaigns that ran on or after (YYYY-MM-DD)."),
    date_to: str | None = typer.Option(None, "--to", help="Campaigns that ran on or before (YYYY-MM-DD)."),
    page: int = typer.Option(1, "--page", help="Page number, from 1."),
    page_size: int = typer.Option(20, "--page-size", help="Hits per page (at most 100)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Search post-mortems, their findings and action items, with facet counts."""
    query = LibraryQuery.of(
        text=text,
        channels=channels,
        categories=categories,
        statuses=statuses,
        outcomes=outcomes,
        tags=tags,
        campaign=campaign,
        date_from=_day(date_from, "--from"),
        date_to=_day(date_to, "--to"),
        page=page,
        page_size=page_size,
    )
    result = service.search(Settings(), query)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    _present(result)


def _present(result: LibraryPage) -> None:
    console.print(
        f"[bold]{result.total}[/] post-mortem(s) match; page {result.page} of {max(result.pages, 1)} "
        f"[dim]({result.took_ms:g} ms)[/]"
    )
    first = (result.page - 1) * result.page_size + 1
    for n, hit in enumerate(result.hits, start=first):
        score = f" [dim]score {hit.score:.3g}[/]" if hit.score is not None else ""
        console.print(f"\n{n}. [bold]{_marked(hit.title_html)}[/] [dim]{escape(hit.id)}[/]{score}")
        period = f"{hit.period_start or '?'} to {hit.period_end or '?'}"
        console.print(
            f"   {escape(hit.campaign or 'no campaign')}, {period}, {hit.status}, outcome {hit.outcome}"
        )
        facets = [("channels", hit.channels), ("categories", hit.categories), ("tags", hit.tags)]
        console.print("   " + "; ".join(f"{name} {escape(', '.join(v))}" for name, v in facets if v))
        if hit.follow_up.total:
            console.print(f"   action items: {_follow_up(hit.follow_up)}")
        for snippet in hit.snippets:
            console.print(f"   [dim]>[/] {_marked(snippet)}")
        for item in hit.matches:
            kind = "finding" if item.label == "Finding" else "action"
            console.print(f"   {kind} [dim]{escape(item.id)}[/]: {_marked(item.title_html)}")
        if hit.match_count > len(hit.matches):
            console.print(f"   [dim]and {hit.match_count - len(hit.matches)} more matching item(s)[/]")
    shown = {k: v for k, v in result.facets.items() if v}
    if shown:
        console.print("\n[bold]facets[/]")
        for facet, counts in shown.items():
            console.print(f"  {facet}: " + ", ".join(f"{escape(c.value)} {c.count}" for c in counts))


def _follow_up(f: FollowUp) -> str:
    states = [
        f"{n} {name.replace('_', ' ')}"
        for name in ("open", "in_progress", "done", "dropped")
        if (n := getattr(f, name))
    ]
    results = [f"{n} {name}" for name in ("achieved", "missed", "undetermined") if (n := getattr(f, name))]
    return f"{f.total} ({', '.join(states)}" + (f"; {', '.join(results)}" if results else "") + ")"


def _marked(fragment: str) -> str:
    """The library's HTML (escaped text, terms in <mark>) as terminal markup."""
    parts = re.split(r"<mark>(.*?)</mark>", fragment)
    return "".join(
        f"[bold yellow]{escape(html.unescape(p))}[/]" if i % 2 else escape(html.unescape(p))
        for i, p in enumerate(parts)
    )


@app.command("similar")
def similar(
    postmortem_id: str = typer.Argument(..., help="The post-mortem to compare with the library."),
    limit: int = typer.Option(5, "--limit", help="How many (at most 100)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Post-mortems most like POSTMORTEM_ID: shared channels, failure categories and terms."""
    hits = service.similar(Settings(), postmortem_id, limit=limit)
    if as_json:
        print(json.dumps([h.model_dump(mode="json") for h in hits], indent=2))
        return
    if not hits:
        console.print(
            f"no post-mortem shares a channel, failure category or term with {escape(postmortem_id)}"
        )
        return
    table = Table("score", "post-mortem", "title", "why", title=f"like {postmortem_id}", title_justify="left")
    for h in hits:
        table.add_row(f"{h.score:.2f}", escape(h.id), escape(h.title), escape(h.why))
    console.print(table)
