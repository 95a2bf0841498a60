"""The post-mortem library: one search box over post-mortems, their findings and action items, with
facets, highlighted snippets, pages, follow-up of action items, and similar post-mortems.

Why it reads only PostMortem nodes: search is meant to answer over 10,000 post-mortems in under
100 ms, so what it filters, counts and matches (campaign, period, channels, failure categories,
tags, outcome, and the text of findings and action items) is copied onto each PostMortem when it is
recorded (`api.services.postmortem._record`). A search is then two statements, run at once: one
counts the facets (and so the total) over every match, one fetches the page with each hit's
findings and action items. No statement runs per hit.

Why two statement sets: a text query must filter and count in the statement that matches the text,
or every match would cross the wire. ArcadeDB's full-text index is reachable only from its SQL
(`graph.dialect`), so on ArcadeDB the library is SQL; on Neo4j it is Cypher over
`db.index.fulltext.queryNodes`. Browsing without text uses the same statements without the text
condition (ArcadeDB's SQL scans faster than its Cypher: counting facets over 10,000 post-mortems
took 120-200 ms in SQL, 600 ms in Cypher). Both take user input only as parameters.

What it costs on the embedded ArcadeDB (10,000 post-mortems, a 2-core machine under load): a
search that matches a few hundred answers in 20-30 ms; one that matches 2,000 in about 100 ms; one
that matches nearly all of them (browsing everything, a word in every post-mortem) in 300-550 ms,
because exact facet counts and ArcadeDB's full-text match load every matching record (about 30 us
each; even a bare count of 10,000 text matches took 60-100 ms). Broad searches at that size need
more than this server gives: counts over the best N matches (said to be partial), or a derived
index with facet columns (SQLite FTS5, Tantivy) rebuilt from the graph.

Text is Lucene syntax (words, "phrases", AND/OR/NOT, -excluded, prefix*, fuzzy~). Highlighting is
done here, on the stored text, with the query's positive terms: the backends do not return
highlights, and doing it here escapes every character the user did not search for.
"""

from __future__ import annotations

import html
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Annotated, Any, Literal, Protocol

from neo4j.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from graph.dialect import ArcadeDialect, label_of
from graph.errors import InvalidGraphInput, NotFound
from graph.store import GraphStore

FacetValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Status = Literal["draft", "published"]

FACETS = ("channel", "category", "status", "outcome", "tag", "campaign")
FACET_TOP = 25
"""Values shown per facet, most frequent first (a campaign facet can have thousands)."""
MAX_PAGE_SIZE = 100
MAX_PAGE = 500
SNIPPET_CHARS = 180
MAX_SNIPPETS = 2
MAX_MATCHES = 5
"""Matching findings and action items shown per hit (`match_count` says how many matched)."""
SIMILAR_CANDIDATES = 50
SIMILAR_TERMS = 25
FACET_WEIGHT = 0.6
"""Similarity = 0.6 x Jaccard of channels and categories + 0.4 x Jaccard of significant terms: what
failed and where matters more than wording, which varies between analysts."""


class LibraryQuery(BaseModel):
    """One library search. Filters combine with AND; values within one filter with OR. An empty
    `text` browses: every post-mortem the filters admit, newest first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field("", max_length=500, description="Lucene syntax; empty: browse, newest first.")
    channels: list[FacetValue] = Field(default_factory=list, max_length=50)
    categories: list[FacetValue] = Field(default_factory=list, max_length=50)
    statuses: list[Status] = Field(default_factory=list, max_length=2)
    outcomes: list[FacetValue] = Field(default_factory=list, max_length=20)
    tags: list[FacetValue] = Field(default_factory=list, max_length=50)
    campaign: FacetValue | None = None
    date_from: date | None = Field(None, description="Campaigns that ran on or after this day.")
    date_to: date | None = Field(None, description="Campaigns that ran on or before this day.")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @model_validator(mode="after")
    def _ordered(self) -> LibraryQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        return self

    @classmethod
    def of(cls, **fields: Any) -> LibraryQuery:
        """Build from loose input (CLI), a bad value raised as `InvalidGraphInput` in one line."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InvalidGraphInput(f"invalid search: {where + ': ' if where else ''}{err['msg']}") from None


class FacetCount(BaseModel):
    value: str
    count: int


class FollowUp(BaseModel):
    """Where a post-mortem's action items stand (`status`) and, for those whose expected effect
    monitoring has judged, whether it came true (`outcome`)."""

    total: int = 0
    open: int = 0
    in_progress: int = 0
    done: int = 0
    dropped: int = 0
    achieved: int = 0
    missed: int = 0
    undetermined: int = 0


class MatchedItem(BaseModel):
    """A finding or action item of a hit that contains a searched term (HTML, escaped, terms in
    `<mark>`)."""

    id: str
    label: Literal["Finding", "ActionItem"]
    title_html: str
    snippet_html: str = ""
    category: str | None = None
    status: str | None = None
    outcome: str | None = None


class LibraryHit(BaseModel):
    id: str
    title: str
    title_html: str
    campaign: str = ""
    period_start: str | None = None
    period_end: str | None = None
    status: str = "draft"
    outcome: str = "unknown"
    channels: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    created_at: str | None = None
    score: float | None = None
    snippets: list[str] = Field(default_factory=list, description="HTML: escaped, terms in <mark>.")
    matches: list[MatchedItem] = Field(default_factory=list)
    match_count: int = 0
    follow_up: FollowUp = Field(default_factory=FollowUp)


class LibraryPage(BaseModel):
    query: LibraryQuery
    total: int
    page: int
    page_size: int
    pages: int
    hits: list[LibraryHit]
    facets: dict[str, list[FacetCount]]
    took_ms: float


class SimilarHit(BaseModel):
    """A post-mortem like the one open, and why: what it shares."""

    id: str
    title: str
    campaign: str = ""
    period_start: str | None = None
    period_end: str | None = None
    status: str = "draft"
    outcome: str = "unknown"
    score: float
    facet_jaccard: float
    text_overlap: float
    shared_channels: list[str]
    shared_categories: list[str]
    shared_terms: list[str]
    why: str


# -- search -----------------------------------------------------------------------------------


def search(store: GraphStore, query: LibraryQuery) -> LibraryPage:
    """One page of the post-mortems matching `query`, with facet counts over all of them."""
    started = time.perf_counter()
    text = query.text.strip()
    if text:
        check_syntax(text)
    conditions = _conditions(query, text)
    backend = _backend(store)
    skip = (query.page - 1) * query.page_size
    # The facet count scans every match; the page does not need it, so they run side by side.
    with ThreadPoolExecutor(max_workers=1) as pool:
        counting = pool.submit(_refused_text, text, backend.facets, conditions)
        rows = _refused_text(text, backend.page, conditions, skip, query.page_size)
        counts = counting.result()
    terms = terms_of(text)
    total = sum(counts.get("status", {}).values())
    return LibraryPage(
        query=query,
        total=total,
        page=query.page,
        page_size=query.page_size,
        pages=math.ceil(total / query.page_size),
        hits=[_hit(row, terms, bool(text)) for row in _ranked(rows)],
        facets={
            facet: [
                FacetCount(value=v, count=n)
                for v, n in sorted(counts.get(facet, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_TOP]
            ]
            for facet in FACETS
        },
        took_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _refused_text(text: str, call: Any, *args: Any) -> Any:
    """Run a backend statement; a refusal of a statement holding user text is that text's fault."""
    try:
        return call(*args)
    except (InvalidGraphInput, ClientError) as exc:
        if not text:
            raise
        detail = getattr(exc, "message", None) or str(exc)
        raise InvalidGraphInput(
            f"search text {text!r} is not valid search syntax ({detail}); {_SYNTAX_HINT}"
        ) from None


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score first, then newest, then id: the order the statements page by, so pages never overlap."""
    rows = sorted(rows, key=lambda r: r["id"])
    return sorted(rows, key=lambda r: (r.get("score") or 0.0, r.get("created_at") or ""), reverse=True)


def _hit(row: Mapping[str, Any], terms: Terms, ranked: bool) -> LibraryHit:
    matches: list[tuple[int, MatchedItem]] = []
    follow = Counter[str]()
    for part in row.get("parts") or []:
        label = part["label"]
        if label == "ActionItem":
            follow["total"] += 1
            follow[part.get("status") or "open"] += 1
            if part.get("outcome"):
                follow[part["outcome"]] += 1
        if label not in ("Finding", "ActionItem") or not terms:
            continue
        title, statement = part.get("title") or "", part.get("statement") or ""
        found = terms.count(title) + terms.count(statement)
        if found:
            item = MatchedItem(
                id=part["id"],
                label=label,
                title_html=highlight(title, terms),
                snippet_html=snippet(statement, terms) or "",
                category=part.get("category"),
                status=part.get("status"),
                outcome=part.get("outcome"),
            )
            matches.append((found, item))
    matches.sort(key=lambda m: (-m[0], m[1].label != "Finding", m[1].id))
    title = row.get("title") or ""
    return LibraryHit(
        id=row["id"],
        title=title,
        title_html=highlight(title, terms),
        campaign=row.get("campaign") or "",
        period_start=row.get("period_start"),
        period_end=row.get("period_end"),
        status=row.get("status") or "draft",
        outcome=row.get("outcome") or "unknown",
        channels=row.get("channels") or [],
        categories=row.get("categories") or [],
        tags=row.get("tags") or [],
        created_at=row.get("created_at"),
        score=row.get("score") if ranked else None,
        snippets=_snippets(row, terms),
        matches=[m for _, m in matches[:MAX_MATCHES]],
        match_count=len(matches),
        follow_up=FollowUp(**{k: v for k, v in follow.items() if k in FollowUp.model_fields}),
    )


def _snippets(row: Mapping[str, Any], terms: Terms) -> list[str]:
    """Lines of the searched text that between them show the most searched terms, in text order;
    the summary when browsing."""
    # The campaign id leads the searched text so that it can be searched for; as a snippet it is noise.
    lines = [
        line
        for line in (row.get("search_text") or "").splitlines()
        if line.strip() not in ("", row.get("campaign"))
    ]
    found = [(i, terms.distinct(line), terms.count(line)) for i, line in enumerate(lines)] if terms else []
    found = [f for f in found if f[2]]
    chosen: list[int] = []
    shown: set[str] = set()
    while found and len(chosen) < MAX_SNIPPETS:
        i, words, _ = max(found, key=lambda f: (len(f[1] - shown), f[2], -f[0]))
        chosen.append(i)
        shown |= words
        found = [f for f in found if f[0] != i]
    if chosen:
        return [snippet(lines[i], terms) or "" for i in sorted(chosen)]
    first = (row.get("summary") or "").strip() or (lines[0] if lines else "")
    return [_clip(first)] if first else []


# -- similar ----------------------------------------------------------------------------------


def similar(store: GraphStore, postmortem_id: str, limit: int = 5) -> list[SimilarHit]:
    """Post-mortems like `postmortem_id`: shared channels and failure categories (Jaccard) and shared
    significant terms of their findings and action items, each hit with what it shares."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidGraphInput(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}")
    backend = _backend(store)
    anchor = backend.fetch([postmortem_id]).get(postmortem_id)
    if anchor is None:
        raise NotFound(f"no post-mortem {postmortem_id!r}")
    channels, categories = anchor.get("channels") or [], anchor.get("categories") or []
    words = significant_terms(_text_of(anchor))
    ids = set(backend.sharing(channels, categories, postmortem_id, SIMILAR_CANDIDATES))
    if words:
        # Only [\w] terms reach the text query, so no user or stored text can break its syntax.
        hits = store.search("PostMortem", "search_text", " OR ".join(words[:12]), SIMILAR_CANDIDATES + 1)
        ids.update(i for i, _ in hits)
    ids.discard(postmortem_id)
    mine = _facet_set(anchor)
    out = []
    for node_id, other in backend.fetch(sorted(ids)).items():
        theirs = _facet_set(other)
        their_words = significant_terms(_text_of(other))
        facet_j = _jaccard(mine, theirs)
        text_j = _jaccard(set(words), set(their_words))
        score = FACET_WEIGHT * facet_j + (1 - FACET_WEIGHT) * text_j
        if score <= 0:
            continue
        shared_ch = sorted(set(channels) & set(other.get("channels") or []))
        shared_cat = sorted(set(categories) & set(other.get("categories") or []))
        shared_terms = sorted(set(words) & set(their_words))
        out.append(
            SimilarHit(
                id=node_id,
                title=other.get("title") or "",
                campaign=other.get("campaign") or "",
                period_start=other.get("period_start"),
                period_end=other.get("period_end"),
                status=other.get("status") or "draft",
                outcome=other.get("outcome") or "unknown",
                score=round(score, 4),
                facet_jaccard=round(facet_j, 4),
                text_overlap=round(text_j, 4),
                shared_channels=shared_ch,
                shared_categories=shared_cat,
                shared_terms=shared_terms[:10],
                why=_why(shared_ch, shared_cat, shared_terms),
            )
        )
    out.sort(key=lambda h: (-h.score, h.id))
    return out[:limit]


def _text_of(props: Mapping[str, Any]) -> str:
    return props.get("search_text") or f"{props.get('title') or ''}\n{props.get('summary') or ''}"


def _facet_set(props: Mapping[str, Any]) -> set[str]:
    return {f"channel:{c}" for c in props.get("channels") or []} | {
        f"category:{c}" for c in props.get("categories") or []
    }


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _why(channels: Sequence[str], categories: Sequence[str], terms: Sequence[str]) -> str:
    parts = []
    if channels:
        parts.append("channels " + ", ".join(channels))
    if categories:
        parts.append("failure categories " + ", ".join(categories))
    if terms:
        parts.append("terms " + ", ".join(terms[:6]))
    return "shares " + "; ".join(parts) if parts else "no shared channel, category or term"


_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours per vs via""".split()  # noqa: SIM905
)


def significant_terms(text: str, top: int = SIMILAR_TERMS) -> list[str]:
    """The most frequent words of a text (3+ characters, no stop words, no bare numbers)."""
    words = Counter(
        w for w in _WORD.findall(text.lower()) if len(w) >= 3 and not w.isdigit() and w not in _STOPWORDS
    )
    return [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


# -- query text: syntax, terms, highlights ----------------------------------------------------

_WORD = re.compile(r"\w+")
_QUERY_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"?|\S+')
_SYNTAX_HINT = (
    'quote phrases ("sequence paused"), balance parentheses, and put a backslash before any of '
    '+ - && || ! ( ) { } [ ] ^ " ~ * ? : \\ / meant literally'
)


def check_syntax(text: str) -> None:
    """Refuse the commonest Lucene syntax errors with a message that says which; the backends only
    say that parsing failed."""

    def refuse(why: str) -> None:
        raise InvalidGraphInput(f"search text {text!r} is not valid search syntax: {why}; {_SYNTAX_HINT}")

    plain = re.sub(r"\\.", "", text)
    if plain.count('"') % 2:
        refuse("a quote is not closed")
    outside = re.sub(r'"[^"]*"', '""', plain)
    depth = 0
    for ch in outside:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            refuse("a parenthesis closes before it opens")
    if depth:
        refuse("a parenthesis is not closed")
    if outside.count("[") + outside.count("{") != outside.count("]") + outside.count("}"):
        refuse("a range bracket is not closed")
    if "/" in outside:
        refuse("a slash starts a regular expression")
    tokens = outside.split()
    binary = ("AND", "OR", "&&", "||")
    if tokens and (tokens[0] in binary or tokens[-1] in (*binary, "NOT")):
        refuse("AND, OR and NOT need a term on each side")
    if any(a in binary and b in binary for a, b in pairwise(tokens)):
        refuse("two operators in a row")
    if any(t.lstrip("+-!(")[:1] in ("*", "?") for t in tokens):
        refuse("a term cannot start with * or ?")
    if not _WORD.search(plain):
        refuse("there is no word to search for")


@dataclass(frozen=True)
class Terms:
    """The words a query looks for (positive terms only), as one pattern over whole words, to find
    them again in stored text."""

    pattern: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return self.pattern is not None

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self.pattern.finditer(text)] if self.pattern else []

    def count(self, text: str) -> int:
        return len(self.spans(text))

    def distinct(self, text: str) -> set[str]:
        return {text[a:b].lower() for a, b in self.spans(text)}


def terms_of(text: str) -> Terms:
    """Positive terms of a Lucene query: operators, excluded terms (-x, !x, NOT x), field names,
    boosts and fuzziness dropped; phrases split into words; wildcards kept as patterns."""
    words: set[str] = set()
    wildcards: set[str] = set()
    negate_next = False
    for token in _QUERY_TOKEN.findall(text):
        if token in ("NOT", "!"):
            negate_next = True
            continue
        if token in ("AND", "OR", "&&", "||"):
            continue
        negated, negate_next = negate_next or token[:1] in ("-", "!"), False
        if negated:
            continue
        token = re.sub(r"^[+(]+|\)+$", "", token)
        token = re.sub(r"^\w+:(?=.)", "", token)
        token = re.sub(r"[~^][\d.]*$", "", token)
        if token.startswith('"'):
            words.update(w.lower() for w in _WORD.findall(token))
            continue
        token = re.sub(r"\\(.)", r"\1", token)
        if "*" in token or "?" in token:
            wildcards.add("".join({"*": r"\w*", "?": r"\w"}.get(ch, re.escape(ch)) for ch in token.lower()))
        else:
            words.update(w.lower() for w in _WORD.findall(token))
    alternatives = [re.escape(w) for w in sorted(words)] + sorted(wildcards)
    if not alternatives:
        return Terms()
    return Terms(re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE))


def highlight(text: str, terms: Terms) -> str:
    """`text` as HTML: everything escaped, every searched word wrapped in <mark>."""
    out, last = [], 0
    for start, end in terms.spans(text):
        out.append(html.escape(text[last:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


def snippet(text: str, terms: Terms, width: int = SNIPPET_CHARS) -> str | None:
    """About `width` characters of `text` around its first searched word, as highlighted HTML."""
    spans = terms.spans(text)
    if not spans:
        return None
    first_start, first_end = spans[0]
    start = max(0, first_start - width // 3)
    if start:
        space = text.rfind(" ", 0, start + 1)
        start = space + 1 if space >= 0 else 0
    end = min(len(text), max(start + width, first_end))
    if end < len(text):
        space = text.rfind(" ", first_end, end + 1)
        end = space if space > 0 else end
    piece = text[start:end]
    return ("…" if start else "") + highlight(piece, terms) + ("…" if end < len(text) else "")


def _clip(text: str, width: int = SNIPPET_CHARS) -> str:
    if len(text) <= width:
        return html.escape(text)
    cut = text.rfind(" ", 0, width)
    return html.escape(text[: cut if cut > 0 else width]) + "…"


# -- the statements, per backend ----------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    name: str
    value: Any


def _conditions(query: LibraryQuery, text: str) -> list[_Condition]:
    """The active filters, each a fixed statement fragment whose value travels as a parameter."""
    given: list[tuple[str, Any]] = [
        ("channels", query.channels),
        ("categories", query.categories),
        ("statuses", query.statuses),
        ("outcomes", query.outcomes),
        ("tags", query.tags),
        ("campaign", query.campaign),
        ("date_from", query.date_from.isoformat() if query.date_from else None),
        ("date_to", query.date_to.isoformat() if query.date_to else None),
        ("text", text),
    ]
    return [_Condition(name, value) for name, value in given if value]


class _Backend(Protocol):
    def facets(self, conditions: Sequence[_Condition]) -> dict[str, dict[str, int]]:
        """facet -> value -> how many matching post-mortems have it."""
        ...

    def page(self, conditions: Sequence[_Condition], skip: int, limit: int) -> list[dict[str, Any]]:
        """Matching post-mortems in rank order, each with `parts`: its findings and action items."""
        ...

    def sharing(
        self, channels: Sequence[str], categories: Sequence[str], exclude: str, limit: int
    ) -> list[str]:
        """Ids of the post-mortems with the highest Jaccard of channels and categories to these."""
        ...

    def fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Library fields of these post-mortems (ids that are not post-mortems are left out)."""
        ...


def _backend(store: GraphStore) -> _Backend:
    if isinstance(store.dialect, ArcadeDialect):
        return _ArcadeLibrary(store.dialect, store.database or "warrant")
    return _CypherLibrary(store)


_FIELDS = (
    "id",
    "title",
    "summary",
    "search_text",
    "campaign",
    "period_start",
    "period_end",
    "status",
    "outcome",
    "channels",
    "categories",
    "tags",
    "created_at",
)
_PREFIX = {"c": "channel", "k": "category", "t": "tag", "s": "status", "o": "outcome", "m": "campaign"}
_SEP = "\x1f"  # joins one list's facet keys in ArcadeDB SQL; a control character no value holds


def _tally(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Rows of (k: '<prefix>:<value>', n) into facet -> value -> count; empty values dropped."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        prefix, _, value = str(row["k"]).partition(":")
        if value and prefix in _PREFIX:
            facet = counts.setdefault(_PREFIX[prefix], {})
            facet[value] = facet.get(value, 0) + int(row["n"])
    return counts


class _ArcadeLibrary:
    """ArcadeDB SQL over the embedded server's HTTP API (the only way to its full-text index)."""

    _WHERE = {
        "channels": "channels CONTAINSANY :channels",
        "categories": "categories CONTAINSANY :categories",
        "statuses": "status IN :statuses",
        "outcomes": "outcome IN :outcomes",
        "tags": "tags CONTAINSANY :tags",
        "campaign": "campaign = :campaign",
        "date_from": "period_end >= :date_from",
        "date_to": "period_start <= :date_to",
        "text": "SEARCH_INDEX('PostMortem[search_text]', :text) = true",
    }
    # Prefixed facet keys of one post-mortem, built in the statement, so one pass counts every facet.
    _KEYS = (
        "unionall(('c:' + ifnull(channels, []).join(:join_c)).split(:sep), "
        "('k:' + ifnull(categories, []).join(:join_k)).split(:sep), "
        "('t:' + ifnull(tags, []).join(:join_t)).split(:sep), "
        "['s:' + ifnull(status, 'draft'), 'o:' + ifnull(outcome, 'unknown'), 'm:' + ifnull(campaign, '')])"
    )
    _PARTS = (
        "inE('PART_OF')[valid_to IS NULL].outV()"
        ":{id, @type, title, statement, category, status, outcome} AS parts"
    )

    def __init__(self, dialect: ArcadeDialect, database: str) -> None:
        self.dialect = dialect
        self.database = database

    def _where(self, conditions: Sequence[_Condition]) -> tuple[str, dict[str, Any]]:
        if not conditions:
            return "", {}
        clause = " WHERE " + " AND ".join(self._WHERE[c.name] for c in conditions)
        return clause, {c.name: c.value for c in conditions}

    def _sql(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.dialect.sql(self.database, statement, params, what="library search")

    def facets(self, conditions: Sequence[_Condition]) -> dict[str, dict[str, int]]:
        where, params = self._where(conditions)
        params |= {"sep": _SEP, "join_c": f"{_SEP}c:", "join_k": f"{_SEP}k:", "join_t": f"{_SEP}t:"}
        return _tally(
            self._sql(
                f"SELECT k, count(*) AS n FROM (SELECT {self._KEYS} AS k FROM PostMortem{where} "  # noqa: S608
                "UNWIND k) GROUP BY k",
                params,
            )
        )

    def page(self, conditions: Sequence[_Condition], skip: int, limit: int) -> list[dict[str, Any]]:
        where, params = self._where(conditions)
        text = any(c.name == "text" for c in conditions)
        # The page is cut in the inner statement; the outer one walks PART_OF edges of its rows only
        # (a nested projection on the ordered statement itself was evaluated for every match).
        inner = (
            f"SELECT *, $score AS score FROM PostMortem{where} ORDER BY score DESC, created_at DESC, id"  # noqa: S608
            if text
            else f"SELECT FROM PostMortem{where} ORDER BY created_at DESC, id"
        )
        rows = self._sql(
            f"SELECT {', '.join(_FIELDS)}, {'score' if text else '0.0 AS score'}, {self._PARTS} "  # noqa: S608
            f"FROM ({inner} SKIP :skip LIMIT :limit)",
            {**params, "skip": skip, "limit": limit},
        )
        for row in rows:
            for part in row.get("parts") or []:
                part["label"] = label_of(str(part.pop("@type", "")).split("~"))
        return rows

    def sharing(
        self, channels: Sequence[str], categories: Sequence[str], exclude: str, limit: int
    ) -> list[str]:
        if not channels and not categories:
            return []
        shared = (
            "(intersect(ifnull(channels, []), :channels).size() "
            "+ intersect(ifnull(categories, []), :categories).size())"
        )
        own = "(ifnull(channels, []).size() + ifnull(categories, []).size())"
        rows = self._sql(
            f"SELECT id, ({shared} * 1.0 / ({own} + :size - {shared})) AS jaccard FROM PostMortem "  # noqa: S608
            "WHERE id <> :exclude AND (channels CONTAINSANY :channels OR categories CONTAINSANY :categories) "
            "ORDER BY jaccard DESC, id LIMIT :limit",
            {
                "channels": list(channels),
                "categories": list(categories),
                "size": len(set(channels)) + len(set(categories)),
                "exclude": exclude,
                "limit": limit,
            },
        )
        return [r["id"] for r in rows]

    def fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        rows = self._sql(
            f"SELECT {', '.join(_FIELDS)} FROM PostMortem WHERE id IN :ids",  # noqa: S608
            {"ids": list(ids)},
        )
        return {r["id"]: r for r in rows}


class _CypherLibrary:
    """Neo4j: the same statements in Cypher, text through `db.index.fulltext.queryNodes`."""

    _WHERE = {
        "channels": "any(v IN coalesce(p.channels, []) WHERE v IN $channels)",
        "categories": "any(v IN coalesce(p.categories, []) WHERE v IN $categories)",
        "statuses": "p.status IN $statuses",
        "outcomes": "p.outcome IN $outcomes",
        "tags": "any(v IN coalesce(p.tags, []) WHERE v IN $tags)",
        "campaign": "p.campaign = $campaign",
        "date_from": "p.period_end >= $date_from",
        "date_to": "p.period_start <= $date_to",
    }
    _INDEX = "ft_PostMortem_search_text"  # Neo4jDialect.ensure_schema's name for it
    _RETURN = ", ".join(f"p.{f} AS {f}" for f in _FIELDS)

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def _match(self, conditions: Sequence[_Condition]) -> tuple[str, dict[str, Any]]:
        """Matching post-mortems as `p` with their `score` (0 when browsing)."""
        params = {c.name: c.value for c in conditions}
        where = " AND ".join(self._WHERE[c.name] for c in conditions if c.name != "text")
        if "text" in params:
            params["index"] = self._INDEX
            return (
                "CALL db.index.fulltext.queryNodes($index, $text) YIELD node AS p, score"
                + (f" WHERE {where}" if where else ""),
                params,
            )
        return "MATCH (p:PostMortem)" + (f" WHERE {where}" if where else "") + " WITH p, 0.0 AS score", params

    def facets(self, conditions: Sequence[_Condition]) -> dict[str, dict[str, int]]:
        match, params = self._match(conditions)
        return _tally(
            self.store.read(
                f"{match} UNWIND [v IN coalesce(p.channels, []) | 'c:' + v] "
                "+ [v IN coalesce(p.categories, []) | 'k:' + v] + [v IN coalesce(p.tags, []) | 't:' + v] "
                "+ ['s:' + coalesce(p.status, 'draft'), 'o:' + coalesce(p.outcome, 'unknown'), "
                "'m:' + coalesce(p.campaign, '')] AS k RETURN k, count(*) AS n",
                **params,
            )
        )

    def page(self, conditions: Sequence[_Condition], skip: int, limit: int) -> list[dict[str, Any]]:
        match, params = self._match(conditions)
        rows = self.store.read(
            f"{match} WITH p, score ORDER BY score DESC, p.created_at DESC, p.id SKIP $skip LIMIT $limit "
            "OPTIONAL MATCH (p)<-[r:PART_OF]-(n:Node) WHERE r.valid_to IS NULL "
            "WITH p, score, collect(n {.id, .title, .statement, .category, .status, .outcome, "
            "labels: labels(n)}) AS parts "
            f"RETURN {self._RETURN}, score, parts ORDER BY score DESC, p.created_at DESC, p.id",
            **params,
            skip=skip,
            limit=limit,
        )
        for row in rows:
            for part in row["parts"]:
                part["label"] = label_of(part.pop("labels"))
        return rows

    def sharing(
        self, channels: Sequence[str], categories: Sequence[str], exclude: str, limit: int
    ) -> list[str]:
        if not channels and not categories:
            return []
        rows = self.store.read(
            "MATCH (p:PostMortem) WHERE p.id <> $exclude "
            "WITH p, size([v IN coalesce(p.channels, []) WHERE v IN $channels]) "
            "+ size([v IN coalesce(p.categories, []) WHERE v IN $categories]) AS shared, "
            "size(coalesce(p.channels, [])) + size(coalesce(p.categories, [])) AS own "
            "WHERE shared > 0 "
            "RETURN p.id AS id ORDER BY toFloat(shared) / (own + $size - shared) DESC, p.id LIMIT $limit",
            channels=list(channels),
            categories=list(categories),
            size=len(set(channels)) + len(set(categories)),
            exclude=exclude,
            limit=limit,
        )
        return [r["id"] for r in rows]

    def fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = self.store.read(
            f"MATCH (p:PostMortem) WHERE p.id IN $ids RETURN {self._RETURN}", ids=list(ids)
        )
        return {r["id"]: r for r in rows}
