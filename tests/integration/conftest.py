"""Fixtures of the governance tests: the installed Cedar policies and a small graph to decide on."""

from __future__ import annotations

import pytest

from governance import policy as gates
from graph.store import GraphStore
from tests.graphs import build_world


@pytest.fixture(scope="module")
def policies() -> gates.PolicySet:
    return gates.load()


@pytest.fixture
def world(graph: GraphStore) -> GraphStore:
    return build_world(graph)
