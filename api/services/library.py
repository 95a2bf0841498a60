"""Use cases of the post-mortem library: search it (text, facets, highlights, pages, how each hit's
action items were followed up) and find the post-mortems most like one.

The HTTP API, the UI (through the API) and the CLI all come here, so a search means the same
everywhere; `graph.library` holds the statements and the ranking.

Pass the long-lived store when there is one (the API's): on the embedded ArcadeDB the library keeps
an index of every post-mortem per store, refreshed before each search from what changed, so the
store that lives keeps it warm (about 1-2 s to build at 10,000 post-mortems, 15-45 ms a search
after). A store opened here (the CLI's one search) builds it for that search.
"""

from __future__ import annotations

from graph import library
from graph.connect import store_for
from graph.library import LibraryPage, LibraryQuery, SimilarHit
from graph.settings import Settings
from graph.store import GraphStore


def search(settings: Settings, query: LibraryQuery, *, store: GraphStore | None = None) -> LibraryPage:
    """One page of the post-mortems matching `query`, facet counts over all of them, and for each
    hit its highlighted snippets, matching findings and action items, and their follow-up."""
    with store_for(settings, store) as graph:
        return library.search(graph, query)


def similar(
    settings: Settings, postmortem_id: str, *, limit: int = 5, store: GraphStore | None = None
) -> list[SimilarHit]:
    """The post-mortems most like `postmortem_id` (shared channels, failure categories and terms),
    each with what it shares."""
    with store_for(settings, store) as graph:
        return library.similar(graph, postmortem_id, limit)
