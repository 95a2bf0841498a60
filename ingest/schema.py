"""The unified marketing schema: what every export becomes, whichever tool wrote it.

One pydantic model per table is the single definition; the Arrow schema of a table, its required
fields and the parse type of each field are derived from it, so the docs (`warrant schema show`),
the mapping checks, the type coercion and the canonical Parquet can never disagree. Bump
`SCHEMA_VERSION` on any change that alters the canonical content of an existing table: a snapshot's
id hashes its content, and the version tells two hashes of different layouts apart.

Conventions: timestamps are UTC (`timestamp[us, UTC]`), dates are calendar dates, money is a float
in the row's `currency`, ids are strings (platform ids are digits that must not lose leading zeros
or precision). Columns a mapping keeps beyond the schema are dimensions, stored as `dim_<name>`.
"""

from __future__ import annotations

import datetime as dt
import types
from typing import Any, ClassVar, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = "1"
DIMENSION_PREFIX = "dim_"

CHANNELS = (
    "paid_search",
    "paid_social",
    "display",
    "video",
    "organic_search",
    "organic_social",
    "email",
    "referral",
    "direct",
    "events",
    "other",
)
"""Unified channel ids; a mapping's value map turns a tool's names into these."""


class Row(BaseModel):
    """Base of a unified table's row model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: ClassVar[str]
    key: ClassVar[tuple[str, ...]]
    """Fields that identify a row: two rows with the same key are duplicates."""
    doc: ClassVar[str]
    sparse: ClassVar[tuple[str, ...]] = ()
    """Fields empty by nature on most rows (a stage not reached yet): not a completeness problem."""


class AdPerformance(Row):
    table = "ad_performance"
    key = ("date", "period_start", "period_end", "platform", "campaign_id", "ad_group_id", "ad_id")
    doc = "Delivery and cost per ad per day (or per period for lifetime exports)."

    date: dt.date | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    platform: str
    account_id: str | None = None
    campaign_id: str
    campaign_name: str | None = None
    ad_group_id: str | None = None
    ad_group_name: str | None = None
    ad_id: str | None = None
    creative_id: str | None = None
    creative_name: str | None = None
    audience: str | None = None
    placement: str | None = None
    impressions: int
    clicks: int
    spend: float
    currency: str
    platform_conversions: float | None = None
    conversion_value: float | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None


class Touchpoint(Row):
    table = "touchpoints"
    key = ("touchpoint_id",)
    doc = "One interaction of a (possibly anonymous) user with a channel: the raw material of journeys."

    touchpoint_id: str
    user_id: str
    timestamp: dt.datetime
    channel: str
    event_type: str
    campaign_id: str | None = None
    creative_id: str | None = None
    page: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None


class Lead(Row):
    table = "leads"
    key = ("lead_id",)
    doc = "A CRM lead or contact and the funnel stages it reached, with when."
    sparse = ("mql_at", "sql_at", "opportunity_at", "won_at", "converted", "opportunity_amount", "revenue")

    lead_id: str
    # Optional: some CRM extracts (the UCI bank campaign data, for one) carry no creation time;
    # the date-coverage gate says so and time-based conclusions are blocked.
    created_at: dt.datetime | None = None
    user_id: str | None = None
    source: str | None = None
    channel: str | None = None
    campaign_id: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None
    status: str | None = None
    mql_at: dt.datetime | None = None
    sql_at: dt.datetime | None = None
    opportunity_at: dt.datetime | None = None
    won_at: dt.datetime | None = None
    converted: bool | None = None
    """Reached the campaign's outcome, where the CRM records that without a date."""
    opportunity_amount: float | None = None
    revenue: float | None = None
    owner: str | None = None


class Opportunity(Row):
    table = "opportunities"
    key = ("opportunity_id",)
    doc = "A CRM opportunity (deal): pipeline created and revenue won, linked to its lead."
    sparse = ("closed_at", "won", "revenue")

    opportunity_id: str
    created_at: dt.datetime
    lead_id: str | None = None
    campaign_id: str | None = None
    stage: str | None = None
    amount: float | None = None
    closed_at: dt.datetime | None = None
    won: bool | None = None
    revenue: float | None = None
    owner: str | None = None


class EmailSend(Row):
    table = "email_sends"
    key = ("send_id",)
    doc = "One email send (a campaign or sequence step to one segment) and its engagement."

    send_id: str
    sent_at: dt.datetime
    sequence: str | None = None
    segment: str | None = None
    subject_variant: str | None = None
    list_source: str | None = None
    recipients: int | None = None
    delivered: int
    bounces: int | None = None
    opens: int | None = None
    clicks: int | None = None
    replies: int | None = None
    unsubscribes: int | None = None


class PlanTarget(Row):
    table = "plans"
    key = ("campaign_id", "metric")
    doc = "The documented plan: a target per governed metric, and when it was written down."

    campaign_id: str
    metric: str
    target: float
    documented_at: dt.datetime


class AnnotationRow(Row):
    table = "annotations"
    key = ("start", "kind", "description")
    doc = "A known event that may confound a finding: redesign, paused sequence, staffing, tracking change."
    sparse = ("end",)  # a point event has no end

    start: dt.datetime
    end: dt.datetime | None = None
    kind: str
    description: str
    author: str


class Benchmark(Row):
    table = "benchmarks"
    key = ("channel", "metric", "source")
    doc = "An outside reference value (industry median CPL per channel, ...) used where a plan is silent."

    channel: str
    metric: str
    value: float
    source: str


class PathRow(Row):
    table = "paths"
    # No key: an export may list a path more than once (ca_paths.csv: 10,000 rows, 5,408 paths),
    # each row a partial count to be summed, not a duplicate.
    key = ()
    doc = "Journeys aggregated by channel path: conversions, value and non-converting journeys."

    path: str
    conversions: int
    value: float
    nulls: int


TABLES: dict[str, type[Row]] = {
    model.table: model
    for model in (
        AdPerformance,
        Touchpoint,
        Lead,
        Opportunity,
        EmailSend,
        PlanTarget,
        AnnotationRow,
        Benchmark,
        PathRow,
    )
}

_ARROW: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    dt.date: pa.date32(),
    dt.datetime: pa.timestamp("us", tz="UTC"),
}


def table_model(name: str) -> type[Row]:
    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(sorted(TABLES))
        raise KeyError(f"unknown table {name!r} (tables: {known})") from None


def field_type(model: type[Row], name: str) -> type:
    """The Python type of a field, `Optional` removed (str, int, float, bool, dt.date or dt.datetime)."""
    annotation: Any = model.model_fields[name].annotation
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    return annotation


def required_fields(model: type[Row]) -> list[str]:
    return [name for name, info in model.model_fields.items() if info.is_required()]


def arrow_schema(model: type[Row], dimensions: list[str] | tuple[str, ...] = ()) -> pa.Schema:
    """The canonical column order and types: schema fields as declared, then dimensions by name."""
    fields = [
        pa.field(name, _ARROW[field_type(model, name)], nullable=not info.is_required())
        for name, info in model.model_fields.items()
    ]
    fields += [pa.field(DIMENSION_PREFIX + d, pa.string()) for d in sorted(dimensions)]
    return pa.schema(fields)
