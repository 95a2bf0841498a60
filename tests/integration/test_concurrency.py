"""Two processes writing at once, one through the library and one through the CLI, lose no write."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from graph.connect import open_store
from graph.model import Decision, DiagnosticRun, Extract, Finding, Rel, Snapshot, Source
from graph.settings import Settings
from tests.conftest import isolated_env

WARRANT = str(Path(sys.executable).with_name("warrant"))
CHAINS = 5
ROUNDS = 30

# The library side: every round revises every decision (re-reading and retrying when another
# process got there first) and records a new finding, pacing itself so it overlaps the CLI.
LIBRARY_WRITER = textwrap.dedent(
    f"""
    import json, sys, time
    from graph.connect import open_store
    from graph.errors import ConcurrentModification
    from graph.model import Finding, timestamp
    from graph.settings import Settings

    store = open_store(Settings(), database=sys.argv[1])
    first = last = None
    retries = 0
    for n in range({ROUNDS}):
        for i in range({CHAINS}):
            while True:
                current = store.get(f"d{{i}}")
                try:
                    store.update(f"d{{i}}", {{"title": f"round {{n}}"}}, expected_version=current.version)
                    break
                except ConcurrentModification:
                    retries += 1
        store.merge([Finding(id=f"lib-{{n}}", title=f"written by the library in round {{n}}")])
        now = timestamp(store.clock())
        first = first or now
        last = now
        time.sleep(0.2)
    print(json.dumps({{"first": first, "last": last, "retries": retries}}))
    """
)


def test_library_and_cli_writing_at_once_lose_nothing(
    embedded_settings: Settings, test_database: str
) -> None:
    with open_store(embedded_settings, database=test_database) as store:
        for i in range(CHAINS):
            store.merge(
                [
                    Source(id=f"s{i}", name=f"source {i}"),
                    Extract(id=f"e{i}", file=f"{i}.csv", sha256=str(i), rows=1),
                    Snapshot(id=f"n{i}", sha256=str(i), schema_version="1"),
                    DiagnosticRun(id=f"r{i}"),
                    Finding(id=f"f{i}", title=f"finding {i}"),
                    Decision(id=f"d{i}", kind="pause", title="initial"),
                ]
            )
            store.link(
                [
                    (f"e{i}", Rel.WAS_DERIVED_FROM, f"s{i}"),
                    (f"n{i}", Rel.WAS_DERIVED_FROM, f"e{i}"),
                    (f"r{i}", Rel.USED, f"n{i}"),
                    (f"f{i}", Rel.WAS_GENERATED_BY, f"r{i}"),
                    (f"d{i}", Rel.JUSTIFIED_BY, f"f{i}"),
                ]
            )
    env = isolated_env(embedded_settings, WARRANT_GRAPH_DATABASE=test_database)
    library = subprocess.Popen(
        [sys.executable, "-c", LIBRARY_WRITER, test_database], env=env, stdout=subprocess.PIPE, text=True
    )
    taints: list[dict] = []

    def cli_writer() -> None:
        for i in range(CHAINS):
            result = subprocess.run(
                [WARRANT, "lineage", "taint", f"s{i}", "--reason", f"bad export {i}", "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert result.returncode == 0, result.stderr
            taints.append(json.loads(result.stdout))

    cli = threading.Thread(target=cli_writer)
    cli.start()
    out, _ = library.communicate(timeout=300)
    cli.join(300)
    assert library.returncode == 0
    span = json.loads(out)

    # The writes really overlapped: some taints landed while the library was still writing.
    overlapping = [t for t in taints if span["first"] <= t["at"] <= span["last"]]
    assert len(taints) == CHAINS and overlapping, (span, [t["at"] for t in taints])

    with open_store(embedded_settings, database=test_database) as store:
        for i in range(CHAINS):
            decision = store.get(f"d{i}")
            # Every write of both processes is there: the library's last title, the CLI's taint,
            # and one version (with one revision kept) per acknowledged change.
            assert decision.title == f"round {ROUNDS - 1}"
            assert (decision.tainted, decision.taint_origin, decision.tainted_reason) == (
                True,
                f"s{i}",
                f"bad export {i}",
            )
            assert decision.version == 1 + ROUNDS + 1
            history = store.revisions([f"d{i}"])[f"d{i}"]
            assert [r.version for r in history] == list(range(1, ROUNDS + 2))
            # Once tainted, every later state stays tainted: no library write undid the taint.
            flags = [r.properties.get("tainted", False) for r in history] + [decision.tainted]
            assert all(flags[flags.index(True) :])
            assert store.get(f"f{i}").tainted
        assert (
            store.read("MATCH (n:Finding) WHERE n.id STARTS WITH 'lib-' RETURN count(n) AS n")[0]["n"]
            == ROUNDS
        )
