"""The post-mortem library: one search box over post-mortems, their findings and action items, with
facets, highlighted snippets, pages, follow-up of action items, and similar post-mortems.

Why it reads only PostMortem nodes: search is meant to answer over 10,000 post-mortems in under
100 ms, so what it filters, counts and matches (campaign, period, channels, failure categories,
tags, outcome, and the text of findings and action items) is copied onto each PostMortem when it is
recorded (`api.services.postmortem._record`). Only the page shown walks to its findings and action
items (one statement for the page, none per hit).

Why an index in this process on ArcadeDB: every ArcadeDB statement that touches many post-mortems
pays for each record it loads, whatever it computes. At 10,000 post-mortems on a 2-core machine
under load, counting facets took 120-200 ms, a bare count of 9,000 full-text matches 120-250 ms,
a scan of (rid, version) 55-180 ms; browsing everything took 300 ms and a word found in nearly
every post-mortem 525 ms. So `_LibraryIndex` keeps, per store and database, what the library needs
of every post-mortem (its fields, and its text as the full-text index analyses it) in numpy arrays;
a search filters, matches, counts, ranks and pages there in a few milliseconds and asks the
database only for the page's findings and action items (`tests/bench/bench_library.py`: 10-25 ms
median for every kind, under 100 ms at the 95th percentile on a loaded 2-core machine).

It is never stale. Its fingerprint is the count of PostMortem and of Revision nodes (ArcadeDB keeps
both per bucket: a round trip's cost). `GraphStore` only creates a PostMortem or revises it, writing
a Revision in the same transaction, and never deletes one; so any write by any process changes that
pair. A search answers from the index and reads the fingerprint in the statement that fetches the
page's findings and action items: unchanged, the answer was current after the search began; changed,
the index reads what changed and the search answers again. What changed is the n newest
post-mortems or revisions by rid, when the record below them is the newest seen before (which proves
they are all that is new), else a scan of every post-mortem's (rid, version). A revision of another
node costs one small statement.

The text is matched here with the full-text index's own semantics, checked against the database by
the tests: Lucene's classic query parser and standard analyser (`analyze`, `_parse`), evaluated as
ArcadeDB's executor does (`_Evaluation`: a phrase needs its words anywhere, an exclusion at any
depth excludes from the whole), ranked by its BM25 to the float. Any other query (fuzzy~, field:,
boost^, ranges, escapes, ? wildcards), or any query once a stored text holds a script the analyser
is not reproduced for, is matched and ranked by the database (`SEARCH_INDEX`: its match set, no
record loaded; $score for the page) and counted here.

On Neo4j the library stays Cypher over `db.index.fulltext.queryNodes`: its full-text index is
Lucene's own (phrases by position, its own analyser), which the index here does not reproduce, and
there is no Neo4j here to measure it. Two statements run at once, one counting the facets (and so
the total) over every match, one fetching the page with each hit's findings and action items. User
input only ever travels as parameters.

Text is Lucene syntax (words, "phrases", AND/OR/NOT, -excluded, prefix*, fuzzy~). Highlighting is
done here, on the stored text, with the query's positive terms: the backends do not return
highlights, and doing it here escapes every character the user did not search for.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import html
import itertools
import math
import re
import threading
import time
import unicodedata
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Annotated, Any, Literal, NamedTuple, Protocol

import numpy as np
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
    skip = (query.page - 1) * query.page_size
    counts, rows = _backend(store).matches(_conditions(query, text), text, skip, query.page_size)
    terms = terms_of(text)
    total = sum(counts.get("status", {}).values())
    return LibraryPage(
        query=query,
        total=total,
        page=query.page,
        page_size=query.page_size,
        pages=math.ceil(total / query.page_size),
        hits=[_hit(row, terms, bool(text)) for row in rows],
        facets={
            # The top values only: a campaign facet over 10,000 post-mortems has thousands to sort.
            facet: [
                FacetCount(value=v, count=n)
                for v, n in heapq.nsmallest(
                    FACET_TOP, counts.get(facet, {}).items(), key=lambda kv: (-kv[1], kv[0])
                )
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
    found = []
    for i, line in enumerate(lines if terms else ()):
        spans = terms.spans(line)
        if spans:
            found.append((i, {line[a:b].lower() for a, b in spans}, len(spans)))
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
    words = _significant_terms(_text_of(anchor))
    ids = set(backend.sharing(channels, categories, postmortem_id, SIMILAR_CANDIDATES))
    if words:
        ids.update(backend.alike(words[:12], SIMILAR_CANDIDATES + 1))
    ids.discard(postmortem_id)
    mine = _facet_set(anchor)
    out = []
    for node_id, other in backend.fetch(sorted(ids)).items():
        theirs = _facet_set(other)
        their_words = _significant_terms(_text_of(other))
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


@functools.lru_cache(maxsize=20_000)
def _significant_terms(text: str) -> tuple[str, ...]:
    """`significant_terms` remembered by text: `similar` asks for the same candidates' terms again and
    again, and a post-mortem's text changes only when it is revised (a new text, a new entry)."""
    return tuple(significant_terms(text))


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


# -- text as ArcadeDB's full-text index analyses it -------------------------------------------

_MAX_TOKEN = 255  # the standard tokenizer's longest token; longer runs are cut into pieces this long
_MID_LETTER = ":\u00b7\u0387\u2027"  # joins letters (UAX #29 MidLetter)
_MID_NUM = ",;\u037e\u2044"  # joins digits (MidNum)
_MID_NUM_LET = ".'\u2018\u2019\u2024"  # joins letters or digits (MidNumLet and the single quote)
_EXTEND_NUM_LET = "_\u202f\u203f\u2040\u2054"  # part of any word (ExtendNumLet)
# Pictographs the tokenizer emits as words of their own (emoji rules): left to the database.
_PICTOGRAPHS = "\u00a9\u00ae\u203c\u2049"
_SCRIPTS = ((0x00A0, 0x024F), (0x0370, 0x04FF), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20CF))
"""Latin, Greek, Cyrillic, punctuation and currency: the characters whose word breaks (Unicode's
UAX #29, as Lucene's StandardTokenizer applies it) and lower case (Java's, per code point) are
reproduced here exactly. Text with any other character (CJK, Thai, emoji, combining marks, format
characters) is matched by the database."""


def _char_class(chars: Iterable[str]) -> str:
    """A regex character class of these characters, as ranges."""
    points = sorted({ord(c) for c in chars})
    parts = []
    for _, run in itertools.groupby(enumerate(points), key=lambda ip: ip[1] - ip[0]):
        span = [p for _, p in run]
        first, last = re.escape(chr(span[0])), re.escape(chr(span[-1]))
        parts.append(first if span[0] == span[-1] else f"{first}-{last}")
    return "[" + "".join(parts) + "]"


def _scripts() -> tuple[str, str]:
    """(letters, every character) of `_SCRIPTS` and ASCII that `analyze` handles exactly."""
    letters, known = [], [chr(i) for i in range(128)]
    for low, high in _SCRIPTS:
        for point in range(low, high + 1):
            ch = chr(point)
            category = unicodedata.category(ch)
            if category in ("Cn", "Cf", "Mn", "Mc", "Me", "Lm") or ch in _PICTOGRAPHS:
                continue
            known.append(ch)
            if category in ("Lu", "Ll", "Lt", "Lo"):
                letters.append(ch)
    return "".join(letters), "".join(known)


_LETTERS, _KNOWN = _scripts()
_ANY_UNKNOWN = re.compile("[^" + _char_class(_KNOWN)[1:])


def _token_pattern(letters: str) -> re.Pattern[str]:
    """Words as UAX #29 breaks them: letters, digits and connectors (`_`), joined across one
    MidLetter between letters, one MidNum between digits, or one MidNumLet between either."""
    letter = _char_class(letters)
    word = _char_class(letters + "0123456789" + _EXTEND_NUM_LET)
    join_letters = _char_class(_MID_LETTER + _MID_NUM_LET)
    join_digits = _char_class(_MID_NUM + _MID_NUM_LET)
    return re.compile(
        rf"{word}+(?:(?:(?<={letter}){join_letters}(?={letter})|(?<=[0-9]){join_digits}(?=[0-9])){word}+)*"
    )


def _lower(token: str) -> str:
    """Java's `Character.toLowerCase` per code point (Python's `lower` maps İ to two characters and
    a final Σ to ς; Lucene's LowerCaseFilter does neither)."""
    if token.isascii():
        return token.lower()
    return "".join("i" if ch == "\u0130" else ch.lower() for ch in token)


_ASCII_TOKEN = _token_pattern("abcdefghijklmnopqrstuvwxyz")
# Text is lowered before it is split, so the letters' lower cases are letters too (some lie outside
# `_SCRIPTS`: U+0196 lowers to U+0269).
_TOKEN = _token_pattern("abcdefghijklmnopqrstuvwxyz" + _LETTERS + "".join(_lower(ch) for ch in _LETTERS))
_ASCII_BLANKS = str.maketrans(
    {
        chr(i): " "
        for i in range(128)
        if not (chr(i).isalnum() or chr(i) in _MID_LETTER + _MID_NUM + _MID_NUM_LET + "_")
    }
)
_CONNECTORS_ONLY = re.compile(_char_class(_EXTEND_NUM_LET) + "+")


def analyze(text: str, *, ordered: bool = True) -> list[str] | None:
    """The tokens ArcadeDB's full-text index (Lucene's StandardAnalyzer: UAX #29 words, lower case,
    no stop words) makes of `text`; None when `text` holds a character not reproduced here. Not
    `ordered`: the same tokens in another order (what an index needs; 2x faster)."""
    # Lower case first: within these scripts it maps a letter to a letter, so words break alike.
    if text.isascii():
        # Fast path (a regex over all of it took 3x longer): blank what never joins a word, split,
        # and hand only the pieces holding a joiner or a connector to the exact pattern.
        pieces = text.lower().translate(_ASCII_BLANKS).split()
        if ordered:
            tokens = []
            for piece in pieces:
                if piece.isalnum():
                    tokens.append(piece)
                else:
                    tokens += _ASCII_TOKEN.findall(piece)
        else:
            tokens = list(filter(str.isalnum, pieces))
            tokens += _ASCII_TOKEN.findall(" ".join(itertools.filterfalse(str.isalnum, pieces)))
        connectors = "_" in text
    elif _ANY_UNKNOWN.search(text):
        return None
    else:
        tokens = _TOKEN.findall(_lower(text))
        connectors = any(ch in text for ch in _EXTEND_NUM_LET)
    if connectors:  # a word needs a letter or a digit
        tokens = [t for t in tokens if not _CONNECTORS_ONLY.fullmatch(t)]
    if len(text) > _MAX_TOKEN and max(map(len, tokens), default=0) > _MAX_TOKEN:
        tokens = [t[i : i + _MAX_TOKEN] for t in tokens for i in range(0, len(t), _MAX_TOKEN)]
    return tokens


# -- query text as Lucene's classic parser reads it, evaluated as ArcadeDB does ---------------


class _Unsupported(Exception):
    """Query syntax not evaluated here (fuzzy~, field:, boost^, ranges, escapes, ? and inner *
    wildcards, characters outside `_SCRIPTS`): the database matches that text."""


MUST, SHOULD, MUST_NOT = "+", "", "-"
_WHITESPACE = " \t\n\r\u3000"
_NOT_TERM = frozenset(_WHITESPACE + '+-!():^[]"{}~*?\\/')  # cannot start a term (+ and - may go on one)
_KEYWORDS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT"}

# A parsed query: ("term", token) | ("phrase", tokens) | ("prefix", text) | ("bool", [(occur, query)])
Query = tuple[str, Any]


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens of the classic query parser's grammar (longest match; a keyword wins a tie)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE:
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0 or "\\" in text[i:end]:
                raise _Unsupported
            out.append(("QUOTED", text[i + 1 : end]))
            i = end + 1
        elif ch in "()":
            out.append((ch, ch))
            i += 1
        elif ch in "+-!":
            if i + 1 == n or text[i + 1] in _WHITESPACE:
                raise _Unsupported  # a bare operator is a term of its own to the parser
            out.append(({"+": "PLUS", "-": "MINUS", "!": "NOT"}[ch], ch))
            i += 1
        elif ch in _NOT_TERM:
            raise _Unsupported
        else:
            end = i + 1
            while end < n and (text[end] not in _NOT_TERM or text[end] in "+-"):
                end += 1
            word = text[i:end]
            if end < n and text[end] == "*":
                if end + 1 < n and (text[end + 1] not in _NOT_TERM or text[end + 1] in "+-*?"):
                    raise _Unsupported  # a wildcard inside a term
                out.append(("PREFIX", word))
                end += 1
            elif end < n and text[end] == "?":
                raise _Unsupported
            else:
                out.append((_KEYWORDS.get(word, "TERM"), word))
            i = end
    return out


def _parse(text: str) -> Query | None:
    """`text` as Lucene's classic QueryParser (default operator OR, StandardAnalyzer) parses it;
    None when every term analyses to nothing. Raises `_Unsupported` for anything else."""
    tokens = _lex(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def leaf(kind: str, image: str) -> Query | None:
        if kind == "PREFIX":
            if not image.isascii():
                raise _Unsupported
            return ("prefix", image.lower())  # a prefix is normalised (lower case), not tokenised
        words = analyze(image)
        if words is None:
            raise _Unsupported
        if not words:
            return None
        if len(words) == 1:
            return ("term", words[0])
        if kind == "QUOTED":
            return ("phrase", tuple(words))
        return ("bool", [(SHOULD, ("term", w)) for w in words])  # one term, several words: OR

    def clause() -> Query | None:
        kind = peek()
        if kind == "(":
            take()
            inner = query()
            if peek() != ")":
                raise _Unsupported
            take()
            return inner
        if kind in ("TERM", "PREFIX", "QUOTED"):
            return leaf(*take())
        raise _Unsupported  # what the parser would refuse: the database says why

    def add(clauses: list[tuple[str, Query]], conj: str | None, mods: str | None, q: Query | None) -> None:
        # QueryParserBase.addClause with the OR operator.
        if clauses and conj == "AND" and clauses[-1][0] != MUST_NOT:
            clauses[-1] = (MUST, clauses[-1][1])
        if q is None:
            return
        prohibited = mods == "NOT"
        required = mods == "PLUS" or (conj == "AND" and not prohibited)
        clauses.append((MUST if required else MUST_NOT if prohibited else SHOULD, q))

    def modifiers() -> str | None:
        if peek() in ("PLUS", "MINUS", "NOT"):
            return "NOT" if take()[0] in ("MINUS", "NOT") else "PLUS"
        return None

    def multi_term_ahead(at: int = 0) -> bool:
        # The parser's MultiTerm: a run of bare terms, each followed by anything but AND or OR.
        kinds = [tokens[i][0] if i < len(tokens) else None for i in range(pos + at, pos + at + 2)]
        return kinds[0] == "TERM" and kinds[1] not in ("AND", "OR")

    def multi_term(clauses: list[tuple[str, Query]]) -> Query | None:
        # QueryParserBase.addMultiTermClauses: an OR of words joins the run's clauses, flat.
        first = None
        while True:
            q = leaf(*take())
            if q is not None:
                first = first or q
                clauses.extend(q[1] if q[0] == "bool" else [(SHOULD, q)])
            if not multi_term_ahead():
                return first

    def query() -> Query | None:
        clauses: list[tuple[str, Query]] = []
        first = None
        if peek() == "TERM" and multi_term_ahead(1):
            first = multi_term(clauses)
        else:
            mods = modifiers()
            q = clause()
            add(clauses, None, mods, q)
            first = q if mods is None else None
        while peek() not in (None, ")"):
            if peek() == "TERM" and multi_term_ahead(1):
                multi_term(clauses)
                continue
            conj = take()[0] if peek() in ("AND", "OR") else None
            mods = modifiers()
            add(clauses, conj, mods, clause())
        if len(clauses) == 1 and first is not None:
            return first
        return ("bool", clauses) if clauses else None

    parsed = query()
    if pos != len(tokens):
        raise _Unsupported  # an unbalanced parenthesis
    return parsed


class _Evaluation:
    """One query's matches and scoring terms over an index, with ArcadeDB's semantics
    (`FullTextQueryExecutor`): MUST clauses intersect, SHOULD clauses unite when there is no MUST,
    a phrase needs its words anywhere (the index keeps no positions), every excluded clause
    (`-x`, `NOT x`, at any depth) removes its matches from the final result, and a query of
    exclusions only starts from every indexed post-mortem."""

    def __init__(self, index: _LibraryIndex) -> None:
        self.index = index
        self.excluded = np.zeros(index.size, dtype=bool)
        self.scoring: set[str] = set()

    def matches(self, query: Query | None) -> np.ndarray:
        if query is None:
            return np.zeros(self.index.size, dtype=bool)
        return self._match(query, score=True) & ~self.excluded

    def _match(self, query: Query, score: bool) -> np.ndarray:
        kind, arg = query
        if kind == "bool":
            return self._bool(arg, score)
        words = [arg] if kind == "term" else list(arg) if kind == "phrase" else self.index.with_prefix(arg)
        if score:
            self.scoring.update(words)
        masks = [self.index.term_mask(w) for w in words]
        if kind == "phrase":
            return np.logical_and.reduce(masks)
        return np.logical_or.reduce(masks) if masks else np.zeros(self.index.size, dtype=bool)

    def _bool(self, clauses: list[tuple[str, Query]], score: bool) -> np.ndarray:
        negated = [q for occur, q in clauses if occur == MUST_NOT]
        for q in negated:
            self.excluded |= self._exclusion(q)
        must = None
        should = np.zeros(self.index.size, dtype=bool)
        for occur, q in clauses:
            if occur == MUST:
                found = self._match(q, score)
                must = found if must is None else must & found
            elif occur == SHOULD:
                should |= self._match(q, score)
        if must is not None:
            return must
        if should.any() or not negated:
            return should
        return self.index.indexed.copy()

    def _exclusion(self, query: Query) -> np.ndarray:
        """What an excluded clause removes: every positive leaf under it (a doubly excluded one is
        skipped, as ArcadeDB does)."""
        if query[0] == "bool":
            out = np.zeros(self.index.size, dtype=bool)
            for occur, q in query[1]:
                if occur != MUST_NOT:
                    out |= self._exclusion(q)
            return out
        return self._match(query, score=False)


# -- the library index (ArcadeDB) --------------------------------------------------------------

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
_PROJECTION = ", ".join(_FIELDS)
_LIST_FACETS = {"channels": "channel", "categories": "category", "tags": "tag"}
_RECENT = 256  # changes since the last refresh read from the newest records; more: a scan
_PATCHED = 64  # changed post-mortems patched into `_Columns`; more: they are rebuilt
_SINGLE_FACETS = (("status", "draft"), ("outcome", "unknown"), ("campaign", ""))
"""Single-valued facets and what the statements count a missing value as."""
Sql = Callable[[str, dict[str, Any]], list[dict[str, Any]]]
_COUNTS = (
    "$p[0].n AS p, $r[0].n AS r",
    "$p = (SELECT count(*) AS n FROM PostMortem), $r = (SELECT count(*) AS n FROM Revision)",
)
"""(projection, LET) of the fingerprint: how many post-mortems and revisions there are. Any write
of a post-mortem changes it (see the module's docstring); ArcadeDB keeps both counts per bucket, so
it costs what a round trip does."""


def _fingerprint(row: Mapping[str, Any]) -> tuple[int, int]:
    return int(row.get("p") or 0), int(row.get("r") or 0)


BM25_K1, BM25_B = 1.2, 0.75
_READS = itertools.count()  # orders the fingerprint reads of this process
_INDEXES: weakref.WeakKeyDictionary[ArcadeDialect, dict[str, _LibraryIndex]] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


class _Doc(NamedTuple):
    """One post-mortem as the index holds it: its library fields as stored (lists as tuples), and
    its text's size. Python's cyclic garbage collector stops walking tuples, and dicts of strings
    and tuples, once it has seen them: as dataclasses and lists, an index of 10,000 post-mortems
    added 40,000 objects to every full collection (one paused a search for 130 ms under load)."""

    rid: str
    version: Any
    row: dict[str, Any]
    length: int
    certain: bool


@dataclass(eq=False)
class _Columns:
    """Every post-mortem's fields as arrays over slots (dead slots stay, `alive` false): what filters,
    facet counts, order and BM25 read. Patched after a small change (`_LibraryIndex._patched`, a few
    ms), rebuilt after a large one (50-130 ms at 10,000)."""

    alive: np.ndarray
    indexed: np.ndarray  # alive with some text (what a query of exclusions only starts from)
    length: np.ndarray
    avgdl: float
    documents: int
    browse: np.ndarray  # slots, newest first then by id: the order of browsing and of equal scores
    rank: np.ndarray  # slot -> its place in `browse`
    by_id: np.ndarray  # slots in id order
    id_rank: np.ndarray  # slot -> its place in `by_id`
    values: dict[str, dict[str, int]]  # facet field -> value -> code
    names: dict[str, list[str]]  # facet field -> code -> value
    codes: dict[str, np.ndarray]  # single-valued field -> code per slot (-1: none)
    pairs: dict[str, tuple[np.ndarray, np.ndarray]]  # list field -> (slot, code) per element
    period_start: np.ndarray
    period_end: np.ndarray
    name_ranks: dict[str, np.ndarray] = field(default_factory=dict)  # facet field -> code -> value order


class _Newest:
    """Sort key of the browse order: newest `created_at` first, then by id (as the statements'
    `ORDER BY created_at DESC, id`)."""

    __slots__ = ("created", "id")

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.created = row.get("created_at") or ""
        self.id = row.get("id") or ""

    def __lt__(self, other: _Newest) -> bool:
        return self.created > other.created or (self.created == other.created and self.id < other.id)


def _tokens(row: Mapping[str, Any]) -> list[str] | None:
    return analyze(row.get("search_text") or "", ordered=False)


def _approximate(row: Mapping[str, Any]) -> list[str]:
    """Words of a text `analyze` does not handle, for its length and ranking only: the database
    matches such text."""
    return [_lower(w) for w in _WORD.findall(row.get("search_text") or "")]


def _index_of(dialect: ArcadeDialect, database: str) -> _LibraryIndex:
    """The index of one database as seen through one dialect (one store's connection): kept while the
    store lives, so the API's store keeps it warm and a CLI call builds it once."""
    with _INDEXES_LOCK:
        per_store = _INDEXES.setdefault(dialect, {})
        if database not in per_store:
            per_store[database] = _LibraryIndex()
        return per_store[database]


class _LibraryIndex:
    """What the library needs of every post-mortem of one database, in this process: slots (a
    post-mortem keeps its slot while it lives), postings token -> (slots, term frequencies), and
    `_Columns`. Correct for the fingerprint read before it was last refreshed; `refresh` brings it
    up to date with whatever any process wrote."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fingerprint: tuple[int, int] | None = None
        self.marks: tuple[str | None, str | None] = (None, None)  # highest rids seen (`_marks`)
        self.read_at = -1  # the `_READS` number of the fingerprint read it is fresh for
        self.slots: list[_Doc | None] = []
        self.by_rid: dict[str, int] = {}
        self.by_id: dict[str, int] = {}
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.uncertain = 0  # live post-mortems whose text `analyze` does not handle
        self._columns: _Columns | None = None
        self._vocabulary: list[str] | None = None
        self._masks: dict[str, np.ndarray] = {}

    @property
    def size(self) -> int:
        return len(self.slots)

    # -- keeping it fresh ---------------------------------------------------------------------

    def refresh(self, sql: Sql, known: tuple[tuple[int, int], int] | None = None) -> None:
        """Bring the index up to date with whatever any process wrote: one cheap statement when
        nothing changed; when something did, the newest post-mortems and revisions (`_recent`), or
        a scan of every post-mortem's (rid, version) when those do not account for the change.
        `known`: the fingerprint, already read after the `_READS` number given with it."""
        if known is None:
            reading = next(_READS)
            fingerprint = _fingerprint(sql(f"SELECT {_COUNTS[0]} LET {_COUNTS[1]}", {})[0])
        else:
            fingerprint, reading = known
        with self.lock:
            # An index refreshed after a read that began after ours is at least as fresh as we need.
            if fingerprint == self.fingerprint or self.read_at > reading:
                return
            recent = self._recent(sql, fingerprint) if self.fingerprint is not None else None
            if recent is not None:
                changed, gone, self.marks = recent
            else:
                if self.fingerprint is None:
                    everything = f"SELECT @rid AS rid, version, {_PROJECTION} FROM PostMortem"  # noqa: S608
                    changed, gone = sql(everything, {}), []
                else:
                    changed, gone = self._changes(sql)
                self.marks = self._marks(sql)
            self._apply(changed, gone)
            self.fingerprint, self.read_at = fingerprint, reading

    @staticmethod
    def _marks(sql: Sql) -> tuple[str | None, str | None]:
        """The highest rid of PostMortem and of Revision (read after a full load; if a write races
        the read, the next `_recent` fails its check and scans)."""
        row = sql(
            "SELECT $p[0].rid AS p, $r[0].rid AS r "
            "LET $p = (SELECT @rid AS rid FROM PostMortem ORDER BY @rid DESC LIMIT 1), "
            "$r = (SELECT @rid AS rid FROM Revision ORDER BY @rid DESC LIMIT 1)",
            {},
        )[0]
        return row.get("p"), row.get("r")

    def _recent(
        self, sql: Sql, fingerprint: tuple[int, int]
    ) -> tuple[list[dict[str, Any]], list[str], tuple[str | None, str | None]] | None:
        """What changed, from the newest records alone, or None when they cannot be proven to be
        all of it. n more post-mortems (or revisions) since the last refresh are the n records above
        the highest rid seen then *if* the (n+1)th newest is that very record: a record created
        below it, or one deleted, makes that check fail (reading the newest records by rid costs
        what reading n records does; scanning every post-mortem costs 55-180 ms at 10,000)."""
        assert self.fingerprint is not None
        (pm_then, rev_then), (pm_now, rev_now) = self.fingerprint, fingerprint
        new_pms, new_revisions = pm_now - pm_then, rev_now - rev_then
        if not (0 <= new_pms <= _RECENT and 0 <= new_revisions <= _RECENT):
            return None
        pm_mark, rev_mark = self.marks

        def newest(what: str, count: int, mark: str | None) -> list[dict[str, Any]] | None:
            rows = sql(f"SELECT @rid AS rid, {what} ORDER BY @rid DESC LIMIT :n", {"n": count + 1})
            proven = (
                len(rows) == count if mark is None else len(rows) == count + 1 and rows[-1]["rid"] == mark
            )
            return rows[:count] if proven else None

        changed: list[dict[str, Any]] = []
        if new_pms:
            created = newest(f"version, {_PROJECTION} FROM PostMortem", new_pms, pm_mark)
            if created is None:
                return None
            changed, pm_mark = created, created[0]["rid"]
        if new_revisions:
            revised = newest("node_id FROM Revision", new_revisions, rev_mark)
            if revised is None:
                return None
            rev_mark = revised[0]["rid"]
            known = {r["rid"] for r in changed}
            stale = {self.rid(self.by_id[r["node_id"]]) for r in revised if r.get("node_id") in self.by_id}
            if stale - known:
                changed += sql(
                    f"SELECT @rid AS rid, version, {_PROJECTION} FROM PostMortem WHERE @rid IN :rids",  # noqa: S608
                    {"rids": sorted(stale - known)},
                )
        return changed, [], (pm_mark, rev_mark)

    def _changes(self, sql: Sql) -> tuple[list[dict[str, Any]], list[str]]:
        """What changed, by a scan of every post-mortem's (rid, version)."""
        current = {r["rid"]: r["version"] for r in sql("SELECT @rid AS rid, version FROM PostMortem", {})}
        gone = [rid for rid in self.by_rid if rid not in current]
        stale = [
            rid
            for rid, version in current.items()
            if rid not in self.by_rid or self.slots[self.by_rid[rid]].version != version  # type: ignore[union-attr]
        ]
        if not stale:
            return [], gone
        rows = sql(
            f"SELECT @rid AS rid, version, {_PROJECTION} FROM PostMortem WHERE @rid IN :rids",  # noqa: S608
            {"rids": stale},
        )
        return rows, gone

    def _apply(self, rows: list[dict[str, Any]], gone: list[str]) -> None:
        """Put these rows (rid, version and `_FIELDS`: new post-mortems or new states of known ones)
        in fresh slots, and take the `gone` rids out."""
        if not rows and not gone:
            return
        removed: dict[str, set[int]] = {}
        dropped = [self.by_rid.pop(rid) for rid in gone + [r["rid"] for r in rows if r["rid"] in self.by_rid]]
        for slot in dropped:
            self._drop(slot, removed)
        for token, leaving in removed.items():
            slots, tfs = self.postings[token]
            keep = ~np.isin(slots, list(leaving))
            if keep.any():
                self.postings[token] = (slots[keep], tfs[keep])
            else:
                del self.postings[token]
        first = len(self.slots)
        tokens: list[str] = []
        lengths = []
        for row in rows:
            rid, version = row.pop("rid"), row.pop("version", None)
            for name in _LIST_FACETS:
                if isinstance(row.get(name), list):
                    row[name] = tuple(row[name])
            found = _tokens(row)
            certain = found is not None
            found = found if found is not None else _approximate(row)
            self.by_rid[rid] = self.by_id[row["id"]] = len(self.slots)
            self.slots.append(_Doc(rid, version, row, len(found), certain))
            self.uncertain += not certain
            tokens += found
            lengths.append(len(found))
        self._post(tokens, np.repeat(np.arange(first, len(self.slots)), lengths))
        small = self._columns is not None and len(rows) + len(dropped) <= _PATCHED
        self._columns = self._patched(self._columns, dropped, first) if small else None  # type: ignore[arg-type]
        self._vocabulary, self._masks = None, {}
        live = len(self.by_rid)
        if self.size - live > max(1024, live):  # a revised post-mortem takes a new slot: compact
            docs = [d for d in self.slots if d is not None]
            self.slots, self.by_rid, self.by_id, self.postings, self.uncertain = [], {}, {}, {}, 0
            self._columns = None
            self._apply([{"rid": d.rid, "version": d.version, **d.row} for d in docs], [])

    def _post(self, tokens: list[str], slots: np.ndarray) -> None:
        """Add (token, slot) occurrences to the postings, counted into term frequencies (vectorised:
        a Python loop over the 890,000 tokens of 10,000 post-mortems took 1-2 s)."""
        if not tokens:
            return
        vocabulary = {token: n for n, token in enumerate(dict.fromkeys(tokens))}
        ids = np.fromiter(map(vocabulary.__getitem__, tokens), np.int64, len(tokens))
        width = max(len(self.slots), 1)
        keys, tfs = np.unique(ids * width + slots, return_counts=True)
        terms, posted = keys // width, (keys % width).astype(np.int32)
        bounds = np.flatnonzero(np.diff(terms)) + 1
        names = list(vocabulary)
        for start, end in zip(
            np.concatenate(([0], bounds)), np.concatenate((bounds, [len(keys)])), strict=True
        ):
            token = names[terms[start]]
            new = (posted[start:end], tfs[start:end].astype(np.float64))
            old = self.postings.get(token)
            self.postings[token] = (
                new if old is None else (np.concatenate((old[0], new[0])), np.concatenate((old[1], new[1])))
            )

    def _drop(self, slot: int, removed: dict[str, set[int]]) -> None:
        doc = self.slots[slot]
        assert doc is not None
        self.slots[slot] = None
        if self.by_id.get(doc.row.get("id")) == slot:
            del self.by_id[doc.row["id"]]
        self.uncertain -= not doc.certain
        for token in set((_tokens(doc.row) if doc.certain else None) or _approximate(doc.row)):
            removed.setdefault(token, set()).add(slot)

    # -- reading it ---------------------------------------------------------------------------

    @property
    def columns(self) -> _Columns:
        if self._columns is None:
            self._columns = self._build_columns()
        return self._columns

    @property
    def indexed(self) -> np.ndarray:
        return self.columns.indexed

    def term_mask(self, token: str) -> np.ndarray:
        mask = self._masks.get(token)
        if mask is None:
            mask = np.zeros(self.size, dtype=bool)
            found = self.postings.get(token)
            if found is not None:
                mask[found[0]] = True
            if len(self._masks) > 512:
                self._masks.clear()
            self._masks[token] = mask
        return mask

    @property
    def vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            self._vocabulary = sorted(self.postings)
        return self._vocabulary

    def with_prefix(self, prefix: str) -> list[str]:
        start = bisect.bisect_left(self.vocabulary, prefix)
        return self.vocabulary[start : bisect.bisect_left(self.vocabulary, prefix + "\U0010ffff")]

    def scores(self, tokens: Iterable[str]) -> np.ndarray:
        """BM25 of every slot for these tokens (ArcadeDB's formula and statistics: its $score to
        the float, measured on 10,000 post-mortems)."""
        cols = self.columns
        out = np.zeros(self.size)
        for token in tokens:
            found = self.postings.get(token)
            if found is None:
                continue
            slots, tf = found
            idf = math.log(1.0 + (cols.documents - len(slots) + 0.5) / (len(slots) + 0.5))
            norm = BM25_K1 * (1.0 - BM25_B + BM25_B * cols.length[slots] / cols.avgdl)
            out[slots] += idf * tf * (BM25_K1 + 1.0) / (tf + norm)
        # ArcadeDB's $score is a float: scores that round alike tie there, and the tie goes to the
        # newest, so they must tie here too.
        return out.astype(np.float32)

    def _build_columns(self) -> _Columns:
        docs = self.slots
        n = len(docs)
        rows = [d.row if d is not None else {} for d in docs]
        alive = np.fromiter((d is not None for d in docs), bool, n)
        length = np.fromiter((d.length if d is not None else 0 for d in docs), np.float64, n)
        live = np.flatnonzero(alive).tolist()
        ids = [r.get("id") or "" for r in rows]
        created = [r.get("created_at") or "" for r in rows]
        by_id = sorted(live, key=ids.__getitem__)
        # Newest first, then by id: a stable sort by time of the slots sorted by id.
        browse = sorted(by_id, key=created.__getitem__, reverse=True)
        values: dict[str, dict[str, int]] = {}
        names: dict[str, list[str]] = {}
        codes, pairs, start, end = self._encoded(rows, range(n), values, names)
        return self._assembled(alive, length, browse, by_id, values, names, codes, pairs, start, end)

    def _patched(self, old: _Columns, dropped: list[int], first: int) -> _Columns:
        """`old` with the dropped slots dead and the slots from `first` on added: a change of one
        post-mortem then costs a few ms, not a rebuild (`old` is spent: its dictionaries grow)."""
        added = range(first, self.size)
        rows = [self.row(i) for i in added]
        alive = np.concatenate((old.alive, np.ones(len(added), dtype=bool)))
        alive[np.array(dropped, dtype=np.int64)] = False
        length = np.concatenate(
            (old.length, np.array([self.slots[i].length for i in added], dtype=np.float64))
        )  # type: ignore[union-attr]
        codes, pairs, start, end = self._encoded(rows, added, old.values, old.names)
        for name, column in old.codes.items():
            codes[name] = np.concatenate((column, codes[name]))
        for name, (slots, values) in old.pairs.items():
            pairs[name] = (np.concatenate((slots, pairs[name][0])), np.concatenate((values, pairs[name][1])))
        browse = [i for i in old.browse.tolist() if alive[i]]
        by_id = [i for i in old.by_id.tolist() if alive[i]]
        for i in added:
            bisect.insort(browse, i, key=lambda j: _Newest(self.row(j)))
            bisect.insort(by_id, i, key=lambda j: self.row(j).get("id") or "")
        return self._assembled(
            alive,
            length,
            browse,
            by_id,
            old.values,
            old.names,
            codes,
            pairs,
            np.concatenate((old.period_start, start)),
            np.concatenate((old.period_end, end)),
        )

    @staticmethod
    def _encoded(
        rows: list[dict[str, Any]],
        slots: Sequence[int],
        values: dict[str, dict[str, Any]],
        names: dict[str, list[Any]],
    ) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
        """Facet codes, list-facet pairs and period bounds of `rows` (at `slots`); new values are
        added to `values` (value -> code) and `names` (code -> value)."""

        def encode(fieldname: str, column: list[Any]) -> np.ndarray:
            known = values.setdefault(fieldname, {})
            named = names.setdefault(fieldname, [])
            for value in dict.fromkeys(column):
                if value is not None and value not in known:
                    known[value] = len(named)
                    named.append(value)
            lookup: dict[Any, int] = {**known, None: -1}
            return np.fromiter(map(lookup.__getitem__, column), np.int64, len(column))

        codes = {}
        # Filters compare the stored value; facets count it with the statements' defaults.
        for fieldname, default in _SINGLE_FACETS:
            stored = [r.get(fieldname) for r in rows]
            codes[fieldname] = encode(fieldname, stored)
            codes[f"{fieldname}:facet"] = encode(fieldname, [default if v is None else v for v in stored])
        pairs = {}
        for fieldname in _LIST_FACETS:
            lists = [r.get(fieldname) or () for r in rows]
            counts = np.fromiter(map(len, lists), np.int64, len(lists))
            flat = list(itertools.chain.from_iterable(lists))
            pairs[fieldname] = (np.repeat(np.array(slots, dtype=np.int64), counts), encode(fieldname, flat))
        # ISO dates compare as text (as in the statements); a missing one never passes a bound.
        start = np.array([r.get("period_start") or "\uffff" for r in rows], dtype=str)
        end = np.array([r.get("period_end") or "" for r in rows], dtype=str)
        return codes, pairs, start, end

    def _assembled(
        self,
        alive: np.ndarray,
        length: np.ndarray,
        browse: list[int],
        by_id: list[int],
        values: dict[str, dict[str, int]],
        names: dict[str, list[str]],
        codes: dict[str, np.ndarray],
        pairs: dict[str, tuple[np.ndarray, np.ndarray]],
        start: np.ndarray,
        end: np.ndarray,
    ) -> _Columns:
        n = len(alive)
        indexed = alive & (length > 0)
        documents = int(alive.sum())  # BM25's N and average length count empty texts too (as ArcadeDB)
        rank = np.full(n, n, dtype=np.int64)
        rank[browse] = np.arange(len(browse))
        id_rank = np.full(n, n, dtype=np.int64)
        id_rank[by_id] = np.arange(len(by_id))
        return _Columns(
            alive=alive,
            indexed=indexed,
            length=length,
            avgdl=float(length[alive].mean()) if documents and length[alive].any() else 1.0,
            documents=documents,
            browse=np.array(browse, dtype=np.int64),
            rank=rank,
            by_id=np.array(by_id, dtype=np.int64),
            id_rank=id_rank,
            values=values,
            names=names,
            codes=codes,
            pairs=pairs,
            period_start=start,
            period_end=end,
        )

    def admitted(self, conditions: Sequence[_Condition]) -> np.ndarray:
        """Live post-mortems the filters (not the text) admit."""
        cols = self.columns
        mask = cols.alive.copy()
        for c in conditions:
            if c.name in _LIST_FACETS:
                slots, codes = cols.pairs[c.name]
                wanted = [cols.values.get(c.name, {}).get(v, -2) for v in c.value]
                hit = np.zeros(self.size, dtype=bool)
                hit[slots[np.isin(codes, wanted)]] = True
                mask &= hit
            elif c.name in ("statuses", "outcomes", "campaign"):
                fieldname = {"statuses": "status", "outcomes": "outcome"}.get(c.name, c.name)
                given = c.value if isinstance(c.value, list) else [c.value]
                wanted = [cols.values.get(fieldname, {}).get(v, -2) for v in given]
                mask &= np.isin(cols.codes[fieldname], wanted)
            elif c.name == "date_from":
                mask &= cols.period_end >= c.value
            elif c.name == "date_to":
                mask &= cols.period_start <= c.value
        return mask

    def facets(self, mask: np.ndarray, top: int | None = None) -> dict[str, dict[str, int]]:
        """facet -> value -> how many of the masked post-mortems have it (empty values left out);
        with `top`, only the `top` most frequent values of each facet (ties by value), chosen here:
        a campaign facet over 10,000 post-mortems has thousands of values."""
        cols = self.columns
        out: dict[str, dict[str, int]] = {}
        counted = [(f, cols.codes[f"{f}:facet"][mask]) for f, _ in _SINGLE_FACETS]
        counted += [(f, codes[mask[slots]]) for f, (slots, codes) in cols.pairs.items()]
        for fieldname, codes in counted:
            names = cols.names.get(fieldname, [])
            tally = np.bincount(codes[codes >= 0], minlength=len(names))
            if "" in cols.values.get(fieldname, {}):
                tally[cols.values[fieldname][""]] = 0
            present = np.flatnonzero(tally)
            if top is not None and len(present) > top:
                by_name = self._name_ranks(cols, fieldname)
                present = present[np.lexsort((by_name[present], -tally[present]))[:top]]
            found = zip([names[i] for i in present.tolist()], tally[present].tolist(), strict=True)
            out[_LIST_FACETS.get(fieldname, fieldname)] = dict(found)
        return out

    @staticmethod
    def _name_ranks(cols: _Columns, fieldname: str) -> np.ndarray:
        """code -> the place of its value in value order (kept until a new value appears)."""
        names = cols.names.get(fieldname, [])
        known = cols.name_ranks.get(fieldname)
        if known is None or len(known) != len(names):
            known = np.empty(len(names), dtype=np.int64)
            known[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
            cols.name_ranks[fieldname] = known
        return known

    def row(self, slot: int) -> dict[str, Any]:
        doc = self.slots[slot]
        assert doc is not None
        return doc.row

    def rid(self, slot: int) -> str:
        doc = self.slots[slot]
        assert doc is not None
        return doc.rid


# -- the backends -------------------------------------------------------------------------------


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
    def matches(
        self, conditions: Sequence[_Condition], text: str, skip: int, limit: int
    ) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
        """(facet -> value -> how many matching post-mortems have it, for at least the FACET_TOP most
        frequent values of each facet; the page of matches in rank order, each with `score` and
        `parts`: its findings and action items)."""
        ...

    def sharing(
        self, channels: Sequence[str], categories: Sequence[str], exclude: str, limit: int
    ) -> list[str]:
        """Ids of the post-mortems with the highest Jaccard of channels and categories to these."""
        ...

    def alike(self, words: Sequence[str], limit: int) -> list[str]:
        """Ids of the post-mortems whose text best matches any of these words (plain [\\w] words)."""
        ...

    def fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Library fields of these post-mortems (ids that are not post-mortems are left out)."""
        ...


def _backend(store: GraphStore) -> _Backend:
    if isinstance(store.dialect, ArcadeDialect):
        return _ArcadeLibrary(store)
    return _CypherLibrary(store)


class _ArcadeLibrary:
    """ArcadeDB: the library index in this process, refreshed before each use; the database is
    asked for the page's findings and action items, and for the matches of text the index does not
    evaluate itself (SQL over the embedded server's HTTP API, the only way to its full-text index)."""

    _PARTS = (
        "inE('PART_OF')[valid_to IS NULL].outV()"
        ":{id, @type, title, statement, category, status, outcome} AS parts"
    )

    def __init__(self, store: GraphStore) -> None:
        assert isinstance(store.dialect, ArcadeDialect)
        self.store = store
        self.dialect = store.dialect
        self.database = store.database or "warrant"
        self._index: _LibraryIndex | None = None

    def _sql(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.dialect.sql(self.database, statement, params, what="library search")

    @property
    def index(self) -> _LibraryIndex:
        """The index, refreshed once per use of this object (one search, one `similar`)."""
        if self._index is None:
            index = _index_of(self.dialect, self.database)
            index.refresh(self._sql)
            self._index = index
        return self._index

    def _database_matches(self, text: str) -> list[str]:
        """Rids of the post-mortems matching `text`, best first, by the full-text index (the match
        set only: no record is loaded, about 5 ms for 400 matches, 20-90 ms for 9,000)."""
        rows = _refused_text(
            text, self._sql, "SELECT SEARCH_INDEX('PostMortem[search_text]', :text) AS r", {"text": text}
        )
        return [str(r) for r in (rows[0].get("r") or [])] if rows else []

    def _database_scores(self, text: str, until: str) -> dict[str, float]:
        """rid -> $score of the best matches of `text`, down to the score of rid `until` and every
        match that ties with it (the database orders ties its own way: all of them are read)."""
        wanted = 32
        while True:
            rows = self._sql(
                "SELECT @rid AS rid, $score AS score FROM PostMortem "
                "WHERE SEARCH_INDEX('PostMortem[search_text]', :text) = true ORDER BY score DESC LIMIT :n",
                {"text": text, "n": wanted},
            )
            scores = {r["rid"]: float(r["score"]) for r in rows}
            if len(rows) < wanted or (until in scores and rows[-1]["score"] < scores[until]):
                return scores
            wanted *= 4

    def matches(
        self, conditions: Sequence[_Condition], text: str, skip: int, limit: int
    ) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
        # Answered from the index as it is, then checked: one statement reads the page's findings
        # and action items and the fingerprint. Unchanged (the usual case): the index was current
        # after this search began, one round trip in all. Changed: refresh, answer again.
        index = _index_of(self.dialect, self.database)
        reading = next(_READS)
        checked = index.fingerprint is None
        if checked:
            index.refresh(self._sql)  # the first search through this store loads the index
        while True:
            counts, rows, rids, used = self._answer(index, conditions, text, skip, limit)
            if checked:
                parts = self._parts(rids)
                break
            found = self._sql(
                f"SELECT {_COUNTS[0]}, $parts AS parts LET {_COUNTS[1]}, "  # noqa: S608
                f"$parts = (SELECT @rid AS rid, {self._PARTS} FROM PostMortem WHERE @rid IN :rids)",
                {"rids": rids},
            )[0]
            parts = {r["rid"]: r.get("parts") or [] for r in found.get("parts") or []}
            if _fingerprint(found) == used:
                break
            index.refresh(self._sql, (_fingerprint(found), reading))
            checked = True
        for row, rid in zip(rows, rids, strict=True):
            row["parts"] = parts.get(rid, [])
            for part in row["parts"]:
                part["label"] = label_of(str(part.pop("@type", "")).split("~"))
        return counts, rows

    def _answer(
        self, index: _LibraryIndex, conditions: Sequence[_Condition], text: str, skip: int, limit: int
    ) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]], list[str], tuple[int, int] | None]:
        """(facet counts, the page's rows, their rids, the index's fingerprint) from the index as it is."""
        filters = [c for c in conditions if c.name != "text"]
        here = not text or (_parsed(text) is not _UNSUPPORTED and not index.uncertain)
        # The database's matches (when needed) are read before taking the lock: other searches go on.
        rids = None if here else self._database_matches(text)
        with index.lock:
            used = index.fingerprint
            if rids is None and text and index.uncertain:  # text in another script, written meanwhile
                rids = self._database_matches(text)
            mask = index.admitted(filters)
            rank = index.columns.rank
            if rids is None:
                scores = None
                if text:
                    evaluation = _Evaluation(index)
                    mask &= evaluation.matches(_parsed(text))  # type: ignore[arg-type]
                    scores = index.scores(evaluation.scoring)
                counts = index.facets(mask, FACET_TOP)
                chosen = np.flatnonzero(mask)
                order = (
                    np.lexsort((rank[chosen], -scores[chosen]))
                    if scores is not None
                    else np.argsort(rank[chosen])
                )
                page = [
                    (int(s), float(scores[s]) if scores is not None else 0.0)
                    for s in chosen[order[skip : skip + limit]]
                ]
                return (
                    counts,
                    [{**index.row(s), "score": score} for s, score in page],
                    [index.rid(s) for s, _ in page],
                    used,
                )
            # The database ranks this text: its order (best first) and, for the page, its scores.
            listed = [index.by_rid[r] for r in rids if r in index.by_rid]
            ordered = [s for s in listed if mask[s]]
            mask[:] = False
            mask[np.array(ordered, dtype=np.int64)] = True
            counts = index.facets(mask, FACET_TOP)
            ordered_rows = [(index.rid(s), index.row(s), int(rank[s])) for s in ordered]
        rows, page_rids = self._ranked_by_database(text, ordered_rows, skip, limit)
        return counts, rows, page_rids, used

    def _ranked_by_database(
        self, text: str, ordered: list[tuple[str, dict[str, Any], int]], skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """The page of (rid, row, browse rank) `ordered` best first by the database: by its $score,
        then newest, then id, as the statements ordered it. The page's last match and every match that
        ties with it are scored; whatever ranks above them is among them."""
        if skip >= len(ordered):
            return [], []
        boundary = ordered[min(skip + limit, len(ordered)) - 1][0]
        scores = self._database_scores(text, boundary)
        last = scores.get(boundary, 0.0)
        scored = [
            (scores[rid], rid, row, rank) for rid, row, rank in ordered if scores.get(rid, -1.0) >= last
        ]
        scored.sort(key=lambda m: (-m[0], m[3]))
        page = scored[skip : skip + limit]
        return [{**row, "score": score} for score, _, row, _ in page], [rid for _, rid, _, _ in page]

    def _parts(self, rids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """rid -> its findings and action items, read live: they change without their post-mortem."""
        if not rids:
            return {}
        statement = f"SELECT @rid AS rid, {self._PARTS} FROM PostMortem WHERE @rid IN :rids"  # noqa: S608
        found = self._sql(statement, {"rids": rids})
        return {r["rid"]: r.get("parts") or [] for r in found}

    def sharing(
        self, channels: Sequence[str], categories: Sequence[str], exclude: str, limit: int
    ) -> list[str]:
        if not channels and not categories:
            return []
        index = self.index
        with index.lock:
            cols = index.columns
            shared = np.zeros(index.size, dtype=np.int64)
            own = np.zeros(index.size, dtype=np.int64)
            for fieldname, given in (("channels", channels), ("categories", categories)):
                slots, codes = cols.pairs[fieldname]
                own += np.bincount(slots, minlength=index.size)
                hit = np.isin(codes, [cols.values.get(fieldname, {}).get(v, -2) for v in set(given)])
                # Distinct shared values per post-mortem (as SQL's intersect()): one per (slot, code).
                width = len(cols.names.get(fieldname, [])) + 1
                distinct = np.unique(slots[hit] * width + codes[hit])
                shared += np.bincount(distinct // width, minlength=index.size)
            if exclude in index.by_id:
                shared[index.by_id[exclude]] = 0
            candidates = np.flatnonzero(cols.alive & (shared > 0))
            size = len(set(channels)) + len(set(categories))
            jaccard = shared[candidates] / (own[candidates] + size - shared[candidates])
            order = np.lexsort((cols.id_rank[candidates], -jaccard))[:limit]
            return [index.row(int(s))["id"] for s in candidates[order]]

    def alike(self, words: Sequence[str], limit: int) -> list[str]:
        index = self.index
        # Only [\w] terms reach the text query, so no user or stored text can break its syntax.
        query = " OR ".join(words)
        parsed = _parsed(query)
        with index.lock:
            if parsed is not _UNSUPPORTED and not index.uncertain:
                evaluation = _Evaluation(index)
                chosen = np.flatnonzero(evaluation.matches(parsed) & index.columns.alive)  # type: ignore[arg-type]
                scores = index.scores(evaluation.scoring)[chosen]
                order = np.lexsort((index.columns.rank[chosen], -scores))[:limit]
                return [index.row(int(s))["id"] for s in chosen[order]]
        return [i for i, _ in self.store.search("PostMortem", "search_text", query, limit)]

    def fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        index = self.index
        with index.lock:
            rows = [index.row(index.by_id[i]) for i in ids if i in index.by_id]
        return {r["id"]: {k: list(v) if isinstance(v, tuple) else v for k, v in r.items()} for r in rows}


_UNSUPPORTED = object()


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> Query | object | None:
    """`_parse(text)`, or `_UNSUPPORTED` (remembered: the API sees the same searches again and again)."""
    try:
        return _parse(text)
    except _Unsupported:
        return _UNSUPPORTED


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
    _PREFIX = {"c": "channel", "k": "category", "t": "tag", "s": "status", "o": "outcome", "m": "campaign"}

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def matches(
        self, conditions: Sequence[_Condition], text: str, skip: int, limit: int
    ) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
        # The facet count scans every match; the page does not need it, so they run side by side.
        with ThreadPoolExecutor(max_workers=1) as pool:
            counting = pool.submit(_refused_text, text, self.facets, conditions)
            rows = _refused_text(text, self.page, conditions, skip, limit)
            return counting.result(), _ranked(rows)

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
        rows = self.store.read(
            f"{match} UNWIND [v IN coalesce(p.channels, []) | 'c:' + v] "
            "+ [v IN coalesce(p.categories, []) | 'k:' + v] + [v IN coalesce(p.tags, []) | 't:' + v] "
            "+ ['s:' + coalesce(p.status, 'draft'), 'o:' + coalesce(p.outcome, 'unknown'), "
            "'m:' + coalesce(p.campaign, '')] AS k RETURN k, count(*) AS n",
            **params,
        )
        counts: dict[str, dict[str, int]] = {}
        for row in rows:
            prefix, _, value = str(row["k"]).partition(":")
            if value and prefix in self._PREFIX:
                facet = counts.setdefault(self._PREFIX[prefix], {})
                facet[value] = facet.get(value, 0) + int(row["n"])
        return counts

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

    def alike(self, words: Sequence[str], limit: int) -> list[str]:
        # Only [\w] terms reach the text query, so no user or stored text can break its syntax.
        return [i for i, _ in self.store.search("PostMortem", "search_text", " OR ".join(words), limit)]

    def fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = self.store.read(
            f"MATCH (p:PostMortem) WHERE p.id IN $ids RETURN {self._RETURN}", ids=list(ids)
        )
        return {r["id"]: r for r in rows}
