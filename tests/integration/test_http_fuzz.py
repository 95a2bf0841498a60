"""Schemathesis against the live OpenAPI document of a real server: every operation, fed generated
valid and invalid input by a key with every role that may change things, answers without a 5xx and
with a body that matches the schema it documents. Bounded (`WARRANT_FUZZ_EXAMPLES` per operation,
default 20) so it runs in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.services import decisions, keys
from graph.connect import open_store
from graph.settings import Settings
from graph.store import GraphStore
from tests.conftest import new_database
from tests.graphs import build_world
from tests.http_server import serving

EXAMPLES = int(os.environ.get("WARRANT_FUZZ_EXAMPLES", "20"))


@pytest.fixture(scope="module")
def live(
    embedded_settings: Settings, admin_store: GraphStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    name = new_database(admin_store)
    base_settings = Settings(
        home=embedded_settings.home,
        actor="test",
        graph_database=name,
        mlflow_store=tmp_path_factory.mktemp("fuzz-mlflow") / "store",
        api_rate_per_minute=1_000_000,
    )
    with open_store(base_settings) as store:
        build_world(store)
        decisions.add_person(base_settings, "fuzzer", "Fuzz Tester", ["analyst", "governance_lead", "admin"])
        _, token = keys.create(base_settings, "fuzzer", ["analyst", "governance_lead", "admin"], store=store)
        with serving(base_settings, store) as base:
            yield {"base": base, "headers": {"Authorization": f"Bearer {token}"}}
    admin_store.dialect.server_command(f"drop database {name}")


def test_no_server_error_and_responses_match_the_schema(live: dict[str, Any]) -> None:
    """Each operation in turn, positive and negative input (schemathesis's own pytest plugin does
    not run under this pytest, so the operations are driven through hypothesis directly)."""
    schema = schemathesis.openapi.from_url(f"{live['base']}/v1/openapi.json", headers=live["headers"])
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                case.call_and_validate(
                    base_url=live["base"],
                    headers=live["headers"],
                    checks=[not_a_server_error, response_schema_conformance],
                )

            try:
                call()
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
