"""The demo (sample S, seed 7) loaded into a graph database and an MLflow store of its own, with its
post-mortem run: what the monitoring and HTTP post-mortem tests stand on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from api.services.postmortem import PostMortemRun, run_postmortem
from api.services.sample import generate, load
from graph.settings import Settings
from graph.store import GraphStore
from tests.conftest import new_database

CAMPAIGN = "cmp-2026q3"


@contextmanager
def demo_database(
    embedded: Settings, admin_store: GraphStore, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[tuple[Settings, PostMortemRun]]:
    directory = tmp_path_factory.mktemp(f"{name}-sample") / "S"
    generate("S", 7, directory)
    database = new_database(admin_store)
    settings = Settings(
        home=embedded.home,
        actor="test",
        graph_database=database,
        mlflow_store=tmp_path_factory.mktemp(f"{name}-mlflow") / "store",
    )
    try:
        load(settings, directory)
        run, _ = run_postmortem(settings, CAMPAIGN)
        yield settings, run
    finally:
        admin_store.dialect.server_command(f"drop database {database}")
