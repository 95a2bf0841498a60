"""Paused email sequences: a workflow failure that no single metric shows.

A nurture sequence that stops sending for ten days leaves no error anywhere; what shows is a gap
in the send log, and leads created during it progressing to MQL less. This finds gaps much longer
than the sequence's usual cadence inside the campaign's flight, and compares the MQL rate of leads
created during each gap with the rest of the flight.

Sequences are named by the part of the send's sequence (campaign title) before a colon, so
"Nurture: step 2" belongs to "Nurture".
"""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
from pydantic import BaseModel, ConfigDict

from diagnostics.assumptions import Assumptions
from diagnostics.stats import rate, two_proportion_p
from diagnostics.types import Estimate


class Pause(BaseModel):
    model_config = ConfigDict(frozen=True)

    sequence: str
    first_day: dt.date  # the first day without a send
    last_day: dt.date
    days: int
    usual_gap_days: float
    mql_rate_during: Estimate
    mql_rate_outside: Estimate
    p_value: float
    text: str


def sequence_pauses(
    email_sends: pl.DataFrame,
    leads: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    assumptions: Assumptions,
    min_gap_days: int = 7,
    cadence_factor: float = 3.0,
) -> list[Pause]:
    """Gaps of at least `min_gap_days` and `cadence_factor` times the usual gap between sends."""
    if email_sends.is_empty() or "sequence" not in email_sends.columns:
        return []
    sends = email_sends.select(
        pl.col("sequence").str.split(":").list.first().str.strip_chars().alias("name"),
        pl.col("sent_at").dt.date().alias("day"),
    ).drop_nulls()
    pauses = []
    for (name,), group in sends.group_by(["name"], maintain_order=True):
        days = sorted(set(group["day"].to_list()))
        if len(days) < 3:
            continue
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        usual = float(sorted(gaps)[len(gaps) // 2])
        inside = [d for d in days if start <= d <= end]
        edges = [start - dt.timedelta(days=1), *inside, end + dt.timedelta(days=1)]
        for before, after in itertools.pairwise(edges):
            silent = (after - before).days - 1
            if silent >= max(min_gap_days, cadence_factor * usual):
                first, last = before + dt.timedelta(days=1), after - dt.timedelta(days=1)
                pauses.append(_pause(str(name), first, last, silent, usual, leads, start, end, assumptions))
    return pauses


def _pause(
    name: str,
    first: dt.date,
    last: dt.date,
    silent: int,
    usual: float,
    leads: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    assumptions: Assumptions,
) -> Pause:
    flight = leads.filter(pl.col("created_at").dt.date().is_between(start, end))
    during = flight.filter(pl.col("created_at").dt.date().is_between(first, last))
    outside = flight.filter(~pl.col("created_at").dt.date().is_between(first, last))
    d_mql, o_mql = int(during["mql_at"].is_not_null().sum()), int(outside["mql_at"].is_not_null().sum())
    minimum, level = assumptions.min_segment_size, assumptions.confidence
    in_rate = rate(d_mql, during.height, minimum=minimum, confidence=level)
    out_rate = rate(o_mql, outside.height, minimum=minimum, confidence=level)
    p = two_proportion_p(d_mql, during.height, o_mql, outside.height)
    text = (
        f"The {name} sequence sent nothing from {first} to {last} ({silent} days; it usually sends every "
        f"{usual:g} days). Leads created then reached MQL at {in_rate.format('.1%')} against "
        f"{out_rate.format('.1%')} for the rest of the flight (p = {p:.2g})."
    )
    return Pause(
        sequence=name,
        first_day=first,
        last_day=last,
        days=silent,
        usual_gap_days=usual,
        mql_rate_during=in_rate,
        mql_rate_outside=out_rate,
        p_value=p,
        text=text,
    )
