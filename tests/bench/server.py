"""A database of a benchmark's own on the embedded graph server, cleaned up whatever happens.

Why shared: the lineage and library benchmarks must never touch a developer's data, and both need
the same dance: a fresh temporary home with its own server on fresh ports (or, with `--home`, the
server of an existing home, left running), a database created for the run, and at the end the
database dropped (on someone else's home) and the temporary server stopped and its home deleted.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from graph.connect import open_store
from graph.dialect import ArcadeDialect
from graph.embedded import EmbeddedServer
from graph.settings import Settings


@dataclass(frozen=True)
class BenchGraph:
    """Where the benchmark writes: `settings` already name `database`."""

    settings: Settings
    database: str
    home: Path
    temporary: bool
    fresh: bool  # created for this run (False when `database` was given: a kept one reused)


@contextmanager
def bench_database(
    kind: str, *, home: Path | None, database: str | None = None, keep: bool = False
) -> Iterator[BenchGraph]:
    """Yield a database for benchmark `kind`; `keep` keeps it (and a temporary home, server stopped)."""
    temporary = home is None
    home = Path(tempfile.mkdtemp(prefix=f"warrant-bench-{kind}-")) if home is None else home
    # Explicit values win over WARRANT_* variables: always the embedded server, and on a home of our
    # own, ports picked fresh so a developer's server is never disturbed.
    settings = Settings(
        home=home,
        graph_uri="",
        graph_database="",
        actor="bench",
        **({"graph_bolt_port": 0, "graph_http_port": 0} if temporary else {}),
    )
    name = database or f"bench_{kind}_{time.strftime('%Y%m%d_%H%M%S')}"
    admin = None
    created = False
    try:
        started = time.perf_counter()
        admin = open_store(settings)
        print(f"embedded graph ready in {time.perf_counter() - started:.1f} s", flush=True)
        if not isinstance(admin.dialect, ArcadeDialect):
            raise RuntimeError("the benchmark needs the embedded ArcadeDB server")
        if database is None:
            admin.dialect.server_command(f"create database {name}")
            created = True
        yield BenchGraph(
            settings=settings.model_copy(update={"graph_database": name}),
            database=name,
            home=home,
            temporary=temporary,
            fresh=database is None,
        )
    finally:
        if admin is not None:
            try:
                if created and not temporary and not keep:
                    admin.dialect.server_command(f"drop database {name}")  # type: ignore[attr-defined]
                admin.dialect.close()  # type: ignore[attr-defined]
            finally:
                admin.close()
        if temporary:
            EmbeddedServer(settings).stop()
            if keep:
                print(f"kept the temporary home {home} (server stopped)", flush=True)
            else:
                shutil.rmtree(home, ignore_errors=True)
