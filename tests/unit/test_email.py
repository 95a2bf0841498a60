"""Paused sequences: found by the gap in the send log, and their leads' MQL rate compared."""

from __future__ import annotations

import datetime as dt

import polars as pl

from diagnostics.assumptions import Assumptions
from diagnostics.email import sequence_pauses
from tests.sample_tables import sample_tables


def sends(days: list[int], title: str = "Nurture: step 1") -> pl.DataFrame:
    base = dt.datetime(2026, 9, 1, 10, tzinfo=dt.UTC)
    return pl.DataFrame(
        {"sequence": [title] * len(days), "sent_at": [base + dt.timedelta(days=d) for d in days]}
    )


def leads(created: list[tuple[int, bool]]) -> pl.DataFrame:
    base = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
    return pl.DataFrame(
        {
            "created_at": [base + dt.timedelta(days=d) for d, _ in created],
            "mql_at": [base + dt.timedelta(days=d + 1) if mql else None for d, mql in created],
        },
        schema={"created_at": pl.Datetime("us", "UTC"), "mql_at": pl.Datetime("us", "UTC")},
    )


def test_a_gap_far_beyond_the_cadence_is_a_pause_with_its_effect() -> None:
    # Every second day (Sep 1, 3, ..., 9), then nothing until Sep 21: Sep 10 to Sep 20 are 11 silent days.
    days = [0, 2, 4, 6, 8, 20, 22, 24, 26, 28]
    # 40 leads during the pause, 10 of them MQL (25%); 60 outside, 30 MQL (50%).
    created = [(12, i < 10) for i in range(40)] + [(3, i < 30) for i in range(60)]
    (pause,) = sequence_pauses(
        sends(days), leads(created), dt.date(2026, 9, 1), dt.date(2026, 9, 30), assumptions=Assumptions()
    )
    assert (pause.sequence, pause.first_day, pause.last_day, pause.days) == (
        "Nurture",
        dt.date(2026, 9, 10),
        dt.date(2026, 9, 20),
        11,
    )
    assert pause.usual_gap_days == 2
    assert pause.mql_rate_during.value == 0.25 and pause.mql_rate_outside.value == 0.5
    assert pause.p_value < 0.05


def test_a_steady_sequence_and_a_weekly_newsletter_are_not_pauses() -> None:
    steady = sends(list(range(0, 30, 2)))
    weekly = sends([0, 7, 14, 21, 28], "Newsletter: weekly")
    found = sequence_pauses(
        pl.concat([steady, weekly]),
        leads([(1, True)]),
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 30),
        assumptions=Assumptions(),
    )
    assert found == []


def test_the_planted_nurture_pause_is_found_only_in_the_current_campaign() -> None:
    sample = sample_tables("S", 7)
    truth = next(m for m in sample.ground_truth["failure_modes"] if m["id"] == "nurture_pause")["parameters"]
    found = {}
    for campaign in sample.campaigns:
        start, end = dt.date.fromisoformat(campaign["start"]), dt.date.fromisoformat(campaign["end"])
        found[campaign["id"]] = sequence_pauses(
            sample.tables["email_sends"], sample.tables["leads"], start, end, assumptions=Assumptions()
        )
    assert found["cmp-2026q1"] == [] and found["cmp-2026q2"] == []
    (pause,) = found["cmp-2026q3"]
    assert pause.sequence == truth["sequence"]
    # The silent days cover the planted pause (sends resume on the next scheduled day after it).
    assert pause.first_day <= dt.date.fromisoformat(truth["paused_from"])
    assert pause.last_day >= dt.date.fromisoformat(truth["paused_to"])
    assert pause.mql_rate_during.value < pause.mql_rate_outside.value and pause.p_value < 0.01
