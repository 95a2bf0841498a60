"""Ingest end to end on the real embedded graph: snapshots, gates, provenance, idempotence, atomicity."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from api.services.ingest import GateFailure, ingest
from graph.errors import InvalidGraphInput
from graph.lineage import trace
from graph.model import Campaign
from graph.settings import Settings
from graph.store import GraphStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
GOOGLE = FIXTURES / "google_ads.csv"
HEADER = (
    "Day,Campaign,Campaign ID,Ad group,Ad group ID,Ad ID,Ad name,Final URL,Impr.,Clicks,Currency code,"
    "Cost,Conversions,Conv. value"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", actor="test")


def google_rows(*rows: str) -> str:
    return 'Ad report\n"September 1, 2026 - September 2, 2026"\n' + HEADER + "\n" + "\n".join(rows) + "\n"


def row(
    day: str, campaign: str, ad: str, impressions: int, clicks: int, cost: str, currency: str = "USD"
) -> str:
    url = f"https://example.com/?utm_source=google&utm_medium=cpc&utm_campaign={campaign}&utm_content={ad}"
    ids = f"C{campaign},{campaign},G,1{campaign},{ad},Ad {ad}"
    return f'{day},{ids},{url},{impressions},{clicks},{currency},"{cost}",1,0'


def counts(store: GraphStore) -> dict[str, int]:
    return {
        label: store.count(label) for label in ("Source", "Extract", "Snapshot", "QualityCheck", "Campaign")
    }


def test_ingest_stores_a_snapshot_with_provenance_and_is_idempotent(
    graph: GraphStore, settings: Settings
) -> None:
    report = ingest(settings, [GOOGLE], "google_ads", campaign_id="cmp-1", store=graph)
    assert report.created and report.rows == 6 and report.table == "ad_performance"
    stored = pl.read_parquet(Path(report.path))
    # The download's own "Total:" row, checked by hand: 4,111.20 spend, 15,659 impressions, 456 clicks.
    assert stored["spend"].sum() == pytest.approx(4111.20)
    assert (stored["impressions"].sum(), stored["clicks"].sum()) == (15659, 456)
    assert counts(graph) == {"Source": 1, "Extract": 1, "Snapshot": 1, "QualityCheck": 8, "Campaign": 1}

    lineage = trace(graph, report.snapshot_id)
    labels = {node["label"] for node in lineage.nodes.values()}
    assert labels == {"Snapshot", "Extract", "Source"}
    extract = next(n for n in lineage.nodes.values() if n["label"] == "Extract")["properties"]
    assert (
        extract["file"] == "google_ads.csv"
        and extract["rows"] == 7  # the export's own rows, its totals row included
        and extract["size"] == GOOGLE.stat().st_size
        and extract["path"] == str(GOOGLE.resolve())
    )
    snapshot = graph.get(report.snapshot_id)
    assert (snapshot.table, snapshot.mapping, snapshot.attribution_window) == (
        "ad_performance",
        "google_ads",
        "30-day click",
    )

    again = ingest(settings, [GOOGLE], "google_ads", campaign_id="cmp-1", store=graph)
    assert again.snapshot_id == report.snapshot_id and not again.created
    assert [g.name for g in again.gates] and {g.name for g in again.gates} == {g.name for g in report.gates}
    assert counts(graph) == {"Source": 1, "Extract": 1, "Snapshot": 1, "QualityCheck": 8, "Campaign": 1}
    assert len(list(settings.snapshots_dir.glob("*.parquet"))) == 1


def test_snapshot_id_is_the_content_not_the_file_order_or_name(
    graph: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    a = tmp_path / "part-a.csv"
    b = tmp_path / "part-b.csv"
    a.write_text(google_rows(row("2026-09-01", "111", "9", 100, 5, "10.00")))
    b.write_text(
        google_rows(row("2026-09-02", "111", "9", 120, 6, "12.50"), row("2026-09-02", "222", "8", 50, 1, "3"))
    )
    first = ingest(settings, [a, b], "google_ads", store=graph)
    renamed = tmp_path / "renamed.csv"
    shutil.copy(a, renamed)
    second = ingest(settings, [b, renamed], "google_ads", store=graph)
    assert second.snapshot_id == first.snapshot_id and not second.created
    assert first.rows == 3
    assert graph.count("Extract") == 2  # the same bytes under another name are the same extract

    other = tmp_path / "other.csv"
    other.write_text(google_rows(row("2026-09-01", "111", "9", 100, 5, "10.01")))
    assert ingest(settings, [other, b], "google_ads", store=graph).snapshot_id != first.snapshot_id


def test_a_blocking_gate_stops_the_snapshot_and_stores_nothing(
    graph: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "dupes.csv"
    bad.write_text(
        google_rows(
            row("2026-09-01", "111", "9", 100, 5, "10.00"),
            row("2026-09-01", "222", "8", 100, 5, "10.00"),
            row("2026-09-01", "111", "9", 90, 4, "9.00"),
        )
    )
    with pytest.raises(GateFailure) as failure:
        ingest(settings, [bad], "google_ads", store=graph)
    assert failure.value.file == str(bad) and failure.value.row == 6 and failure.value.column == "Day"
    assert "duplicates" in str(failure.value) and "1 rows repeat" in str(failure.value)
    report = failure.value.report
    assert report.snapshot_id is None
    assert [g.status for g in report.gates if g.name == "duplicates"] == ["fail"]
    assert counts(graph) == dict.fromkeys(("Source", "Extract", "Snapshot", "QualityCheck", "Campaign"), 0)
    assert not settings.snapshots_dir.exists() or not list(settings.snapshots_dir.iterdir())


def test_a_graph_failure_half_way_leaves_no_file_and_no_node(graph: GraphStore, settings: Settings) -> None:
    # An id the ingest will write as a Source is already taken by a node of another label: the
    # unit of work fails after the snapshot file was written.
    graph.merge([Campaign(id="source:google_ads", name="squatter")])
    with pytest.raises(InvalidGraphInput, match="already names a Campaign"):
        ingest(settings, [GOOGLE], "google_ads", store=graph)
    assert counts(graph) == {"Source": 0, "Extract": 0, "Snapshot": 0, "QualityCheck": 0, "Campaign": 1}
    assert not list(settings.snapshots_dir.glob("*"))  # no parquet, no temporary file


def test_cross_source_gates_compare_with_the_campaign(
    graph: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    ads = tmp_path / "ads.csv"
    ads.write_text(
        google_rows(
            row("2026-09-01", "111", "9", 1000, 50, "300.00"),
            row("2026-09-02", "222", "8", 1000, 50, "100.00"),
        )
    )
    ingest(settings, [ads], "google_ads", campaign_id="cmp-x", store=graph)
    leads = tmp_path / "leads.csv"
    lines = ["lead_id,created_at,utm_campaign,channel"]
    lines += [f"L{i},2026-09-0{1 + i % 2}T10:00:00Z,111,paid_search" for i in range(6)]  # join
    lines += ["L6,2026-09-02T10:00:00Z,999,paid_search", "L7,2026-09-02T11:00:00Z,,paid_search"]  # do not
    leads.write_text("\n".join(lines) + "\n")
    report = ingest(settings, [leads], "warrant_leads", campaign_id="cmp-x", store=graph)
    utm = next(g for g in report.gates if g.name == "utm_integrity")
    # 6 of 8 leads carry a campaign id known to the ad platform: 75% < 90%.
    assert (utm.status, utm.value) == ("warn", 0.75)
    assert utm.blocks

    # Spend side, now that leads exist: campaign 111 (300 of 400) joins, 222 does not.
    more_ads = tmp_path / "ads2.csv"
    more_ads.write_text(google_rows(row("2026-09-03", "111", "9", 10, 1, "1.00")))
    ads_report = ingest(settings, [ads, more_ads], "google_ads", campaign_id="cmp-x", store=graph)
    spend_side = next(g for g in ads_report.gates if g.name == "utm_integrity")
    assert spend_side.value == pytest.approx(301 / 401, abs=1e-4)


def test_attribution_window_mismatch_is_a_warning_naming_both_sources(
    graph: GraphStore, settings: Settings
) -> None:
    ingest(settings, [GOOGLE], "google_ads", campaign_id="cmp-w", store=graph)
    report = ingest(settings, [FIXTURES / "meta_ads.csv"], "meta_ads", campaign_id="cmp-w", store=graph)
    gate = next(g for g in report.gates if g.name == "attribution_windows")
    assert gate.status == "warn"
    assert "7-day click or 1-day view" in gate.message and "Google Ads: 30-day click" in gate.message


DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "mappings"


@pytest.mark.parametrize(
    ("file", "mapping", "table", "rows"),
    [
        ("kag_ads.csv", "kag_ads.yaml", "ad_performance", 1143),
        ("bank-additional-full.csv", "bank_marketing.yaml", "leads", 41188),
        ("ca_paths.csv", "ca_paths.yaml", "paths", 10000),
    ],
)
def test_the_real_data_sets_ingest_end_to_end(
    graph: GraphStore, settings: Settings, file: str, mapping: str, table: str, rows: int
) -> None:
    report = ingest(settings, [DATA / file], REAL / mapping, store=graph)
    assert (report.created, report.table, report.rows) == (True, table, rows)
    assert not [g for g in report.gates if g.status == "fail"]
    assert pl.read_parquet(Path(report.path)).height == rows
    assert graph.count("Snapshot") == 1 and graph.count("Extract") == 1
    assert ingest(settings, [DATA / file], REAL / mapping, store=graph).snapshot_id == report.snapshot_id
