"""The post-mortem library on a real embedded graph: a small library built through the store, with
known text and facets, searched the way the API and the CLI search it."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from api.services import library as service
from graph.connect import open_store
from graph.dialect import ArcadeDialect
from graph.errors import InvalidGraphInput, NotFound
from graph.library import LibraryQuery, search, similar
from graph.model import ActionItem, Campaign, Finding, PostMortem, Rel
from graph.settings import Settings
from graph.store import GraphStore
from tests.conftest import Clock, isolated_env

# (id, title, statement, category) and (id, title, status, outcome), as `_record` would store them.
LIBRARY: list[dict[str, Any]] = [
    {
        "id": "pm:webinar",
        "title": "Webinar <script>alert(1)</script> post-mortem",
        "campaign": "c-webinar",
        "period": ("2026-01-05", "2026-02-15"),
        "status": "published",
        "channels": ["email", "webinar"],
        "categories": ["data_quality", "workflow_alignment"],
        "tags": ["emea", "q1"],
        "outcome": "flagged",
        "findings": [
            (
                "f:webinar:handoff",
                "MQL to SQL handoff broke",
                "After the routing change the handoff to sales took <b>nine</b> days & the handoff owner "
                "was unclear",
                "workflow_alignment",
            ),
            (
                "f:webinar:industry",
                "Industry field 41% filled",
                "The CRM industry field blocks segments",
                "data_quality",
            ),
        ],
        "actions": [
            ("a:webinar:owner", "Name a handoff owner", "done", "achieved"),
            ("a:webinar:field", "Make industry a required field", "open", None),
            ("a:webinar:sla", "Set a routing SLA", "in_progress", "missed"),
        ],
    },
    {
        "id": "pm:social",
        "title": "LinkedIn prospecting",
        "campaign": "c-social",
        "period": ("2026-03-01", "2026-03-31"),
        "status": "draft",
        "channels": ["paid_social"],
        "categories": ["creative"],
        "tags": ["q1"],
        "outcome": "near_flag",
        "findings": [
            (
                "f:social:fatigue",
                "Creative fatigue after week 3",
                "Frequency passed 6 and CTR halved",
                "creative",
            )
        ],
        "actions": [("a:social:rotate", "Rotate creatives every two weeks", "open", None)],
    },
    {
        "id": "pm:nurture",
        "title": "Nurture programme",
        "campaign": "c-nurture",
        "period": ("2026-04-01", "2026-05-15"),
        "status": "published",
        "channels": ["email"],
        "categories": ["workflow_alignment"],
        "tags": ["nurture"],
        "outcome": "on_track",
        "findings": [
            (
                "f:nurture:paused",
                "Nurture sequence paused for nine days",
                "The paused sequence delayed the handoff of warm leads",
                "workflow_alignment",
            )
        ],
        "actions": [],
    },
    {
        "id": "pm:search",
        "title": "Paid search always-on",
        "campaign": "c-search",
        "period": ("2025-10-01", "2025-11-30"),
        "status": "published",
        "channels": ["email", "paid_search"],
        "categories": ["measurement_gap"],
        "tags": [],
        "outcome": "ahead",
        "findings": [
            (
                "f:search:utm",
                "UTM tags missing on paid clicks",
                "30% of paid clicks carried no UTM",
                "measurement_gap",
            )
        ],
        "actions": [("a:search:utm", "Enforce UTM templates", "done", None)],
    },
    {
        "id": "pm:webinar-2",
        "title": "Webinar series, second wave",
        "campaign": "c-webinar",
        "period": ("2026-06-01", "2026-06-30"),
        "status": "draft",
        "channels": ["email", "webinar"],
        "categories": ["data_quality", "workflow_alignment"],
        "tags": ["emea"],
        "outcome": "unknown",
        "findings": [
            (
                "f:webinar2:routing",
                "Registrations routed late to sales",
                "Webinar registrations waited for the weekly import",
                "workflow_alignment",
            ),
            ("f:webinar2:size", "Company size missing", "Company size was empty for most", "data_quality"),
        ],
        "actions": [],
    },
]
# Identical post-mortems recorded in one batch: equal scores and times, so only the id orders them.
FILLERS: list[dict[str, Any]] = [
    {
        "id": f"pm:filler-{i}",
        "title": "Quarterly budget pacing review",
        "campaign": f"c-filler-{i}",
        "period": ("2025-01-01", "2025-03-31"),
        "status": "published",
        "channels": ["display"],
        "categories": ["channel_mix"],
        "tags": [],
        "outcome": "on_track",
        "findings": [(f"f:filler-{i}", "Budget pacing", "Display spend paced evenly", "channel_mix")],
        "actions": [],
    }
    for i in range(6)
]
ALL = LIBRARY + FILLERS
NEWEST_FIRST = [p["id"] for p in FILLERS] + [p["id"] for p in reversed(LIBRARY)]


def _nodes(pm: dict[str, Any]) -> tuple[list[Any], list[tuple[str, Rel, str]]]:
    texts = [pm["campaign"], *(t for f in pm["findings"] for t in f[1:3]), *(a[1] for a in pm["actions"])]
    nodes: list[Any] = [
        PostMortem(
            id=pm["id"],
            title=pm["title"],
            summary=pm["findings"][0][2],
            status=pm["status"],
            campaign=pm["campaign"],
            period_start=pm["period"][0],
            period_end=pm["period"][1],
            channels=pm["channels"],
            categories=pm["categories"],
            tags=pm["tags"],
            outcome=pm["outcome"],
            search_text="\n".join(texts),
        )
    ]
    nodes += [Finding(id=i, title=t, statement=s, category=c) for i, t, s, c in pm["findings"]]
    nodes += [ActionItem(id=i, title=t, status=s, outcome=o) for i, t, s, o in pm["actions"]]
    edges = [(n.id, Rel.PART_OF, pm["id"]) for n in nodes[1:]]
    return nodes, edges


def build_library(store: GraphStore, clock: Clock | None = None) -> GraphStore:
    """One post-mortem at a time (so browse order is known), then the fillers in one batch."""
    for batch in [[pm] for pm in LIBRARY] + [FILLERS]:
        if clock is not None:
            clock.advance(minutes=1)
        nodes, edges = [], []
        for pm in batch:
            n, e = _nodes(pm)
            nodes += n
            edges += e
        store.merge(nodes)
        store.link(edges)
    return store


@pytest.fixture
def library(graph: GraphStore, clock: Clock) -> GraphStore:
    graph.clock = clock
    return build_library(graph, clock)


def ids(page: Any) -> list[str]:
    return [h.id for h in page.hits]


def by_hand(**where: Any) -> list[dict[str, Any]]:
    """The fixture's post-mortems a filter admits, computed without the library."""
    out = []
    for pm in ALL:
        if "channels" in where and not set(pm["channels"]) & set(where["channels"]):
            continue
        if "categories" in where and not set(pm["categories"]) & set(where["categories"]):
            continue
        if "tags" in where and not set(pm["tags"]) & set(where["tags"]):
            continue
        if "statuses" in where and pm["status"] not in where["statuses"]:
            continue
        if "outcomes" in where and pm["outcome"] not in where["outcomes"]:
            continue
        if "campaign" in where and pm["campaign"] != where["campaign"]:
            continue
        if "date_from" in where and pm["period"][1] < where["date_from"]:
            continue
        if "date_to" in where and pm["period"][0] > where["date_to"]:
            continue
        out.append(pm)
    return out


# -- text -------------------------------------------------------------------------------------


def test_full_text_ranks_the_best_match_first(library: GraphStore) -> None:
    page = search(library, LibraryQuery(text="handoff"))
    assert ids(page) == ["pm:webinar", "pm:nurture"] and page.total == 2
    assert page.hits[0].score is not None and page.hits[1].score is not None
    assert page.hits[0].score > page.hits[1].score
    assert ids(search(library, LibraryQuery(text="paus*"))) == ["pm:nurture"]
    assert ids(search(library, LibraryQuery(text='"sequence paused"'))) == ["pm:nurture"]
    assert search(library, LibraryQuery(text="nothingmatchesthis")).total == 0


def test_matching_findings_action_items_and_follow_up(library: GraphStore) -> None:
    [webinar, nurture] = search(library, LibraryQuery(text="handoff")).hits
    assert [m.id for m in webinar.matches] == ["f:webinar:handoff", "a:webinar:owner"]
    assert webinar.match_count == 2
    assert webinar.matches[1].title_html == "Name a <mark>handoff</mark> owner"
    assert (webinar.matches[1].status, webinar.matches[1].outcome) == ("done", "achieved")
    assert webinar.follow_up.model_dump() == {
        "total": 3,
        "open": 1,
        "in_progress": 1,
        "done": 1,
        "dropped": 0,
        "achieved": 1,
        "missed": 1,
        "undetermined": 0,
    }
    assert [m.id for m in nurture.matches] == ["f:nurture:paused"] and nurture.follow_up.total == 0
    # A closed PART_OF edge takes the finding out of its post-mortem, and out of the matches.
    library.unlink("f:webinar:handoff", Rel.PART_OF, "pm:webinar")
    [webinar, _] = search(library, LibraryQuery(text="handoff")).hits
    assert [m.id for m in webinar.matches] == ["a:webinar:owner"]


def test_highlights_mark_the_terms_and_escape_the_stored_html(library: GraphStore) -> None:
    [hit] = search(library, LibraryQuery(text="handoff AND sla")).hits
    assert hit.title_html == "Webinar &lt;script&gt;alert(1)&lt;/script&gt; post-mortem"
    assert hit.snippets[0] == (
        "After the routing change the <mark>handoff</mark> to sales took &lt;b&gt;nine&lt;/b&gt; days "
        "&amp; the <mark>handoff</mark> owner was unclear"
    )
    assert "<mark>SLA</mark>" in " ".join(hit.snippets)
    [titled] = [h for h in search(library, LibraryQuery(text="webinar")).hits if h.id == "pm:webinar"]
    assert titled.title_html == "<mark>Webinar</mark> &lt;script&gt;alert(1)&lt;/script&gt; post-mortem"
    for h in search(library, LibraryQuery(text="script OR webinar OR handoff")).hits:
        markup = " ".join([h.title_html, *h.snippets, *(m.title_html + m.snippet_html for m in h.matches)])
        assert "<script>" not in markup and "<b>" not in markup
        assert set(re.findall(r"</?[a-z]+>", markup)) <= {"<mark>", "</mark>"}
    excluded = search(library, LibraryQuery(text="handoff -sla"))
    assert ids(excluded) == ["pm:nurture"] and "<mark>" in excluded.hits[0].snippets[0]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('"unbalanced', "a quote is not closed"),
        ("(handoff OR sla", "a parenthesis is not closed"),
        ("handoff AND AND sla", "two operators in a row"),
        ("*off", "a term cannot start with"),
        ("mql/sql", "a slash starts a regular expression"),
        ("handoff^x", r"not valid search syntax \(graph refused"),  # only the backend sees this one
    ],
)
def test_a_lucene_syntax_error_is_refused_clearly(library: GraphStore, text: str, why: str) -> None:
    with pytest.raises(InvalidGraphInput, match=why) as refused:
        search(library, LibraryQuery(text=text))
    assert "put a backslash before" in str(refused.value)
    assert search(library, LibraryQuery(text='"mql/sql" OR handoff')).total == 2  # quoted: fine


# -- facets, dates, pages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        {"channels": ["email"]},
        {"channels": ["webinar", "paid_social"]},
        {"categories": ["workflow_alignment"]},
        {"statuses": ["draft"]},
        {"outcomes": ["on_track", "ahead"]},
        {"tags": ["q1"]},
        {"campaign": "c-webinar"},
        {"channels": ["email"], "statuses": ["published"], "tags": ["nurture", "emea"]},
    ],
)
def test_each_facet_filter_admits_what_it_should(library: GraphStore, where: dict[str, Any]) -> None:
    page = search(library, LibraryQuery(page_size=100, **where))
    expected = by_hand(**where)
    assert sorted(ids(page)) == sorted(p["id"] for p in expected) and page.total == len(expected)
    assert ids(page) == [i for i in NEWEST_FIRST if i in set(ids(page))]  # browse: newest first


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", {}),
        ("", {"statuses": ["published"]}),
        ("handoff OR webinar OR budget", {}),
        ("handoff OR webinar OR budget", {"channels": ["email", "display"]}),
    ],
)
def test_facet_counts_equal_counts_by_hand(library: GraphStore, text: str, where: dict[str, Any]) -> None:
    page = search(library, LibraryQuery(text=text, page_size=100, **where))
    matched = [pm for pm in by_hand(**where) if pm["id"] in set(ids(page))]
    assert len(matched) == page.total == len(page.hits)
    expected = {
        "channel": Counter(c for pm in matched for c in pm["channels"]),
        "category": Counter(c for pm in matched for c in pm["categories"]),
        "status": Counter(pm["status"] for pm in matched),
        "outcome": Counter(pm["outcome"] for pm in matched),
        "tag": Counter(t for pm in matched for t in pm["tags"]),
        "campaign": Counter(pm["campaign"] for pm in matched),
    }
    got = {facet: {c.value: c.count for c in counts} for facet, counts in page.facets.items()}
    assert got == {facet: dict(counts) for facet, counts in expected.items()}
    for counts in page.facets.values():  # most frequent first
        assert [c.count for c in counts] == sorted((c.count for c in counts), reverse=True)


def test_date_range_keeps_campaigns_that_overlap_it(library: GraphStore) -> None:
    page = search(library, LibraryQuery(date_from=date(2026, 3, 15), date_to=date(2026, 4, 15)))
    assert ids(page) == ["pm:nurture", "pm:social"]
    assert {p["id"] for p in by_hand(date_from="2026-03-15", date_to="2026-04-15")} == set(ids(page))
    assert ids(search(library, LibraryQuery(date_from=date(2026, 6, 30)))) == ["pm:webinar-2"]
    assert set(ids(search(library, LibraryQuery(date_to=date(2025, 3, 31), page_size=50)))) == {
        p["id"] for p in FILLERS
    }
    with pytest.raises(ValidationError, match="after date_to"):
        LibraryQuery(date_from=date(2026, 5, 1), date_to=date(2026, 4, 1))


@pytest.mark.parametrize(("text", "size"), [("", 4), ("budget OR handoff OR webinar", 3)])
def test_pages_are_disjoint_cover_everything_and_keep_the_total(
    library: GraphStore, text: str, size: int
) -> None:
    everything = search(library, LibraryQuery(text=text, page_size=100))
    pages = [search(library, LibraryQuery(text=text, page=n, page_size=size)) for n in range(1, 6)]
    seen = [i for p in pages for i in ids(p)]
    assert len(seen) == len(set(seen)) == everything.total  # disjoint, and together all of them
    assert seen == ids(everything)  # the same order, page after page
    assert {p.total for p in pages} == {everything.total}
    assert {p.pages for p in pages} == {-(-everything.total // size)}
    assert pages[-1].hits == []  # past the end: empty, not an error
    if not text:
        assert seen == NEWEST_FIRST
    else:  # identical fillers tie on score and time: the id decides
        fillers = [i for i in seen if i.startswith("pm:filler")]
        assert fillers == sorted(fillers) and len(fillers) == len(FILLERS)


def test_query_limits(library: GraphStore) -> None:
    with pytest.raises(ValidationError):
        LibraryQuery(page_size=101)
    with pytest.raises(ValidationError):
        LibraryQuery(statuses=["archived"])
    with pytest.raises(InvalidGraphInput, match="invalid search: page"):
        LibraryQuery.of(page=0)


def shape(rows: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(r["id"], sorted((p["id"], p["label"]) for p in r["parts"])) for r in rows]


def test_the_neo4j_statements_agree_with_arcadedb_when_browsing(library: GraphStore) -> None:
    """Neo4j is not available here; its statements without the text condition are portable Cypher,
    so they run on ArcadeDB and must give what the SQL gives."""
    from graph.library import _ArcadeLibrary, _conditions, _CypherLibrary

    assert isinstance(library.dialect, ArcadeDialect)
    sql, cypher = _ArcadeLibrary(library.dialect, library.database or ""), _CypherLibrary(library)
    for query in (
        LibraryQuery(),
        LibraryQuery(channels=["email"], statuses=["published"], tags=["nurture", "emea"]),
        LibraryQuery(campaign="c-webinar", categories=["data_quality"], outcomes=["flagged", "unknown"]),
        LibraryQuery(date_from=date(2026, 3, 15), date_to=date(2026, 4, 15)),
    ):
        conditions = _conditions(query, "")
        assert sql.facets(conditions) == cypher.facets(conditions)
        for skip in (0, 2):
            assert shape(sql.page(conditions, skip, 3)) == shape(cypher.page(conditions, skip, 3))
    assert sql.sharing(["email"], ["creative"], "pm:webinar", 4) == cypher.sharing(
        ["email"], ["creative"], "pm:webinar", 4
    )
    assert sql.fetch(["pm:social", "f:social:fatigue"]) == cypher.fetch(["pm:social", "f:social:fatigue"])


# -- similar ----------------------------------------------------------------------------------


def test_similar_ranks_shared_channels_and_categories_first(library: GraphStore) -> None:
    hits = similar(library, "pm:webinar", limit=3)
    assert [h.id for h in hits] == ["pm:webinar-2", "pm:nurture", "pm:search"]
    first = hits[0]
    assert (first.shared_channels, first.shared_categories) == (
        ["email", "webinar"],
        ["data_quality", "workflow_alignment"],
    )
    assert first.facet_jaccard == 1.0 and "sales" in first.shared_terms
    assert first.why.startswith("shares channels email, webinar; failure categories data_quality")
    assert hits[1].facet_jaccard == 0.5 and hits[0].score > hits[1].score > hits[2].score
    assert "pm:webinar" not in [h.id for h in similar(library, "pm:webinar", limit=20)]
    with pytest.raises(NotFound):
        similar(library, "pm:nope")


# -- the service, the CLI, and what `_record` stores ------------------------------------------


def test_service_opens_its_own_store(graph_settings: Settings) -> None:
    with open_store(graph_settings) as store:
        build_library(store)
    page = service.search(graph_settings, LibraryQuery(text="handoff"))
    assert ids(page) == ["pm:webinar", "pm:nurture"]
    assert [h.id for h in service.similar(graph_settings, "pm:webinar", limit=1)] == ["pm:webinar-2"]


@pytest.fixture
def cli(embedded_settings: Settings, test_database: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """`warrant` in this process (a child process spends seconds importing) on a built library."""
    with open_store(embedded_settings, database=test_database) as store:
        build_library(store)
    for name, value in isolated_env(embedded_settings, WARRANT_GRAPH_DATABASE=test_database).items():
        if name.startswith("WARRANT_"):
            monkeypatch.setenv(name, value)
    return CliRunner()


def test_cli_search_and_similar(cli: CliRunner) -> None:
    from api.cli.main import app

    found = cli.invoke(app, ["library", "search", "handoff", "--channel", "email", "--json"])
    assert found.exit_code == 0, found.output
    doc = json.loads(found.stdout)
    assert [h["id"] for h in doc["hits"]] == ["pm:webinar", "pm:nurture"] and doc["total"] == 2
    shown = cli.invoke(app, ["library", "search", "handoff", "--status", "published", "--from", "2026-01-01"])
    assert shown.exit_code == 0, shown.output
    assert "2 post-mortem(s) match" in shown.stdout and "action items: 3 (1 open" in shown.stdout
    assert "<mark>" not in shown.stdout and "&lt;script&gt;" not in shown.stdout
    bad = cli.invoke(app, ["library", "search", "handoff AND AND sla"])
    assert isinstance(bad.exception, InvalidGraphInput) and "two operators in a row" in str(bad.exception)
    bad_date = cli.invoke(app, ["library", "search", "--from", "2026-13-01"])
    assert bad_date.exit_code == 2 and "not a date" in bad_date.output
    like = cli.invoke(app, ["library", "similar", "pm:webinar", "--limit", "2"])
    assert like.exit_code == 0, like.output
    assert "pm:webinar-2" in like.stdout and "pm:nurture" in like.stdout


@pytest.fixture(scope="module")
def engine_result() -> Any:
    from diagnostics.postmortem import run
    from tests.sample_tables import sample_tables

    sample = sample_tables("S", 7)
    campaign = next(c for c in sample.campaigns if c["id"] == "cmp-2026q3")
    return run(sample.tables, sample.campaigns, "cmp-2026q3"), campaign


def test_recording_a_post_mortem_fills_its_library_fields(graph: GraphStore, engine_result: Any) -> None:
    from api.services.postmortem import _Record, _record

    result, campaign = engine_result
    graph.merge(
        [Campaign(id="cmp-2026q3", name=campaign["name"], start=campaign["start"], end=campaign["end"])]
    )
    record = _Record("postmortem:cmp-2026q3:test", "r" * 64, result, [], {}, None, {}, {}, None)
    graph.unit_of_work(lambda tx: _record(tx, record, None))
    pm = graph.get("postmortem:cmp-2026q3:test")
    assert isinstance(pm, PostMortem)
    assert (pm.campaign, pm.period_start, pm.period_end) == ("cmp-2026q3", campaign["start"], campaign["end"])
    ran = {s.key[0] for s in result.dissection.by["channel"]} - {"(none)"}
    named = {f.subject["channel"] for f in result.findings if "channel" in f.subject}
    assert pm.channels == sorted(ran | named) and "paid_social" in pm.channels
    assert pm.categories == sorted({f.category for f in result.findings})
    assert pm.tags == [] and pm.outcome == "flagged"  # the sample's pipeline is flagged
    for f in result.findings:
        assert f.title in pm.search_text and f.statement in pm.search_text
    for item in result.plan.items:
        assert item.title in pm.search_text
    word = next(w for w in re.findall(r"[a-z]{5,}", result.findings[0].title.lower()))
    page = search(graph, LibraryQuery(text=word, channels=["paid_social"], campaign="cmp-2026q3"))
    assert ids(page) == ["postmortem:cmp-2026q3:test"] and page.hits[0].follow_up.total == len(
        result.plan.items
    )
