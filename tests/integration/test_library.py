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
from graph.library import FacetCount, LibraryQuery, search, similar
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
    so they run on ArcadeDB and must give what ArcadeDB's library index gives."""
    from graph.library import _ArcadeLibrary, _conditions, _CypherLibrary

    assert isinstance(library.dialect, ArcadeDialect)
    index, cypher = _ArcadeLibrary(library), _CypherLibrary(library)
    for query in (
        LibraryQuery(),
        LibraryQuery(channels=["email"], statuses=["published"], tags=["nurture", "emea"]),
        LibraryQuery(campaign="c-webinar", categories=["data_quality"], outcomes=["flagged", "unknown"]),
        LibraryQuery(date_from=date(2026, 3, 15), date_to=date(2026, 4, 15)),
    ):
        conditions = _conditions(query, "")
        for skip in (0, 2):
            (counts, rows), (their_counts, their_rows) = (
                backend.matches(conditions, "", skip, 3) for backend in (index, cypher)
            )
            assert counts == their_counts and shape(rows) == shape(their_rows)
    assert index.sharing(["email"], ["creative"], "pm:webinar", 4) == cypher.sharing(
        ["email"], ["creative"], "pm:webinar", 4
    )
    assert index.fetch(["pm:social", "f:social:fatigue"]) == cypher.fetch(["pm:social", "f:social:fatigue"])


# -- the library index: the text as the database matches it, and never stale ---------------------

# Stored text with the characters whose word breaks matter (apostrophes, decimals, colons, hyphens,
# accents, Greek, a long run), as `_record` would store it.
TRICKY = [
    ("pm:t-1", "MQL-to-SQL handoff took 9.5 days (41%); the owner's queue grew 3:1 at 10:30 e.g. U.S. teams"),
    (
        "pm:t-2",
        "Frequency 6.5 on LinkedIn's feed; CTR 0.8% vs. 1,5% plan; cost/lead $120 foo:bar x_1 __init__",
    ),
    ("pm:t-3", "Café Müller naïve ΣΊΣΥΦΟΣ İstanbul straße follow-up wi-fi a..b 3.14.15 " + "x" * 300),
    ("pm:t-4", "Handoff handoff HANDOFF: the paused sequence; routing SLA missed twice"),
    ("pm:t-5", ""),
]
MEMBERSHIP_QUERIES = [
    "handoff",
    "HANDOFF sla",
    "handoff AND sla",
    "handoff OR pacing",
    "+handoff +owner",
    "handoff -sla",
    "handoff AND NOT owner",
    "-handoff",
    "NOT handoff",
    "nothingmatches -handoff",
    '"sequence paused"',
    '"owner handoff"',
    '"handoff"',
    "hand*",
    "Pa*",
    "foo*",
    "(handoff -sla) OR creative",
    "handoff -(sla AND owner)",
    "(handoff OR sla) AND (budget OR webinar)",
    "a AND b OR c",
    "x follow-up AND sla",
    "x a-b c-d AND handoff",
    "follow-up",
    "mql-to-sql",
    "owner's",
    "linkedin's",
    "linkedin",
    "9.5",
    "10",
    "u.s.",
    "x_1",
    "__init__",
    "café",
    "müller",
    "σίσυφος",
    "istanbul",
    "x" * 255,
    "%",
    "handoff && !sla || webinar",
]


def test_the_index_matches_and_ranks_text_as_the_database_does(library: GraphStore) -> None:
    """The index matches the text itself (Lucene's parser and analyser, ArcadeDB's evaluation): for
    every query it must match exactly what the database's full-text index matches, and score it alike."""
    from graph.library import _UNSUPPORTED, _ArcadeLibrary, _Evaluation, _parsed

    library.merge([PostMortem(id=i, title="Tricky", search_text=t, channels=["email"]) for i, t in TRICKY])
    backend = _ArcadeLibrary(library)
    index = backend.index
    assert index.uncertain == 0
    for text in MEMBERSHIP_QUERIES:
        parsed = _parsed(text)
        assert parsed is not _UNSUPPORTED, text
        evaluation = _Evaluation(index)
        found = evaluation.matches(parsed)  # type: ignore[arg-type]
        mine = {index.row(int(s))["id"] for s in found.nonzero()[0]}
        theirs = {index.row(index.by_rid[r])["id"] for r in backend._database_matches(text)}
        assert mine == theirs, text
    for text in ("handoff", "handoff OR sla", '"sequence paused"', "hand*"):
        rows = library.dialect.sql(  # type: ignore[attr-defined]
            library.database or "",
            "SELECT id, $score AS score FROM PostMortem "
            "WHERE SEARCH_INDEX('PostMortem[search_text]', :text) = true",
            {"text": text},
        )
        evaluation = _Evaluation(index)
        evaluation.matches(_parsed(text))  # type: ignore[arg-type]
        scores = index.scores(evaluation.scoring)
        for row in rows:
            assert scores[index.by_id[row["id"]]] == pytest.approx(row["score"], rel=1e-5), (text, row["id"])


@pytest.mark.parametrize(
    ("text", "tokens"),
    [  # what Lucene's StandardAnalyzer makes of them (checked against Lucene 10.5)
        (
            "v2.0 U.S. e.g. 41% 3:1 10:30 foo:bar",
            ["v2.0", "u.s", "e.g", "41", "3", "1", "10", "30", "foo:bar"],
        ),
        (
            "o'brien LinkedIn's rock\u2019n\u2019roll cost/lead A/B",
            ["o'brien", "linkedin's", "rock\u2019n\u2019roll", "cost", "lead", "a", "b"],
        ),
        (
            "a..b 1..2 a.b.c 3.14.15 1.2.3a 12,000.50",
            ["a", "b", "1", "2", "a.b.c", "3.14.15", "1.2.3a", "12,000.50"],
        ),
        ("_ __ _a a_ __init__ x_1 x‿y", ["_a", "a_", "__init__", "x_1", "x‿y"]),
        ("İstanbul ΣΊΣΥΦΟΣ Straße ǅ ẞ", ["istanbul", "σίσυφοσ", "straße", "ǆ", "ß"]),
        ("3\u20444 a·b ¼ ² µ ª \u00d7 \u2013", ["3\u20444", "a·b", "µ", "ª"]),
        ("x" * 300, ["x" * 255, "x" * 45]),
        ("中文 and more", None),  # ideographs: the database analyses these
        ("© 2026", None),  # a pictograph is a word of its own to the tokenizer: the database's
    ],
)
def test_text_is_split_into_words_as_lucene_splits_it(text: str, tokens: list[str] | None) -> None:
    from graph.library import analyze

    assert analyze(text) == tokens


def _lucene(query: Any) -> str:
    """A parsed query written as Lucene's Query.toString writes it (no field)."""
    kind, arg = query
    if kind == "term":
        return str(arg)
    if kind == "phrase":
        return '"' + " ".join(arg) + '"'
    if kind == "prefix":
        return f"{arg}*"
    inner = " ".join(occur + (f"({_lucene(q)})" if q[0] == "bool" else _lucene(q)) for occur, q in arg)
    return inner


@pytest.mark.parametrize(
    ("text", "parsed"),
    [  # what Lucene's classic QueryParser (OR operator, StandardAnalyzer) makes of them
        ("a AND b OR c", "+a +b c"),
        ("a && b || !c", "+a +b -c"),
        ("a NOT b", "a -b"),
        ("(a OR b) AND c", "+(a b) +c"),
        ("-(a AND b)", "-(+a +b)"),
        ("follow-up", "follow up"),
        ("x follow-up", "x follow up"),
        ("follow-up -x", "(follow up) -x"),
        ("x a-b AND y", "x +(a b) +y"),
        ("x y a-b AND z", "x y +(a b) +z"),
        ("x a-b OR y", "x (a b) y"),
        ('x a-b "q r" AND z', 'x a b +"q r" +z'),
        ('"Sequence Paused" pipe*', '"sequence paused" pipe*'),
        ("ANDROID and", "android and"),
        ("(x a-b c)", "x a b c"),
    ],
)
def test_query_text_is_parsed_as_lucenes_classic_parser_does(text: str, parsed: str) -> None:
    from graph.library import _parse

    assert _lucene(_parse(text)) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "handof~",
        "handof~1",
        "title:handoff",
        "handoff^2",
        "[a TO b]",
        "{a TO b}",
        r"hand\-off",
        "ha?doff",
        "h*ff",
        "中文",
        "a + b",
    ],
)
def test_other_query_syntax_is_left_to_the_database(text: str) -> None:
    from graph.library import _parse, _Unsupported

    with pytest.raises(_Unsupported):
        _parse(text)


def _ranked_by_database(store: GraphStore, text: str) -> list[str]:
    """Ids matching `text` as the statements ranked them: the database's $score, newest, id."""
    rows = store.dialect.sql(  # type: ignore[attr-defined]
        store.database or "",
        "SELECT id, created_at, $score AS score FROM PostMortem "
        "WHERE SEARCH_INDEX('PostMortem[search_text]', :text) = true",
        {"text": text},
    )
    rows.sort(key=lambda r: r["id"])
    rows.sort(key=lambda r: r["created_at"], reverse=True)
    rows.sort(key=lambda r: r["score"], reverse=True)
    return [r["id"] for r in rows]


def test_text_the_index_does_not_evaluate_is_matched_by_the_database(library: GraphStore) -> None:
    """Fuzzy terms, fields, boosts (and the like) are matched and ranked by the database; so is every
    text once a post-mortem's text holds a script the index does not split itself."""
    for text in (
        "handof~",
        "search_text:handoff",
        "handoff^3 OR budget",
        "title:handoff",
        "budg?t OR webinar",
    ):
        assert ids(search(library, LibraryQuery(text=text, page_size=100))) == _ranked_by_database(
            library, text
        )
    fuzzy = search(library, LibraryQuery(text="handof~"))
    assert ids(fuzzy) == ["pm:webinar", "pm:nurture"] and fuzzy.hits[0].score > fuzzy.hits[1].score  # type: ignore[operator]
    for size in (1, 2, 3, 5):  # pages of the database's ranking: disjoint, in order, ties by time then id
        pages = [
            search(library, LibraryQuery(text="budget~ OR handoff", page=n, page_size=size))
            for n in (1, 2, 3)
        ]
        assert [i for p in pages for i in ids(p)] == _ranked_by_database(library, "budget~ OR handoff")[
            : 3 * size
        ]
    library.merge(
        [PostMortem(id="pm:jp", title="導入", search_text="導入の handoff 遅延", channels=["email"])]
    )
    assert ids(search(library, LibraryQuery(text="handoff"))) == _ranked_by_database(library, "handoff")
    assert "pm:jp" in ids(search(library, LibraryQuery(text="handoff")))
    assert ids(search(library, LibraryQuery(text="導", channels=["email"]))) == ["pm:jp"]
    page = search(
        library, LibraryQuery(text="handoff OR budget", channels=["email", "display"], page_size=100)
    )
    assert page.total == 3 + len(FILLERS) and page.facets["channel"][0] == FacetCount(
        value="display", count=6
    )


def _same_answers(one: GraphStore, other: GraphStore) -> None:
    for query in (
        LibraryQuery(page_size=100),
        LibraryQuery(text="handoff OR budget OR webinar", page_size=100),
        LibraryQuery(tags=["q1", "emea", "late"], page_size=100),
        LibraryQuery(channels=["email"], text="sla OR paused OR routing"),
    ):
        a, b = search(one, query), search(other, query)
        assert a.model_dump(exclude={"took_ms"}) == b.model_dump(exclude={"took_ms"}), query
    assert similar(one, "pm:webinar", limit=20) == similar(other, "pm:webinar", limit=20)


def test_a_write_through_another_store_shows_in_the_next_search(
    library: GraphStore, embedded_settings: Settings
) -> None:
    """The index lives in this process; another process writing (here another store, with its own
    connection) must show in the very next search: it never answers from a stale index."""
    assert search(library, LibraryQuery(tags=["late"])).total == 0
    with open_store(embedded_settings, database=library.database) as writer:
        social = writer.get("pm:social")
        writer.update("pm:social", {"tags": ["q1", "late"], "outcome": "flagged"}, social.version or 1)
        page = search(library, LibraryQuery(tags=["late"]))
        assert ids(page) == ["pm:social"] and page.facets["outcome"] == [FacetCount(value="flagged", count=1)]
        # A new post-mortem, and a revised text: found by the words it has now, not those it had.
        writer.merge(
            [PostMortem(id="pm:new", title="New", search_text="Routing SLA late again", tags=["late"])]
        )
        writer.update(
            "pm:nurture", {"search_text": "Nothing paused here"}, writer.get("pm:nurture").version or 1
        )
        assert ids(search(library, LibraryQuery(tags=["late"]))) == ["pm:new", "pm:social"]
        assert ids(search(library, LibraryQuery(text="handoff"))) == ["pm:webinar"]
        assert ids(search(library, LibraryQuery(text="sla"))) == ["pm:new", "pm:webinar"]  # the shorter
        assert ids(search(library, LibraryQuery()))[0] == "pm:new"
        # Writes to other nodes (an action item's status) change no post-mortem: the page shows them live.
        writer.update("a:webinar:field", {"status": "done"}, 1)
        [hit] = search(library, LibraryQuery(text="industry")).hits
        assert hit.follow_up.done == 2
        # What the index patched after each write answers as an index built from scratch does.
        with open_store(embedded_settings, database=library.database) as fresh:
            _same_answers(library, fresh)


def test_the_index_scans_when_the_newest_records_do_not_account_for_a_change(
    library: GraphStore, embedded_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change is read from the newest records only when they provably are all of it; otherwise
    (here: the rids the index remembers no longer match) every post-mortem's version is scanned."""
    from graph.library import _index_of, _LibraryIndex

    search(library, LibraryQuery())
    index = _index_of(library.dialect, library.database or "")  # type: ignore[arg-type]
    scans = []
    changes = _LibraryIndex._changes
    monkeypatch.setattr(_LibraryIndex, "_changes", lambda self, sql: scans.append(1) or changes(self, sql))
    with open_store(embedded_settings, database=library.database) as writer:
        writer.update("pm:social", {"tags": ["late"]}, writer.get("pm:social").version or 1)
        assert ids(search(library, LibraryQuery(tags=["late"]))) == ["pm:social"] and scans == []
        index.marks = ("#1:1", "#1:1")  # as if records had been created below the newest seen
        writer.update("pm:search", {"tags": ["late"]}, writer.get("pm:search").version or 1)
        writer.merge([PostMortem(id="pm:new", title="New", tags=["late"])])
        assert ids(search(library, LibraryQuery(tags=["late"]))) == ["pm:new", "pm:search", "pm:social"]
        assert scans == [1]
        with open_store(embedded_settings, database=library.database) as fresh:
            _same_answers(library, fresh)


def test_searches_in_threads_while_another_store_writes(
    library: GraphStore, embedded_settings: Settings
) -> None:
    """The API searches from many threads with one store (one index): searches racing a refresh
    answer from a whole index, old or new, never a half-built one, and the last search sees all."""
    from concurrent.futures import ThreadPoolExecutor

    queries = [LibraryQuery(), LibraryQuery(text="handoff OR budget"), LibraryQuery(tags=["late"])]
    before = [search(library, q).total for q in queries]

    def searching(n: int) -> list[int]:
        return [search(library, queries[(n + i) % len(queries)]).total for i in range(12)]

    with open_store(embedded_settings, database=library.database) as writer, ThreadPoolExecutor(4) as pool:
        running = [pool.submit(searching, n) for n in range(4)]
        for i in range(6):
            writer.merge(
                [PostMortem(id=f"pm:late-{i}", title="Late", search_text="budget late", tags=["late"])]
            )
        seen = [t for r in running for t in r.result()]
    assert max(seen) <= before[0] + 6 and min(seen) >= 0
    assert [search(library, q).total for q in queries] == [before[0] + 6, before[1] + 6, 6]


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
