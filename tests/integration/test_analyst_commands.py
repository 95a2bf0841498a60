"""The analyst commands on plain tables, as a user runs them (a real process each), on the real data
sets: they succeed, and every statistic they print carries its interval or an insufficient-data
label."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def warrant(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_drivers_on_the_bank_campaign_data() -> None:
    result = warrant(
        "drivers", str(DATA / "bank-additional-full.csv"), "--outcome", "output=yes", "--dims", "contact,job",
        "--split", "month=may,nov",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("output=yes rose from 6.4% [")
    # Every rate or effect printed has its interval, unless the line says the data is insufficient.
    for line in lines:
        if line.startswith(("Assumptions", "  Not ranked")):
            continue
        numbers = re.findall(r"[-+]?\d+(?:\.\d+)?(?:%| pts)", line)
        assert not numbers or "[" in line, line
    assert any("insufficient data" in line for line in lines)


def test_dissect_on_the_facebook_ads_data() -> None:
    result = warrant(
        "dissect", str(DATA / "kag_ads.csv"), "--spend", "Spent", "--conversions", "Approved_Conversion",
        "--by", "xyz_campaign_id", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    by_campaign = {s["key"][0]: s for s in figures["segments"]}
    assert set(by_campaign) == {"916", "936", "1178"}
    # Campaign 1178 spends 55,662.15 of 58,705.23 (94.8%): flagged, over 20% and dearer than average.
    assert round(by_campaign["1178"]["spend"], 2) == 55662.15
    assert [f["key"] for f in figures["flags"]] == [["1178"]]
    for segment in figures["segments"]:
        cost = segment["cost_per_conversion"]
        assert cost["interval"] is not None or not cost["sufficient"]


def test_scorecard_from_a_plan_table(tmp_path: Path) -> None:
    table = tmp_path / "plan.csv"
    table.write_text("metric,plan,actual\ncpl,100,118\nleads,500,520\nmql_rate,0.3,0.28\nspend,10000,10700\n")
    result = warrant("scorecard", str(table))
    assert result.returncode == 0, result.stderr
    rows = {line.split()[1]: line.split()[-1] for line in result.stdout.splitlines()[2:]}
    # cpl +18% adverse: FLAGGED; leads +4% favourable: ON TRACK; mql_rate -6.7%: NEAR FLAG;
    # spend +7% adverse on a spend metric: OVER PLAN.
    assert rows == {"cpl": "FLAGGED", "leads": "TRACK", "mql_rate": "FLAG", "spend": "PLAN"}
    assert result.stdout.startswith("thresholds: ON TRACK/AHEAD at 5%, OVER PLAN to 10%")


def test_a_table_that_does_not_fit_is_one_line_naming_the_file(tmp_path: Path) -> None:
    table = tmp_path / "wrong.csv"
    table.write_text("name,value\na,1\n")
    result = warrant("scorecard", str(table))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {table}: the table needs columns metric, plan, actual (missing: metric, plan, actual)"
    ]


def test_attribute_on_the_aggregated_paths() -> None:
    result = warrant(
        "attribute", str(DATA / "ca_paths.csv"), "--model", "markov", "--samples", "200", "--json"
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    credits = {c["channel"]: c for c in figures["channels"]}
    assert len(credits) == 12 and figures["total_conversions"] == 19785
    # Attributed conversions add up to the observed total.
    assert abs(sum(c["conversions"]["value"] for c in credits.values()) - 19785) < 1e-6
    for credit in credits.values():
        for part in ("conversions", "share", "value"):
            assert credit[part]["interval"] is not None, (credit["channel"], part)
    assert figures["parameters"]["order"] == 1


def test_unknown_model_is_one_line() -> None:
    result = warrant("attribute", str(DATA / "ca_paths.csv"), "--model", "magic")
    assert result.returncode == 2
    assert "unknown model 'magic' (models: last_touch, first_touch" in result.stderr
