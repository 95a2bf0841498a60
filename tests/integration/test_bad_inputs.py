"""The bad-input corpus: each case gives an error that says where (file, line, column where they
apply), and leaves nothing behind: no snapshot file, no temporary file, no graph node, and what
was stored before is intact."""

from __future__ import annotations

import codecs
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.services.ingest import ingest
from graph.settings import Settings
from graph.store import GraphStore
from ingest.errors import IngestError
from tests.conftest import isolated_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
HEADER = (
    "Day,Campaign,Campaign ID,Ad group,Ad group ID,Ad ID,Ad name,Final URL,Impr.,Clicks,Currency code,"
    "Cost,Conversions,Conv. value"
)
GOOD = "2026-09-01,Brand,111,G,1,9,Ad,https://x.com/?utm_campaign=111,100,5,USD,10.00,1,0"


def google(*rows: str) -> str:
    return "Ad report\nSeptember 2026\n" + HEADER + "\n" + "\n".join(rows) + "\n"


def with_row(**changes: str) -> str:
    """A good row with some fields changed (by header name)."""
    names = HEADER.split(",")
    values = dict(zip(names, GOOD.split(","), strict=True))
    values.update(changes)
    return ",".join(values[n] for n in names)


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes | str
    mapping: str = "google_ads"
    suffix: str = ".csv"
    mapping_yaml: str | None = None
    max_bytes: int | None = None
    message: str = ""
    row: int | None = None
    column: str | None = None
    about_mapping: bool = False  # the error is in the mapping file, not in the export


MAPPING_TYPO = """
name: typo
table: plans
source: {name: Plan, kind: plan}
colums:
  campaign_id: campaign
"""
MAPPING_UNKNOWN_COLUMN = """
name: unknown_column
table: plans
source: {name: Plan, kind: plan}
columns:
  campaign_id: campaign
  metric: metric
  target: {expr: 'number(Target)'}
  documented_at: documented
"""
PLANS = "campaign,metric,target,documented\ncmp,cpl,120,2026-08-01\n"

CASES = [
    Case("empty file", b"", message="the file is empty"),
    Case("binary garbage", bytes(range(256)) * 64, message="not a text file"),
    Case(
        "truncated row",
        google(GOOD, GOOD.replace(",1,0", "").replace("111,100", "112,100")),
        message="expected 14 fields as in the header, found 12",
        row=5,
    ),
    Case(
        "unterminated quote",
        google(GOOD, '2026-09-02,"Brand,112,G,1,9,Ad,x,100,5,USD,10.00,1,0'),
        message="malformed CSV",
        row=5,
    ),
    Case(
        "wrong delimiter",
        google(GOOD).replace(",", ";"),
        message="wrong delimiter? (it contains ';')",
        column="Ad ID",
    ),
    Case(
        "unparseable date",
        google(GOOD, with_row(Day="03/09/2026", **{"Campaign ID": "112"})),
        message="'03/09/2026' is not a date",
        row=5,
        column="Day",
    ),
    Case(
        "text in a number",
        google(with_row(Clicks="five")),
        message="'five' is not a whole number",
        row=4,
        column="Clicks",
    ),
    Case(
        "fractional clicks",
        google(GOOD, with_row(Clicks="2.5", **{"Campaign ID": "112"})),
        message="'2.5' is not a whole number",
        row=5,
        column="Clicks",
    ),
    Case(
        "negative spend",
        google(GOOD, with_row(Cost="-4.00", **{"Campaign ID": "112"})),
        message="negative spend",
        row=5,
        column="Cost",
    ),
    Case(
        "clicks above impressions",
        google(with_row(**{"Impr.": "10", "Clicks": "11"})),
        message="clicks above impressions",
        row=4,
        column="Clicks",
    ),
    Case("duplicate ids", google(GOOD, GOOD), message="quality gate duplicates failed", row=5),
    Case(
        "mixed currencies",
        google(GOOD, with_row(**{"Currency code": "EUR", "Campaign ID": "112"})),
        message="mixed currencies: USD (1 rows), EUR (1 rows)",
        row=5,
        column="Currency code",
    ),
    Case(
        "required field empty",
        google(GOOD, with_row(**{"Campaign ID": ""})),
        message="required field campaign_id is empty",
        row=5,
        column="Campaign ID",
    ),
    Case(
        "unknown column named in a mapping",
        PLANS,
        mapping_yaml=MAPPING_UNKNOWN_COLUMN,
        message="the file has no such column",
        column="Target",
    ),
    Case(
        "mapping YAML with a typo",
        PLANS,
        mapping_yaml=MAPPING_TYPO,
        message="unknown key 'colums' (did you mean 'columns'?)",
        about_mapping=True,
    ),
    Case(
        "mapping YAML that does not parse",
        PLANS,
        mapping_yaml="name: [x\n",
        message="not valid YAML",
        row=2,
        about_mapping=True,
    ),
    Case("file over the size limit", google(GOOD), max_bytes=100, message="over the limit of 100 bytes"),
    Case(
        "a stray byte in a number (not UTF-8: read as cp1252, then refused as a number)",
        b"campaign_id,metric,target,documented_at\ncmp,cpl,12\xff,2026-08-01\n",
        mapping="warrant_plans",
        message="'12\xff' is not a number",
        row=2,
        column="target",
    ),
    Case(
        "JSON lines with a broken line",
        '{"campaign_id": "c", "metric": "cpl", "target": 1, "documented_at": "2026-08-01"}\n'
        '{"campaign_id": \n',
        mapping="warrant_plans",
        suffix=".jsonl",
        message="not valid JSON",
        row=2,
    ),
    Case(
        "corrupt Parquet",
        b"PAR1" + b"\x00" * 64,
        mapping="warrant_plans",
        suffix=".parquet",
        message="Parquet",
    ),
    Case(
        "unknown extension", PLANS, mapping="warrant_plans", suffix=".xlsx", message="cannot tell the format"
    ),
    Case(
        "UTF-16 export read as UTF-8 by a mapping that insists",
        codecs.BOM_UTF16_LE + "campaign_id,metric,target,documented_at\n".encode("utf-16-le"),
        mapping_yaml=(
            "name: forced\ntable: plans\nsource: {name: P, kind: plan}\ncsv: {encoding: utf-8}\n"
            "columns: {campaign_id: campaign_id, metric: metric, target: target, "
            "documented_at: documented_at}\n"
        ),
        message="not valid utf-8",
        row=1,
    ),
]


def _write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _state(store: GraphStore, settings: Settings) -> tuple[dict[str, int], list[str]]:
    labels = ("Source", "Extract", "Snapshot", "QualityCheck", "Campaign")
    files = (
        sorted(p.name for p in settings.snapshots_dir.glob("*")) if settings.snapshots_dir.exists() else []
    )
    return {label: store.count(label) for label in labels}, files


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_where_it_is_and_loses_nothing(
    case: Case, graph: GraphStore, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", actor="test")
    # Something stored before the bad ingest must be intact after it.
    ingest(settings, [FIXTURES / "google_ads.csv"], "google_ads", campaign_id="cmp", store=graph)
    before = _state(graph, settings)

    bad = _write(tmp_path / f"bad{case.suffix}", case.content)
    mapping = str(_write(tmp_path / "mapping.yaml", case.mapping_yaml)) if case.mapping_yaml else case.mapping
    limited = settings.model_copy(update={"ingest_max_bytes": case.max_bytes or settings.ingest_max_bytes})
    with pytest.raises(IngestError) as raised:
        ingest(limited, [bad], mapping, campaign_id="cmp", store=graph)
    error = raised.value
    assert case.message in str(error)
    assert error.file == str(tmp_path / "mapping.yaml" if case.about_mapping else bad)
    assert error.row == case.row
    if case.column is not None:
        assert error.column == case.column
    assert _state(graph, settings) == before


def test_the_corpus_is_at_least_fifteen_cases() -> None:
    assert len({c.name for c in CASES}) >= 15


def test_the_cli_prints_one_line_with_file_line_and_column(
    embedded_settings: Settings, test_database: str, tmp_path: Path
) -> None:
    bad = _write(tmp_path / "bad.csv", google(GOOD, with_row(Clicks="many", **{"Campaign ID": "112"})))
    env = isolated_env(embedded_settings, WARRANT_GRAPH_DATABASE=test_database)
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "ingest", str(bad), "--mapping", "google_ads"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}:5: column 'Clicks': 'many' is not a whole number, for field clicks"
    ]
    assert "Traceback" not in result.stderr


def test_cli_gate_failure_shows_the_gate_report_then_the_error(
    embedded_settings: Settings, test_database: str, tmp_path: Path
) -> None:
    bad = _write(tmp_path / "dupes.csv", google(GOOD, GOOD))
    env = isolated_env(embedded_settings, WARRANT_GRAPH_DATABASE=test_database)
    command = [sys.executable, "-m", "api.cli.main", "ingest", str(bad), "-m", "google_ads"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "duplicates" in result.stderr and "fail (blocking)" in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: {bad}:5: column 'Day': quality gate duplicates")
    )

    as_json = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert as_json.returncode == 2
    assert '"snapshot_id": null' in as_json.stdout and '"row": 5' in as_json.stdout
