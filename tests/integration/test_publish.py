"""Publishing a post-mortem needs a named owner and a due date on every action item."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from api.services.postmortem import NotPublishable, assign_action, publish
from graph.errors import InvalidGraphInput, NotFound
from graph.model import ActionItem, PostMortem, Rel
from graph.settings import Settings
from graph.store import GraphStore


@pytest.fixture
def postmortem(graph: GraphStore) -> GraphStore:
    graph.merge(
        [
            PostMortem(id="pm1", title="Q3"),
            ActionItem(id="a1", title="Restore the old form"),
            ActionItem(id="a2", title="Cap the Meta video"),
        ]
    )
    graph.link([("a1", Rel.PART_OF, "pm1"), ("a2", Rel.PART_OF, "pm1")])
    return graph


def test_publish_is_refused_until_every_item_is_owned_and_dated(
    postmortem: GraphStore, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(NotPublishable) as refused:
        publish(settings, "pm1", store=postmortem)
    message = str(refused.value)
    assert (
        "'Restore the old form' has no named owner" in message
        and "'Cap the Meta video' has no due date" in message
    )
    assert postmortem.get("pm1").status == "draft"

    with pytest.raises(InvalidGraphInput, match="not a named person"):
        assign_action(settings, "a1", "the team", date(2026, 12, 1), store=postmortem)
    assign_action(settings, "a1", "Priya Raman", date(2026, 12, 1), store=postmortem)
    with pytest.raises(NotPublishable, match="Cap the Meta video"):
        publish(settings, "pm1", store=postmortem)
    assign_action(settings, "a2", "Tom Okafor", date(2026, 12, 8), store=postmortem)
    published = publish(settings, "pm1", store=postmortem)
    assert published.status == "published" and published.version == 2
    assert publish(settings, "pm1", store=postmortem).version == 2  # publishing again changes nothing
    item = postmortem.get("a2")
    assert (item.owner, item.due, item.version) == ("Tom Okafor", "2026-12-08", 2)
    assert [r.version for r in postmortem.revisions(["a2"])["a2"]] == [1]  # the unowned past is kept


def test_unknown_ids_are_not_found(postmortem: GraphStore, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(NotFound, match="no action item 'nope'"):
        assign_action(settings, "nope", "Priya Raman", date(2026, 12, 1), store=postmortem)
    with pytest.raises(NotFound, match="no post-mortem 'a1'"):
        publish(settings, "a1", store=postmortem)
