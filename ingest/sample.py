"""Sample data: a B2B campaign written as the raw exports the tools produce, with faults whose truth is known.

Why: a diagnostic is only trustworthy if it finds what is there and nothing else, and that can only
be checked on data whose truth is known. This module writes the export files of docs/exports.md for
three campaigns of a fictional B2B SaaS company (Ledgerline): two quarters that behave normally and
serve as the historical baseline, and the current campaign `cmp-2026q3` with seven planted failure
modes. `ground_truth.json` says where each fault shows, with which parameters and in which direction,
so tests can check that the diagnostics find it (and do not find it in the baselines).

The simulation runs the way the data arises: budgets buy impressions and clicks per ad per day; clicks
land as web sessions (some lost to tracking); visitors come back through other channels (multi-touch
journeys); a first form fill makes a CRM contact, which moves through MQL, SQL, opportunity and won
with delays, censored at the export date. Every export is a view of that one simulation, so ids join
across files the way they do in real exports.

Everything is drawn from one `numpy.random.Generator(PCG64(seed))` in a fixed order and written with a
fixed row order, so the same (size, seed) gives byte-identical files. Sizes scale volumes (budgets,
traffic, list sizes), never the shape: the same ads, days and faults exist at every size.

What one generation simulates is a `Scenario`: its campaigns, channel mix, which failure modes are
planted in the current campaign and how hard, and the events people annotated. The default scenario
is the one above (and its files stay byte-identical); the demo library (`ingest.sample_variants`)
generates many others: other themes, dates, channel mixes, subsets of the faults at other severities,
and campaigns where nothing much failed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from ingest.schema import SCHEMA_VERSION

Progress = Callable[[str, float], None]

# --- the company and its campaigns -------------------------------------------------------------

SITE = "https://www.ledgerline.example"
ACCOUNT_NAME = "Ledgerline Inc."
CURRENCY = "USD"
CAMPAIGN_DAYS = 42
DATA_AS_OF = dt.datetime(2026, 12, 15, 9, 0, tzinfo=dt.UTC)
"""When the exports were pulled: later funnel stages are not reached yet (censored), as in real data."""

DAY_US = 86_400_000_000
SECOND_US = 1_000_000


@dataclass(frozen=True)
class SizeSpec:
    """A size scales every volume by `scale`; the structure (ads, days, faults) stays the same."""

    name: str
    scale: float
    description: str


SIZES: dict[str, SizeSpec] = {
    "S": SizeSpec("S", 1.0, "about 35k touchpoints and 2.5k leads; seconds; for tests and `make run`"),
    "M": SizeSpec("M", 10.0, "about 10x S"),
    "L": SizeSpec("L", 45.0, "over 1.5M touchpoints and 100k leads; for load and performance work"),
    "XS": SizeSpec("XS", 0.4, "about 0.4x S; each campaign of the demo library (`warrant sample library`)"),
}


@dataclass(frozen=True)
class CampaignSpec:
    """A Warrant campaign: the quarter's program, its plan and budget per ad platform (at size S)."""

    id: str
    name: str
    tag: str
    start: dt.date
    budget: dict[str, float]
    traffic: float
    hypothesis: str
    current: bool = False

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=CAMPAIGN_DAYS - 1)

    @property
    def start_us(self) -> int:
        return _epoch_us(self.start)


OBJECTIVE = "Create qualified pipeline (SQLs and opportunities) from mid-market and enterprise data teams."

CAMPAIGNS: tuple[CampaignSpec, ...] = (
    CampaignSpec(
        id="cmp-2026q1",
        name="2026 Q1 Pipeline Push",
        tag="2026Q1",
        start=dt.date(2026, 2, 2),
        budget={"google_ads": 16_000, "microsoft_ads": 4_000, "linkedin_ads": 16_000, "meta_ads": 6_500},
        traffic=0.95,
        hypothesis=(
            "Pairing non-brand search with LinkedIn prospecting of IT and data leaders creates qualified "
            "pipeline at a cost per MQL under plan; brand search and retargeting close the loop."
        ),
    ),
    CampaignSpec(
        id="cmp-2026q2",
        name="2026 Q2 Pipeline Push",
        tag="2026Q2",
        start=dt.date(2026, 5, 4),
        budget={"google_ads": 17_000, "microsoft_ads": 4_200, "linkedin_ads": 17_000, "meta_ads": 7_000},
        traffic=1.0,
        hypothesis=(
            "A governance-checklist offer on LinkedIn and Meta raises the MQL rate above the Q1 level "
            "without raising the cost per lead."
        ),
    ),
    CampaignSpec(
        id="cmp-2026q3",
        name="2026 Q3 Pipeline Push",
        tag="2026Q3",
        start=dt.date(2026, 9, 1),
        budget={"google_ads": 17_000, "microsoft_ads": 4_200, "linkedin_ads": 17_000, "meta_ads": 15_500},
        traffic=1.05,
        hypothesis=(
            "Scaling Meta video prospecting (the customer-story video) while holding search and LinkedIn "
            "flat adds 20% more MQLs at a lower cost per MQL; the nurture sequence carries new leads to "
            "MQL within two weeks."
        ),
        current=True,
    ),
)
CURRENT = next(c for c in CAMPAIGNS if c.current)

# --- the planted failure modes (current campaign only) -----------------------------------------


@dataclass(frozen=True)
class Faults:
    """Parameters of the planted failure modes; day indexes are 0-based (index 7 = day 8)."""

    redesign_day: int = 7
    redesign_cvr_factor: float = 0.55
    nurture_pause: tuple[int, int] = (14, 23)
    nurture_mql_factor: float = 0.45
    social_mql_to_sql: float = 0.10
    fatigue_drop: float = 0.65
    natural_drop: float = 0.08
    hog_share: float = 0.24
    hog_mql_factor: float = 0.4
    missing_utm_share: float = 0.17
    baseline_missing_utm_share: float = 0.01
    sdr_window: tuple[int, int] = (20, 31)
    sdr_delay_factor: float = 1.6


FAULTS = Faults()
META_ATTRIBUTION = "7-day click or 1-day view"
TRACKING_LOSS = 0.07
"""Share of visitors GA4 never sees (consent refused, blockers): their sessions are not exported."""
LEAD_VALUE = 150.0
"""What the ad platforms' conversion value counts per lead (set in their conversion actions)."""
ARRIVAL_RATE = 0.97
"""Share of ad clicks that load the landing page at all."""

# --- the paid media structure ------------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    channel: str
    source: str
    medium: str
    billing: str
    digits: tuple[int, int, int]
    """Digits of the platform's campaign, ad group (or audience) and ad ids."""


PLATFORMS: dict[str, Platform] = {
    "google_ads": Platform("paid_search", "google", "cpc", "cpc", (11, 11, 12)),
    "microsoft_ads": Platform("paid_search", "bing", "cpc", "cpc", (9, 10, 11)),
    "linkedin_ads": Platform("paid_social", "linkedin", "paid_social", "cpm", (9, 9, 9)),
    "meta_ads": Platform("paid_social", "facebook", "paid_social", "cpm", (18, 18, 18)),
}


@dataclass(frozen=True)
class Ad:
    """One ad (creative): its landing page, share of the platform's budget and how it performs.

    `price` is the CPC on search platforms and the CPM on social ones; `returning` is the chance its
    click comes from an earlier visitor (brand search, retargeting); `role` marks a planted fault's slot.
    """

    name: str
    fmt: str
    path: str
    weight: float
    ctr: float
    price: float
    cvr: float
    launch_day: int = 0
    returning: float = 0.06
    role: str = ""


@dataclass(frozen=True)
class Slot:
    """An ad in its place: platform > platform campaign > ad group (audience) > ad."""

    platform: str
    campaign: str
    group: str
    ad: Ad


def _rsa(
    name: str,
    path: str,
    weight: float,
    ctr: float,
    cpc: float,
    cvr: float,
    *,
    launch_day: int = 0,
    returning: float = 0.06,
) -> Ad:
    return Ad(name, "responsive_search_ad", path, weight, ctr, cpc, cvr, launch_day, returning)


LP_DEMO, LP_BOOK, LP_CHECKLIST = "/lp/data-governance-demo", "/lp/book-a-demo", "/lp/governance-checklist"
LP_AUDIT, LP_STORY = "/lp/audit-ready", "/lp/customer-story"
NON_BRAND = "Non-brand | Data governance"
PAID_MEDIA: dict[str, dict[str, dict[str, tuple[Ad, ...]]]] = {
    "google_ads": {
        "Brand": {
            "Brand - core": (
                _rsa("RSA A | Book a demo", LP_BOOK, 0.08, 0.10, 7, 0.34, returning=0.35),
                _rsa("RSA B | Free trial", LP_BOOK, 0.07, 0.09, 7, 0.32, returning=0.35),
            ),
            "Brand - product terms": (
                _rsa("RSA A | Book a demo", LP_BOOK, 0.05, 0.08, 8, 0.30, returning=0.35),
            ),
        },
        NON_BRAND: {
            "Data governance software": (
                _rsa("RSA A | Governance demo", LP_DEMO, 0.14, 0.040, 28, 0.24),
                _rsa("RSA B | Audit-ready checklist", LP_CHECKLIST, 0.12, 0.038, 27, 0.26),
            ),
            "Data lineage tools": (
                _rsa("RSA A | Lineage demo", LP_DEMO, 0.11, 0.035, 25, 0.22),
                _rsa("RSA B | Lineage guide", LP_CHECKLIST, 0.09, 0.034, 25, 0.23),
            ),
            "Data catalog": (
                _rsa("RSA A | Catalog demo", LP_DEMO, 0.09, 0.030, 22, 0.20),
                _rsa("RSA C | ROI calculator", "/lp/roi-calculator", 0.07, 0.032, 22, 0.21, launch_day=14),
            ),
        },
        "Competitor": {
            "Competitor alternatives": (
                _rsa("RSA A | Compare platforms", "/lp/compare", 0.10, 0.025, 32, 0.16),
                _rsa("RSA B | Switching guide", "/lp/compare", 0.08, 0.024, 30, 0.17),
            ),
        },
    },
    "microsoft_ads": {
        "Brand": {
            "Brand - core": (
                _rsa("RSA A | Book a demo", LP_BOOK, 0.18, 0.08, 4.5, 0.32, returning=0.35),
                _rsa("RSA B | Free trial", LP_BOOK, 0.12, 0.075, 4.5, 0.30, returning=0.35),
            ),
        },
        NON_BRAND: {
            "Data governance software": (
                _rsa("RSA A | Governance demo", LP_DEMO, 0.25, 0.032, 16, 0.22),
                _rsa("RSA B | Audit-ready checklist", LP_CHECKLIST, 0.20, 0.031, 16, 0.23),
            ),
            "Data lineage tools": (_rsa("RSA A | Lineage demo", LP_DEMO, 0.25, 0.030, 15, 0.20),),
        },
    },
    "linkedin_ads": {
        "IT Directors NA | Website visits": {
            "IT Directors - North America": (
                Ad(
                    "Data Governance Checklist | Single image",
                    "single_image",
                    LP_CHECKLIST,
                    0.48,
                    0.011,
                    70,
                    0.20,
                    role="fatigue",
                ),
                Ad("Audit-Ready in 30 Days | Carousel", "carousel", LP_AUDIT, 0.10, 0.0055, 100, 0.18),
            ),
        },
        "Data Leaders EMEA | Website visits": {
            "Heads of Data - EMEA": (
                Ad("Lineage Explained | Video", "video", LP_AUDIT, 0.13, 0.0045, 110, 0.16),
                Ad("Customer Proof | Single image", "single_image", LP_STORY, 0.13, 0.005, 100, 0.18),
            ),
        },
        "Retargeting | Site visitors 90d": {
            "Website visitors (90 days)": (
                Ad(
                    "Book a Demo | Single image",
                    "single_image",
                    LP_BOOK,
                    0.16,
                    0.009,
                    85,
                    0.26,
                    returning=0.6,
                ),
            ),
        },
    },
    "meta_ads": {
        "Prospecting | Interests": {
            "Interest - Data management": (
                Ad("Governance Checklist | Image", "image", LP_CHECKLIST, 0.20, 0.008, 36, 0.14),
                Ad("Audit-Ready | Carousel", "carousel", LP_AUDIT, 0.12, 0.007, 35, 0.13),
            ),
        },
        "Prospecting | Lookalike": {
            "Lookalike 1% - Customers": (
                Ad("Customer Story | Video 30s", "video", LP_STORY, 0.45, 0.005, 42, 0.20, role="video"),
                Ad("Governance Checklist | Image", "image", LP_CHECKLIST, 0.08, 0.009, 38, 0.14),
            ),
        },
        "Retargeting | Site visitors": {
            "Website visitors (30 days)": (
                Ad("Book a Demo | Image", "image", LP_BOOK, 0.15, 0.011, 40, 0.20, returning=0.6),
            ),
        },
    },
}
SLOTS: tuple[Slot, ...] = tuple(
    Slot(platform, campaign, group, ad)
    for platform, campaigns in PAID_MEDIA.items()
    for campaign, groups in campaigns.items()
    for group, ads in groups.items()
    for ad in ads
)

# --- a scenario: which campaigns, channels and faults one generation simulates -------------------

MODES = (
    "landing_cvr_drop",
    "nurture_pause",
    "social_mql_to_sql",
    "creative_fatigue",
    "budget_hog",
    "missing_utms",
    "attribution_window_mismatch",
)
PLANTABLE = MODES[:-1]
"""The modes a scenario chooses; the attribution-window mismatch follows from the channel mix (each
platform's export declares its own window), so it is planted exactly when the mix holds two windows."""
WINDOWS = {
    "google_ads": "30-day click",
    "microsoft_ads": "30-day click",
    "linkedin_ads": "30-day click, 7-day view",
    "meta_ads": META_ATTRIBUTION,
}
"""The attribution window each platform's export reports conversions with (its built-in mapping)."""
MODE_PLATFORMS = {"creative_fatigue": "linkedin_ads", "budget_hog": "meta_ads"}
"""Modes planted on one platform's ad: the mix must hold that platform."""


@dataclass(frozen=True)
class Note:
    """An event someone recorded (an annotation), placed by campaign index and 0-based day."""

    campaign: int
    day: int
    hour: int
    kind: str
    description: str
    author: str
    until: tuple[int, int, int] | None = None
    """(day, hour, minute) the event ended; None for a point event (a redesign going live)."""


DEFAULT_NOTES = (
    Note(
        0, 14, 9, "tracking", "GA4 consent banner text updated (consent defaults unchanged)", "Dana Whitfield"
    ),
    Note(
        1,
        15,
        14,
        "event",
        "Partner webinar with Snowmesh, 'Lineage for auditors', co-promoted on LinkedIn",
        "Grace Lin",
        until=(17, 18, 0),
    ),
)


@dataclass(frozen=True)
class Scenario:
    """What one generation simulates: its campaigns, channel mix, planted faults and annotations.

    Why a value rather than module constants: the default (Ledgerline's three quarters, every mode
    planted in the last) is what the tests and `make run` stand on and stays byte-identical, while
    the demo library needs many other campaigns. Every field defaults to the default scenario's value.
    """

    campaigns: tuple[CampaignSpec, ...] = CAMPAIGNS
    """In time order, not overlapping; exactly one is `current` (the one the exports are pulled for)."""
    faults: Faults = FAULTS
    planted: frozenset[str] = frozenset(PLANTABLE)
    platforms: tuple[str, ...] = tuple(PLATFORMS)
    program: str = "Pipeline Push"
    """The program name in the ad platforms' campaign names ("2026Q3 Pipeline Push | Brand")."""
    objective: str = OBJECTIVE
    video_name: str | None = None
    """Another name for the Meta video creative (the budget hog's slot); None keeps the default's."""
    notes: tuple[Note, ...] = DEFAULT_NOTES
    """Annotations besides the redesign (recorded when planted) and the SDR dip (when `staffing`)."""
    staffing: bool = True
    """The annotated SDR capacity dip in the current campaign (slower MQL -> SQL, same rates)."""
    variant: dict[str, object] | None = field(default=None, compare=False)
    """What `ground_truth.json` says about a demo-library variant (theme, mix, severities)."""

    def __post_init__(self) -> None:
        unknown = (self.planted - set(PLANTABLE)) | (set(self.platforms) - set(PLATFORMS))
        if unknown:
            raise ValueError(f"unknown failure modes or platforms: {', '.join(sorted(unknown))}")
        if sum(c.current for c in self.campaigns) != 1 or not self.campaigns[-1].current:
            raise ValueError("a scenario needs exactly one current campaign, its last")
        if any(set(c.budget) != set(self.platforms) for c in self.campaigns):
            raise ValueError("every campaign needs a budget for exactly the scenario's platforms")
        for mode, platform in MODE_PLATFORMS.items():
            if mode in self.planted and platform not in self.platforms:
                raise ValueError(f"{mode} is planted on {platform}, which is not in the mix")
        for earlier, later in zip(self.campaigns, self.campaigns[1:], strict=False):
            if earlier.end >= later.start:
                raise ValueError(f"campaigns {earlier.id} and {later.id} overlap")

    @property
    def current(self) -> CampaignSpec:
        return self.campaigns[-1]

    @property
    def current_index(self) -> int:
        return len(self.campaigns) - 1

    @property
    def modes(self) -> tuple[str, ...]:
        """Every mode planted in the current campaign, in `MODES` order."""
        windows = {WINDOWS[p] for p in self.platforms}
        return tuple(m for m in MODES if m in self.planted or (m == MODES[-1] and len(windows) > 1))

    def has(self, mode: str) -> bool:
        """Whether the scenario plants `mode` (one of `PLANTABLE`; the window mismatch: see `modes`)."""
        return mode in self.planted

    @property
    def slots(self) -> tuple[Slot, ...]:
        """The paid media of the mix, the video renamed when the scenario says so."""
        out = []
        for slot in SLOTS:
            if slot.platform not in self.platforms:
                continue
            if slot.ad.role == "video" and self.video_name:
                slot = replace(slot, ad=replace(slot.ad, name=self.video_name))
            out.append(slot)
        return tuple(out)


DEFAULT = Scenario()

# --- traffic that no ad paid for, and the site ---------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a session came from, as GA4 and HubSpot each name it."""

    key: str
    channel: str
    source: str
    medium: str
    hubspot: str
    drill_down: str


ORIGINS: tuple[Origin, ...] = (
    Origin("google_ads", "paid_search", "google", "cpc", "Paid Search", "Google"),
    Origin("microsoft_ads", "paid_search", "bing", "cpc", "Paid Search", "Bing"),
    Origin("linkedin_ads", "paid_social", "linkedin", "paid_social", "Paid Social", "LinkedIn"),
    Origin("meta_ads", "paid_social", "facebook", "paid_social", "Paid Social", "Facebook"),
    Origin("organic_google", "organic_search", "google", "organic", "Organic Search", "Google"),
    Origin("organic_bing", "organic_search", "bing", "organic", "Organic Search", "Bing"),
    Origin("direct", "direct", "(direct)", "(none)", "Direct Traffic", "www.ledgerline.example"),
    Origin("referral_g2", "referral", "g2.com", "referral", "Referrals", "g2.com"),
    Origin("referral_capterra", "referral", "capterra.com", "referral", "Referrals", "capterra.com"),
    Origin(
        "referral_partner",
        "referral",
        "partners.snowmesh.example",
        "referral",
        "Referrals",
        "partners.snowmesh.example",
    ),
    Origin("email", "email", "mailchimp", "email", "Email Marketing", "Mailchimp"),
)
ORIGIN_INDEX = {o.key: i for i, o in enumerate(ORIGINS)}
EMAIL = ORIGIN_INDEX["email"]


@dataclass(frozen=True)
class Unpaid:
    """Daily sessions (size S) of an unpaid origin, where they land, and how they behave."""

    origin: str
    daily: float
    pages: tuple[str, ...]
    cvr: float
    returning: float


_BLOG = (
    "/blog/what-is-data-lineage",
    "/blog/data-governance-framework",
    "/blog/audit-readiness-checklist",
    "/blog/data-catalog-vs-governance",
    "/blog/gdpr-data-mapping",
    "/",
)
UNPAID: tuple[Unpaid, ...] = (
    Unpaid("organic_google", 11.0, _BLOG, 0.07, 0.2),
    Unpaid("organic_bing", 2.0, _BLOG, 0.07, 0.2),
    Unpaid("direct", 5.0, ("/", "/pricing", "/product"), 0.14, 0.5),
    Unpaid("referral_g2", 1.2, ("/", "/customers"), 0.12, 0.1),
    Unpaid("referral_capterra", 0.7, ("/", "/pricing"), 0.12, 0.1),
    Unpaid("referral_partner", 0.6, ("/integrations",), 0.12, 0.1),
)
EXTRA_PAGES = ("/product", "/pricing", "/customers", "/integrations", "/about", "/security")
DEMO_PAGE = "/demo"
EXTRA_PAGES_MEAN = 0.25

WEEKDAY_TRAFFIC = np.array([1.12, 1.18, 1.16, 1.10, 0.94, 0.27, 0.23])
"""B2B attention by weekday (Monday first); mean 1."""
WEEKDAY_SPEND = np.array([1.10, 1.12, 1.12, 1.08, 0.98, 0.32, 0.28])
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 1], float)

# --- email ---------------------------------------------------------------------------------------

NURTURE_STEPS: tuple[tuple[str, str, tuple[str, str]], ...] = (
    (
        "Nurture: step 1",
        "/resources/governance-checklist",
        ("Your data governance checklist is inside", "Start here: the 12-point governance checklist"),
    ),
    (
        "Nurture: step 2",
        "/resources/customer-story",
        ("How Brightwater cut audit prep by 60%", "A customer story: audit-ready in 30 days"),
    ),
    (
        "Nurture: step 3",
        "/resources/lineage-in-5-minutes",
        ("Lineage in 5 minutes", "See where every number in your reports comes from"),
    ),
    (
        "Nurture: step 4",
        "/resources/roi-calculator",
        ("What governance gaps cost you", "Governance ROI: try the calculator"),
    ),
    (
        "Nurture: step 5",
        "/resources/book-a-walkthrough",
        ("Ready for a 20-minute walkthrough?", "Book time with a governance specialist"),
    ),
)
NURTURE_SEGMENTS: tuple[tuple[str, str, int], ...] = (
    ("IT leaders", "Website sign-ups", 10),
    ("Data leaders", "Webinar registrants", 13),
    ("Security & compliance", "Content downloads", 15),
)
"""(segment, list source, send hour UTC): each gets a nurture step on Mondays, Wednesdays, Thursdays."""
NURTURE_WEEKDAYS = (0, 2, 3)


@dataclass(frozen=True)
class Mailing:
    """What one send is: a nurture step (or the newsletter) with its subject variant, list and segment."""

    title: str
    path: str
    subject: str
    variant: str
    list_source: str
    segment: str
    hour: int
    nurture: bool


NEWSLETTER_WEEKDAY = 1
NEWSLETTER_SUBJECTS = (
    "This week in data governance",
    "Five lineage questions auditors ask",
    "The governance reading list",
)
EMAIL_CVR = 0.15
EMAIL_KNOWN_SHARE = 0.6
"""Share of email sessions from contacts already in the CRM (they cannot become new leads)."""

# --- the CRM funnel --------------------------------------------------------------------------------

MQL_RATE = {
    "paid_search": 0.42,
    "paid_social": 0.38,
    "organic_search": 0.40,
    "email": 0.45,
    "direct": 0.46,
    "referral": 0.42,
}
SQL_RATE = {
    "paid_search": 0.36,
    "paid_social": 0.34,
    "organic_search": 0.33,
    "email": 0.30,
    "direct": 0.38,
    "referral": 0.35,
}
SQO_RATE = 0.6
WIN_RATE = 0.27
DELAY_DAYS = {"mql": (1.5, 2.5), "sql": (2.0, 2.5), "opportunity": (2.0, 4.0), "close": (3.0, 15.0)}
"""Gamma (shape, scale) of the days between funnel stages."""
SDRS = ("Priya Raman", "Marcus Lee", "Sofia Alvarez", "Tom Becker", "Aisha Okafor")
AES = ("Jordan Blake", "Elena Petrova", "Sam Whitaker", "Nadia Hassan")
INDUSTRIES = (
    "Financial Services",
    "Healthcare",
    "Software",
    "Manufacturing",
    "Retail",
    "Public Sector",
    "Insurance",
    "Energy",
)
COMPANY_SIZES = (("1-50", 0.4), ("51-200", 0.7), ("201-1000", 1.0), ("1001-5000", 1.8), ("5000+", 3.0))
COUNTRIES = ("United States", "United Kingdom", "Germany", "Canada", "France", "Netherlands", "Australia")
COUNTRY_WEIGHTS = (0.52, 0.14, 0.1, 0.08, 0.06, 0.05, 0.05)
COMPANY_WORDS = (
    "Northwind Bluepeak Ironbridge Silverline Crestview Harborlight Redwood Summit Brightwater Oakridge",
    "Analytics Health Financial Logistics Systems Insurance Energy Retail Labs Bank Partners",
)
"""Words of fictional company names (first word, second word)."""
LIFECYCLE = ("Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity", "Customer")
OPEN_STAGES = (
    (10, "appointmentscheduled"),
    (20, "qualifiedtobuy"),
    (35, "presentationscheduled"),
    (50, "decisionmakerboughtin"),
    (10_000, "contractsent"),
)
"""An open deal's stage by its age in days."""

# --- outputs ---------------------------------------------------------------------------------------


class ManifestFile(BaseModel):
    """One export to ingest: where it is, which mapping reads it, what it becomes, how many data rows."""

    file: str
    mapping: str
    table: str
    campaign_id: str | None
    rows: int


class ManifestCampaign(BaseModel):
    id: str
    name: str
    start: dt.date
    end: dt.date
    role: str


class Manifest(BaseModel):
    """What was generated and in which order to ingest it; written as `manifest.json`.

    Every file spans all campaigns (as a real export over a longer date range does); `campaign_id` is
    the campaign the exports were pulled for, whose post-mortem they feed. `campaigns.json` maps each
    platform campaign id to its Warrant campaign.
    """

    size: str
    seed: int
    schema_version: str
    data_as_of: dt.datetime
    campaigns: list[ManifestCampaign]
    files: list[ManifestFile]


# --- small helpers ---------------------------------------------------------------------------------


def _epoch_us(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * SECOND_US


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _unique_ints(rng: np.random.Generator, n: int, low: int, high: int, taken: set[int]) -> list[int]:
    """Random ids that collide neither with each other nor with `taken` (ids must join, never merge)."""
    out: list[int] = []
    while len(out) < n:
        for value in rng.integers(low, high, size=n - len(out), dtype=np.int64).tolist():
            if value not in taken:
                taken.add(value)
                out.append(value)
    return out


def _unique_array(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """Vectorised variant of `_unique_ints` for large counts (user ids)."""
    values = rng.integers(low, high, size=n, dtype=np.int64)
    while True:
        _, first = np.unique(values, return_index=True)
        dupes = np.setdiff1d(np.arange(n), first)
        if dupes.size == 0:
            return values
        values[dupes] = rng.integers(low, high, size=dupes.size, dtype=np.int64)


def _weekday(camp: CampaignSpec, day: np.ndarray) -> np.ndarray:
    return (camp.start.weekday() + day) % 7


def _gamma_us(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    shape, scale = DELAY_DAYS[kind]
    return (rng.gamma(shape, scale, n) * DAY_US).astype(np.int64) + 3600 * SECOND_US


def _time_of_day_us(rng: np.random.Generator, n: int) -> np.ndarray:
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hours * 3600 * SECOND_US + rng.integers(0, 3600 * SECOND_US, n)


def _thousands(values: np.ndarray, decimals: int) -> list[str]:
    """Google's number style: `1,234` and `1,234.56`."""
    return [f"{v:,.{decimals}f}" for v in values.tolist()]


def _fixed(values: np.ndarray, decimals: int = 2) -> list[str]:
    return [f"{v:.{decimals}f}" for v in values.tolist()]


def _utc(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), time_unit="us").dt.replace_time_zone("UTC")


def _hubspot_time(col: str) -> pl.Expr:
    return _utc(col).dt.strftime("%Y-%m-%d %H:%M")


# --- the ad catalogue --------------------------------------------------------------------------------


def _catalogue(rng: np.random.Generator, sc: Scenario) -> pl.DataFrame:
    """Every ad of every campaign, with its ids, names, landing URL, budget and behaviour.

    Platforms get new campaign, ad group and ad ids each quarter; account ids are stable. In the
    current campaign the LinkedIn checklist creative fatigues (mode 4) and the Meta video takes
    `hog_share` of all paid spend (mode 5).
    """
    taken: set[int] = set()
    accounts = {p: str(_unique_ints(rng, 1, 10**8, 10**9, taken)[0]) for p in sc.platforms}
    slots = sc.slots
    fatigue = sc.faults.fatigue_drop if sc.has("creative_fatigue") else sc.faults.natural_drop
    rows: list[dict[str, object]] = []
    for ci, camp in enumerate(sc.campaigns):
        ids = _slot_ids(rng, taken, slots)
        budgets = _slot_budgets(rng, camp, sc)
        for si, (slot, (cid, gid, aid)) in enumerate(zip(slots, ids, strict=True)):
            ad, plat = slot.ad, PLATFORMS[slot.platform]
            rows.append(
                {
                    "camp": ci,
                    "platform": slot.platform,
                    "origin": ORIGIN_INDEX[slot.platform],
                    "account_id": accounts[slot.platform],
                    "campaign_id": cid,
                    "campaign_name": f"{camp.tag} {sc.program} | {slot.campaign}",
                    "group_id": gid,
                    "group_name": slot.group,
                    "ad_id": aid,
                    "ad_name": f"{camp.tag} | {ad.name}" if plat.billing == "cpm" else ad.name,
                    "format": ad.fmt,
                    "path": ad.path,
                    "final_url": f"{SITE}{ad.path}?utm_source={plat.source}&utm_medium={plat.medium}"
                    f"&utm_campaign={cid}&utm_content={aid}",
                    "budget": budgets[si],
                    "ctr": ad.ctr,
                    "price": ad.price,
                    "cpm": plat.billing == "cpm",
                    "cvr": ad.cvr,
                    "launch_day": ad.launch_day,
                    "returning": ad.returning,
                    "decay": fatigue if camp.current and ad.role == "fatigue" else sc.faults.natural_drop,
                    "role": ad.role,
                }
            )
    return pl.DataFrame(rows)


def _slot_ids(
    rng: np.random.Generator, taken: set[int], slots: tuple[Slot, ...]
) -> list[tuple[str, str, str]]:
    """(campaign id, ad group id, ad id) per slot: digit strings of each platform's length, all unique."""
    ids: dict[tuple[str, ...], str] = {}
    out = []
    for slot in slots:
        keys = (
            (slot.platform, slot.campaign),
            (slot.platform, slot.campaign, slot.group),
            (slot.platform, slot.campaign, slot.group, slot.ad.name),
        )
        for key, digits in zip(keys, PLATFORMS[slot.platform].digits, strict=True):
            if key not in ids:
                ids[key] = str(_unique_ints(rng, 1, 10 ** (digits - 1), 10**digits, taken)[0])
        out.append((ids[keys[0]], ids[keys[1]], ids[keys[2]]))
    return out


def _slot_budgets(rng: np.random.Generator, camp: CampaignSpec, sc: Scenario) -> list[float]:
    """Actual spend per slot at size S: planned platform budgets with pacing noise, split by weight.

    In the current campaign the hog (when planted) takes its share of the whole paid budget out of
    its platform's.
    """
    slots = sc.slots
    actual = {p: b * float(rng.normal(1.0, 0.02)) for p, b in camp.budget.items()}
    budgets = [actual[s.platform] * s.ad.weight for s in slots]
    if camp.current and sc.has("budget_hog"):
        hog = next(i for i, s in enumerate(slots) if s.ad.role == "video")
        platform = slots[hog].platform
        hog_budget = sc.faults.hog_share * sum(actual.values())
        rest = sum(s.ad.weight for i, s in enumerate(slots) if s.platform == platform and i != hog)
        for i, s in enumerate(slots):
            if s.platform == platform:
                budgets[i] = hog_budget if i == hog else (actual[platform] - hog_budget) * s.ad.weight / rest
    return budgets


# --- delivery: impressions, clicks and spend per ad per day -----------------------------------------


def _delivery(rng: np.random.Generator, cat: pl.DataFrame, scale: float, sc: Scenario) -> pl.DataFrame:
    """Budgets buy delivery: CPM platforms turn spend into impressions, CPC platforms into clicks.

    CTR decays with the ad's age (`decay` is the total drop over the campaign), so a fatigued creative
    keeps its impressions (the budget still buys them) while its clicks fall.
    """
    n_ads = cat.height
    ad = np.repeat(np.arange(n_ads), CAMPAIGN_DAYS)
    day = np.tile(np.arange(CAMPAIGN_DAYS), n_ads)
    launch = cat["launch_day"].to_numpy()
    live = day >= launch[ad]
    ad, day = ad[live], day[live]
    camp = cat["camp"].to_numpy()[ad]
    weekday = np.array([c.start.weekday() for c in sc.campaigns])[camp]
    spend_weight = WEEKDAY_SPEND[(weekday + day) % 7]
    live_weight = np.bincount(ad, weights=spend_weight, minlength=n_ads)
    planned = cat["budget"].to_numpy()[ad] * scale * spend_weight / live_weight[ad]
    planned = planned * rng.lognormal(0.0, 0.12, ad.size)
    age = (day - launch[ad]) / (CAMPAIGN_DAYS - 1)
    ctr = (
        cat["ctr"].to_numpy()[ad] * (1 - cat["decay"].to_numpy()[ad]) ** age * rng.lognormal(0, 0.08, ad.size)
    )
    price = cat["price"].to_numpy()[ad]
    cpm = cat["cpm"].to_numpy()[ad]
    impressions = np.where(cpm, rng.poisson(planned / price * 1000), rng.poisson(planned / price / ctr))
    clicks = rng.binomial(impressions, np.minimum(ctr, 1.0))
    cpc_spend = clicks * price * rng.lognormal(0, 0.1, ad.size)
    spend = np.round(np.where(cpm, planned, cpc_spend), 2)
    starts = _starts(sc, camp)
    return pl.DataFrame(
        {
            "ad": ad.astype(np.int32),
            "camp": camp.astype(np.int8),
            "day": day.astype(np.int16),
            "day_us": starts + day.astype(np.int64) * DAY_US,
            "impressions": impressions.astype(np.int64),
            "clicks": clicks.astype(np.int64),
            "spend": spend,
        }
    )


# --- sessions ---------------------------------------------------------------------------------------


def _paid_sessions(rng: np.random.Generator, cat: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """Every click that loads the landing page is a session on that ad's landing URL."""
    arrivals = rng.binomial(days["clicks"].to_numpy(), ARRIVAL_RATE)
    row = np.repeat(np.arange(days.height), arrivals)
    ad = days["ad"].to_numpy()[row]
    return pl.DataFrame(
        {
            "camp": days["camp"].to_numpy()[row],
            "day": days["day"].to_numpy()[row],
            "ts": days["day_us"].to_numpy()[row] + _time_of_day_us(rng, row.size),
            "origin": cat["origin"].to_numpy()[ad].astype(np.int8),
            "ad": ad,
            "page": np.full(row.size, -1, np.int16),
            "cvr": cat["cvr"].to_numpy()[ad],
            "returning": cat["returning"].to_numpy()[ad],
        }
    )


def _unpaid_sessions(rng: np.random.Generator, scale: float, sc: Scenario) -> pl.DataFrame:
    """Organic, direct and referral sessions: Poisson per day with weekday seasonality."""
    frames = []
    for ci, camp in enumerate(sc.campaigns):
        day = np.arange(CAMPAIGN_DAYS)
        for src in UNPAID:
            counts = rng.poisson(src.daily * scale * camp.traffic * WEEKDAY_TRAFFIC[_weekday(camp, day)])
            d = np.repeat(day, counts)
            frames.append(
                pl.DataFrame(
                    {
                        "camp": np.full(d.size, ci, np.int8),
                        "day": d.astype(np.int16),
                        "ts": camp.start_us + d * DAY_US + _time_of_day_us(rng, d.size),
                        "origin": np.full(d.size, ORIGIN_INDEX[src.origin], np.int8),
                        "ad": np.full(d.size, -1, np.int32),
                        "page": rng.choice(_page_codes(src.pages), size=d.size).astype(np.int16),
                        "cvr": np.full(d.size, src.cvr),
                        "returning": np.full(d.size, src.returning),
                    }
                )
            )
    return pl.concat(frames)


PAGES: tuple[str, ...] = tuple(dict.fromkeys(p for src in UNPAID for p in src.pages))


def _page_codes(pages: tuple[str, ...]) -> np.ndarray:
    return np.array([PAGES.index(p) for p in pages])


def _link_users(rng: np.random.Generator, sessions: pl.DataFrame, n_campaigns: int) -> np.ndarray:
    """Who each session belongs to: a returning visitor reuses the visitor of an earlier session.

    A returning session (probability by origin: brand search and retargeting high) points at a recent
    earlier session of the same campaign; following the pointers to the first session gives the
    visitor, and that first session is the journey's first touch (HubSpot's "Original Source").
    Sessions must be sorted by time. Returns, per session, the index of its visitor's first session.
    """
    n = sessions.height
    camp = sessions["camp"].to_numpy()
    per_day = max(n / (n_campaigns * CAMPAIGN_DAYS), 1.0)
    offset = 1 + rng.geometric(1.0 / (3.0 * per_day), n)
    parent = np.arange(n) - offset
    returning = rng.random(n) < sessions["returning"].to_numpy()
    ok = returning & (parent >= 0)
    ok[ok] = camp[parent[ok]] == camp[ok]
    root = np.where(ok, parent, np.arange(n))
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def _first_per_user(user: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Keep only each user's first flagged session (sessions sorted by time): one contact per person."""
    order = np.argsort(user, kind="stable")
    f = flag[order].astype(np.int64)
    u = user[order]
    starts = np.r_[True, u[1:] != u[:-1]]
    group = np.cumsum(starts) - 1
    csum = np.cumsum(f)
    before = (csum - f)[starts]
    keep = np.zeros(user.size, bool)
    keep[order] = (f == 1) & (csum - before[group] == 1)
    return keep


def _conversion_probability(sessions: pl.DataFrame, cat: pl.DataFrame, sc: Scenario) -> np.ndarray:
    """The session's CVR; on the current campaign's /lp/ pages it falls after the redesign (mode 1)."""
    ad = sessions["ad"].to_numpy()
    paths = cat["path"].to_numpy()
    on_lp = (ad >= 0) & np.char.startswith(paths[np.maximum(ad, 0)].astype(str), "/lp/")
    current = sessions["camp"].to_numpy() == sc.current_index
    after = sessions["day"].to_numpy() >= sc.faults.redesign_day
    drop = sc.faults.redesign_cvr_factor if sc.has("landing_cvr_drop") else 1.0
    factor = np.where(on_lp & current & after, drop, 1.0)
    return sessions["cvr"].to_numpy() * factor


def _site_sessions(
    rng: np.random.Generator, cat: pl.DataFrame, days: pl.DataFrame, scale: float, sc: Scenario
) -> pl.DataFrame:
    """Paid and unpaid sessions with visitors and first form fills (email sessions come later)."""
    sessions = pl.concat([_paid_sessions(rng, cat, days), _unpaid_sessions(rng, scale, sc)]).sort(
        "ts", maintain_order=True
    )
    root = _link_users(rng, sessions, len(sc.campaigns))
    converts = rng.random(sessions.height) < _conversion_probability(sessions, cat, sc)
    return sessions.with_columns(
        user=pl.Series(root.astype(np.int64)),
        first_origin=pl.Series(sessions["origin"].to_numpy()[root]),
        lead=pl.Series(_first_per_user(root, converts)),
        send=pl.lit(-1, pl.Int32),
    ).drop("returning")


# --- email -------------------------------------------------------------------------------------------


def _sends(rng: np.random.Generator, scale: float, sc: Scenario) -> pl.DataFrame:
    """Mailchimp sends: nurture steps per segment three times a week, a weekly newsletter.

    In the current campaign the nurture sequence is paused on days 15-24 (mode 2, not annotated).
    """
    rows: list[dict[str, object]] = []
    for ci, camp in enumerate(sc.campaigns):
        steps = dict.fromkeys((seg for seg, _, _ in NURTURE_SEGMENTS), 0)
        for day in range(CAMPAIGN_DAYS):
            for mailing in _mailings(camp, day, steps, sc):
                ts = camp.start_us + day * DAY_US + mailing.hour * 3600 * SECOND_US
                rows.append({"camp": ci, "day": day, "ts": ts, **asdict(mailing)})
    return _engagement(rng, pl.DataFrame(rows), scale)


def _mailings(camp: CampaignSpec, day: int, steps: dict[str, int], sc: Scenario) -> list[Mailing]:
    """The day's sends; each segment moves one nurture step on per send, subject variants alternate."""
    weekday = (camp.start.weekday() + day) % 7
    pause = sc.faults.nurture_pause
    paused = camp.current and sc.has("nurture_pause") and pause[0] <= day <= pause[1]
    out = []
    if weekday in NURTURE_WEEKDAYS and not paused:
        for segment, list_source, hour in NURTURE_SEGMENTS:
            title, path, subjects = NURTURE_STEPS[steps[segment] % len(NURTURE_STEPS)]
            variant = (day // 7 + steps[segment]) % 2
            out.append(
                Mailing(title, path, subjects[variant], "AB"[variant], list_source, segment, hour, True)
            )
            steps[segment] += 1
    if weekday == NEWSLETTER_WEEKDAY:
        subject = NEWSLETTER_SUBJECTS[(day // 7) % len(NEWSLETTER_SUBJECTS)]
        out.append(
            Mailing("Newsletter: Governance Weekly", "/resources/weekly", subject, "A",
                    "Ledgerline Customers & Prospects", "All subscribers", 15, False)
        )  # fmt: skip
    return out


def _engagement(rng: np.random.Generator, sends: pl.DataFrame, scale: float) -> pl.DataFrame:
    """Recipients, bounces, opens and clicks per send; the subject line moves the open rate."""
    n = sends.height
    nurture = sends["nurture"].to_numpy()
    day = sends["day"].to_numpy()
    base = np.where(nurture, 170.0, 1300.0) * scale * (1 + 0.004 * day)
    recipients = np.maximum(rng.poisson(base * rng.lognormal(0, 0.05, n)), 1)
    soft = rng.binomial(recipients, 0.006)
    hard = rng.binomial(recipients - soft, 0.002)
    delivered = recipients - soft - hard
    variant_b = (sends["variant"] == "B").to_numpy()
    open_rate = np.where(nurture, np.where(variant_b, 0.31, 0.26), 0.22) * rng.lognormal(0, 0.05, n)
    opens = rng.binomial(delivered, np.minimum(open_rate, 0.9))
    clicks = rng.binomial(opens, np.where(nurture, 0.12, 0.08))
    uid = _unique_ints(rng, n, 16**9, 16**10, set())
    return sends.with_columns(
        uid=pl.Series([f"{u:010x}" for u in uid]),
        recipients=pl.Series(recipients),
        soft=pl.Series(soft),
        hard=pl.Series(hard),
        delivered=pl.Series(delivered),
        opens=pl.Series(opens),
        total_opens=pl.Series(opens + rng.binomial(opens, 0.45)),
        clicks=pl.Series(clicks),
        total_clicks=pl.Series(clicks + rng.binomial(clicks, 0.3)),
        unsubscribes=pl.Series(rng.binomial(delivered, 0.002)),
        complaints=pl.Series(rng.binomial(delivered, 0.0002)),
    )


def _email_sessions(
    rng: np.random.Generator, sends: pl.DataFrame, site: pl.DataFrame, first_user: int, sc: Scenario
) -> pl.DataFrame:
    """Email clicks land on the step's resource page; most come from contacts already in the CRM.

    A known contact's session joins that contact's journey (and cannot create a second lead); a list
    subscriber not yet in the CRM is a new visitor who may fill the gated form (Original Source email).
    """
    per_send = rng.binomial(sends["clicks"].to_numpy(), 0.85)
    row = np.repeat(np.arange(sends.height), per_send)
    n = row.size
    camp = sends["camp"].to_numpy()[row]
    ts = sends["ts"].to_numpy()[row] + np.minimum(
        rng.exponential(5 * 3600 * SECOND_US, n), 3 * DAY_US
    ).astype(np.int64)
    leads = site.filter(pl.col("lead")).sort("ts", maintain_order=True)
    lead_ts, lead_user = leads["ts"].to_numpy(), leads["user"].to_numpy()
    lo = np.searchsorted(lead_ts, _starts(sc, camp))  # campaigns do not overlap: same campaign, earlier
    hi = np.searchsorted(lead_ts, ts)
    known = (rng.random(n) < EMAIL_KNOWN_SHARE) & (hi > lo)
    pick = lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)
    user = np.where(known, lead_user[np.minimum(pick, max(lead_user.size - 1, 0))], first_user + np.arange(n))
    fills = ~known & (rng.random(n) < EMAIL_CVR)
    first_origin = np.where(known, site["first_origin"].to_numpy()[np.minimum(user, site.height - 1)], EMAIL)
    return pl.DataFrame(
        {
            "camp": camp.astype(np.int8),
            "day": ((ts - _starts(sc, camp)) // DAY_US).astype(np.int16),
            "ts": ts,
            "origin": np.full(n, EMAIL, np.int8),
            "ad": np.full(n, -1, np.int32),
            "page": np.full(n, -1, np.int16),
            "cvr": np.where(known, 0.0, EMAIL_CVR),
            "user": user.astype(np.int64),
            "first_origin": first_origin.astype(np.int8),
            "lead": fills,
            "send": row.astype(np.int32),
        }
    )


# --- visitors, tracking and the GA4 events ---------------------------------------------------------


def _visitors(rng: np.random.Generator, sessions: pl.DataFrame) -> pl.DataFrame:
    """One row per visitor: GA4's `user_pseudo_id` (random number . first-visit seconds) and tracking."""
    users = sessions.group_by("user").agg(pl.col("ts").min().alias("first_ts")).sort("user")
    number = _unique_array(rng, users.height, 100_000_000, 2_147_483_647)
    return users.with_columns(
        pseudo_id=pl.concat_str(
            pl.Series(number).cast(pl.Utf8), pl.lit("."), (pl.col("first_ts") // SECOND_US).cast(pl.Utf8)
        ),
        tracked=pl.Series(rng.random(users.height) >= TRACKING_LOSS),
    )


def _session_layout(rng: np.random.Generator, sessions: pl.DataFrame) -> pl.DataFrame:
    """Pages viewed and timing per session; where and when the form is filled.

    Paid and email sessions carry the form on their landing page; unpaid ones convert on /demo.
    """
    n = sessions.height
    extra = rng.poisson(EXTRA_PAGES_MEAN, n)
    lead = sessions["lead"].to_numpy()
    on_landing = sessions["page"].to_numpy() < 0
    n_events = 2 + extra + np.where(lead, np.where(on_landing, 1, 2), 0)
    first_view = rng.integers(100_000, 1_500_000, n)
    step = rng.integers(15 * SECOND_US, 150 * SECOND_US, n)
    lead_pos = np.where(on_landing, 2, n_events - 1)
    return sessions.with_columns(
        n_events=pl.Series(n_events),
        first_view=pl.Series(first_view),
        step=pl.Series(step),
        on_landing=pl.Series(on_landing),
        lead_ts=pl.Series(sessions["ts"].to_numpy() + first_view + (lead_pos - 1) * step),
    )


def _landing_urls(sessions: pl.DataFrame, cat: pl.DataFrame, sends: pl.DataFrame) -> pl.Expr:
    """The landing URL with its UTM tags: the ad's final URL, the email's tagged link, or a site page."""
    ad_url = pl.Series(cat["final_url"]).gather(sessions["ad"].clip(0)).alias("ad_url")
    email_url = (
        pl.lit(SITE)
        + pl.Series(sends["path"]).gather(sessions["send"].clip(0))
        + "?utm_source=mailchimp&utm_medium=email&utm_campaign="
        + pl.Series(sends["uid"]).gather(sessions["send"].clip(0))
        + "&utm_content=cta"
    )
    page_url = pl.lit(SITE) + pl.Series(list(PAGES)).gather(sessions["page"].clip(0))
    return (
        pl.when(pl.col("ad") >= 0)
        .then(pl.lit(ad_url))
        .when(pl.col("send") >= 0)
        .then(email_url)
        .otherwise(page_url)
    )


def _session_tags(sessions: pl.DataFrame, cat: pl.DataFrame, sends: pl.DataFrame) -> pl.DataFrame:
    """Source, medium, campaign id and content per session, as GA4 and the form's hidden fields see them."""
    src = pl.Series([o.source for o in ORIGINS]).gather(sessions["origin"])
    med = pl.Series([o.medium for o in ORIGINS]).gather(sessions["origin"])
    ad_campaign = pl.Series(cat["campaign_id"]).gather(sessions["ad"].clip(0))
    ad_id = pl.Series(cat["ad_id"]).gather(sessions["ad"].clip(0))
    send_uid = pl.Series(sends["uid"]).gather(sessions["send"].clip(0))
    return sessions.with_columns(
        source=src,
        medium=med,
        campaign_id=pl.when(pl.col("ad") >= 0).then(ad_campaign).when(pl.col("send") >= 0).then(send_uid),
        content=pl.when(pl.col("ad") >= 0).then(ad_id).when(pl.col("send") >= 0).then(pl.lit("cta")),
        url=_landing_urls(sessions, cat, sends),
    )


def _events(rng: np.random.Generator, sessions: pl.DataFrame, visitors: pl.DataFrame) -> pl.DataFrame:
    """GA4 events of tracked visitors: session_start, page_view(s) and generate_lead, in time order."""
    tracked = visitors["tracked"].to_numpy()[sessions["user"].to_numpy()]
    s = sessions.filter(pl.Series(tracked))
    counts = s["n_events"].to_numpy()
    row = np.repeat(np.arange(s.height), counts)
    pos = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    n_ev = counts[row]
    lead = s["lead"].to_numpy()[row]
    landing = s["on_landing"].to_numpy()[row]
    is_lead = lead & np.where(landing, pos == 2, pos == n_ev - 1)
    is_demo_view = lead & ~landing & (pos == n_ev - 2)
    extra_page = pl.Series(list(EXTRA_PAGES)).gather(rng.integers(0, len(EXTRA_PAGES), row.size))
    offset = np.where(pos == 0, 0, s["first_view"].to_numpy()[row] + (pos - 1) * s["step"].to_numpy()[row])
    base = pl.DataFrame({"row": row, "pos": pos, "is_lead": is_lead, "demo": is_demo_view})
    url = pl.Series(s["url"]).gather(row)
    on_landing_page = (pos <= 1) | (is_lead & landing)
    ts = s["ts"].to_numpy()[row] + offset
    return (
        base.select(
            event_date=_utc_series(ts).dt.strftime("%Y%m%d"),
            event_timestamp=pl.Series(ts),
            event_name=pl.when(pl.col("pos") == 0)
            .then(pl.lit("session_start"))
            .when(pl.col("is_lead"))
            .then(pl.lit("generate_lead"))
            .otherwise(pl.lit("page_view")),
            user_pseudo_id=pl.Series(visitors["pseudo_id"]).gather(s["user"].gather(row)),
            user_id=pl.lit(None, pl.Utf8),
            traffic_source_source=pl.Series(s["source"]).gather(row),
            traffic_source_medium=pl.Series(s["medium"]).gather(row),
            campaign_id=pl.Series(s["campaign_id"]).gather(row),
            content=pl.Series(s["content"]).gather(row),
            page_location=pl.when(pl.Series(on_landing_page))
            .then(url)
            .when(pl.col("is_lead") | pl.col("demo"))
            .then(pl.lit(SITE + DEMO_PAGE))
            .otherwise(pl.lit(SITE) + extra_page),
            pos=pl.col("pos"),
        )
        .sort(["event_timestamp", "user_pseudo_id", "pos"], maintain_order=True)
        .drop("pos")
    )


def _utc_series(us: np.ndarray) -> pl.Series:
    return pl.Series(us).cast(pl.Datetime("us", "UTC"))


def _all_sessions(
    rng: np.random.Generator,
    cat: pl.DataFrame,
    days: pl.DataFrame,
    sends: pl.DataFrame,
    scale: float,
    sc: Scenario,
) -> pl.DataFrame:
    """Every session of every campaign, time-ordered, with dense visitor numbers (0..visitors-1)."""
    site = _site_sessions(rng, cat, days, scale, sc)
    email = _email_sessions(rng, sends, site, site.height, sc)
    sessions = pl.concat([site, email]).sort(["ts", "user"], maintain_order=True)
    _, dense = np.unique(sessions["user"].to_numpy(), return_inverse=True)
    return sessions.with_columns(user=pl.Series(dense.astype(np.int64)))


# --- the CRM: contacts, their funnel, deals -----------------------------------------------------------


def _contacts(
    rng: np.random.Generator, sessions: pl.DataFrame, visitors: pl.DataFrame, cat: pl.DataFrame, sc: Scenario
) -> pl.DataFrame:
    """One contact per first form fill, with its first touch, the form's UTM fields and firmographics.

    The UTM fields come from hidden form fields (the converting session's tags); on the current
    campaign a share of tagged contacts lost them (mode 6), though GA4 saw their session.
    """
    leads = sessions.filter(pl.col("lead"))
    n = leads.height
    created = leads["lead_ts"].to_numpy() + rng.integers(5 * SECOND_US, 90 * SECOND_US, n)
    tracked = visitors["tracked"].to_numpy()[leads["user"].to_numpy()]
    current = leads["camp"].to_numpy() == sc.current_index
    f = sc.faults
    share = np.where(current & sc.has("missing_utms"), f.missing_utm_share, f.baseline_missing_utm_share)
    tagged = leads["campaign_id"].is_not_null().to_numpy()
    dropped = tagged & tracked & (rng.random(n) < share)
    sizes = rng.choice(len(COMPANY_SIZES), n, p=[0.12, 0.26, 0.32, 0.2, 0.1])
    first = leads["first_origin"].to_numpy()
    utm = {
        c: pl.when(pl.Series(dropped)).then(None).otherwise(pl.col(c))
        for c in ("source", "medium", "campaign_id", "content")
    }
    return leads.select(
        camp=pl.col("camp"),
        created=pl.Series(created),
        day=pl.Series(((created - _starts(sc, leads["camp"].to_numpy())) // DAY_US).astype(np.int16)),
        channel=pl.Series([o.channel for o in ORIGINS]).gather(first),
        original_source=pl.Series([o.hubspot for o in ORIGINS]).gather(first),
        drill_down=pl.Series([o.drill_down for o in ORIGINS]).gather(first),
        utm_source=utm["source"],
        utm_medium=utm["medium"],
        utm_campaign=utm["campaign_id"],
        utm_content=utm["content"],
        session_campaign=pl.col("campaign_id"),
        hog=pl.Series(cat["role"]).gather(leads["ad"].clip(0)).eq("video") & (pl.col("ad") >= 0),
        ga_client_id=pl.when(pl.Series(tracked)).then(pl.Series(visitors["pseudo_id"]).gather(leads["user"])),
        size=pl.Series(sizes),
        industry=pl.Series(_maybe_empty(rng, INDUSTRIES, n, 0.12)),
        country=pl.Series(np.array(COUNTRIES)[rng.choice(len(COUNTRIES), n, p=COUNTRY_WEIGHTS)]),
    ).sort("created", maintain_order=True)


def _starts(sc: Scenario, camp: np.ndarray) -> np.ndarray:
    return np.array([c.start_us for c in sc.campaigns])[camp]


def _maybe_empty(rng: np.random.Generator, values: tuple[str, ...], n: int, empty: float) -> list[str | None]:
    picks = np.array(values)[rng.integers(0, len(values), n)]
    blank = rng.random(n) < empty
    return [None if b else str(v) for v, b in zip(picks.tolist(), blank.tolist(), strict=True)]


def _stage(rng: np.random.Generator, prev: np.ndarray, p: np.ndarray, delay: np.ndarray) -> np.ndarray:
    """Time a stage is reached (-1: never, or not by the export date) after the previous one."""
    reached = (prev >= 0) & (rng.random(prev.size) < p)
    at = np.where(reached, prev + delay, -1)
    return np.where(at <= _epoch_us_dt(DATA_AS_OF), at, -1)


def _epoch_us_dt(moment: dt.datetime) -> int:
    return int(moment.timestamp()) * SECOND_US


def _funnel(rng: np.random.Generator, contacts: pl.DataFrame, sc: Scenario) -> pl.DataFrame:
    """Lead -> MQL -> SQL -> opportunity -> won, with the current campaign's planted degradations.

    Mode 2: leads created while the nurture sequence was paused reach MQL less often. Mode 3: social-
    sourced MQLs (by first touch) reach SQL far less often. Mode 5: leads of the Meta video reach MQL
    at about half the rate. The SDR capacity dip (annotated) slows the MQL -> SQL hand-off, not its rate.
    """
    n, f = contacts.height, sc.faults
    current = contacts["camp"].to_numpy() == sc.current_index
    channel = contacts["channel"].to_numpy()
    day = contacts["day"].to_numpy()
    paused = current & sc.has("nurture_pause") & (day >= f.nurture_pause[0]) & (day <= f.nurture_pause[1])
    p_mql = np.array([MQL_RATE[c] for c in channel]) * np.where(paused, f.nurture_mql_factor, 1.0)
    hog = current & sc.has("budget_hog") & contacts["hog"].to_numpy()
    p_mql *= np.where(hog, f.hog_mql_factor, 1.0)
    p_sql = np.where(
        current & sc.has("social_mql_to_sql") & (channel == "paid_social"),
        f.social_mql_to_sql,
        np.array([SQL_RATE[c] for c in channel]),
    )
    created = contacts["created"].to_numpy()
    mql = _stage(rng, created, p_mql, _gamma_us(rng, "mql", n))
    mql_day = (mql - _starts(sc, contacts["camp"].to_numpy())) // DAY_US
    slow = current & sc.staffing & (mql_day >= f.sdr_window[0]) & (mql_day <= f.sdr_window[1])
    sql_delay = (_gamma_us(rng, "sql", n) * np.where(slow, f.sdr_delay_factor, 1.0)).astype(np.int64)
    sql = _stage(rng, mql, p_sql, sql_delay)
    opp = _stage(rng, sql, np.full(n, SQO_RATE), _gamma_us(rng, "opportunity", n))
    close = np.where(opp >= 0, opp + _gamma_us(rng, "close", n), -1)
    won = rng.random(n) < WIN_RATE
    closed = (close >= 0) & (close <= _epoch_us_dt(DATA_AS_OF))
    multiplier = np.array([m for _, m in COMPANY_SIZES])[contacts["size"].to_numpy()]
    amount = np.round(rng.lognormal(np.log(22_000), 0.5, n) * multiplier, -2)
    return contacts.with_columns(
        mql=pl.Series(mql),
        sql=pl.Series(sql),
        opp=pl.Series(opp),
        won=pl.Series(np.where(closed & won, close, -1)),
        close=pl.Series(close),
        closed=pl.Series(closed),
        is_won=pl.Series(won),
        amount=pl.Series(amount),
        sdr=pl.Series(np.array(SDRS)[rng.integers(0, len(SDRS), n)]),
        ae=pl.Series(np.array(AES)[rng.integers(0, len(AES), n)]),
        company=pl.Series(_company_names(rng, n)),
    )


def _company_names(rng: np.random.Generator, n: int) -> np.ndarray:
    first, second = (np.array(words.split()) for words in COMPANY_WORDS)
    return np.char.add(
        np.char.add(first[rng.integers(0, first.size, n)], " "), second[rng.integers(0, second.size, n)]
    )


def _record_ids(rng: np.random.Generator, n: int, base: int) -> np.ndarray:
    """HubSpot-style record ids: increasing with creation, with gaps (other objects took numbers)."""
    return base + np.cumsum(rng.integers(1, 40, n))


# --- writers: one function per export layout (docs/exports.md) ------------------------------------


def _date_range(fmt: Callable[[dt.date], str], sc: Scenario) -> tuple[str, str]:
    return fmt(sc.campaigns[0].start), fmt(sc.campaigns[-1].end)


def _us_date(day: dt.date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _ad_rows(cat: pl.DataFrame, days: pl.DataFrame, platform: str) -> pl.DataFrame:
    """One platform's ad-day rows joined to their ads, in date and id order; days without delivery dropped."""
    info = cat.with_row_index("ad").with_columns(pl.col("ad").cast(pl.Int32))
    rows = days.join(info.drop("camp"), on="ad", how="left", maintain_order="left")
    return (
        rows.filter((pl.col("platform") == platform) & (pl.col("impressions") > 0))
        .with_columns(date=_utc("day_us").dt.date())
        .sort(["date", "campaign_id", "group_id", "ad_id"])
    )


def _write_google(path: Path, rows: pl.DataFrame, sc: Scenario) -> int:
    date_range = " - ".join(_date_range(lambda d: f"{d:%B} {d.day}, {d.year}", sc))
    table = pl.DataFrame(
        {
            "Day": rows["date"].cast(pl.Utf8),
            "Campaign": rows["campaign_name"],
            "Campaign ID": rows["campaign_id"],
            "Ad group": rows["group_name"],
            "Ad group ID": rows["group_id"],
            "Ad ID": rows["ad_id"],
            "Ad name": rows["ad_name"],
            "Final URL": rows["final_url"],
            "Impr.": _thousands(rows["impressions"].to_numpy(), 0),
            "Clicks": _thousands(rows["clicks"].to_numpy(), 0),
            "Currency code": [CURRENCY] * rows.height,
            "Cost": _thousands(rows["spend"].to_numpy(), 2),
            "Conversions": _thousands(rows["conversions"].to_numpy(), 2),
            "Conv. value": _thousands(rows["conversions"].to_numpy() * LEAD_VALUE, 2),
        }
    )
    total = dict.fromkeys(table.columns) | {
        "Day": "Total: Account",
        "Impr.": _thousands(np.array([rows["impressions"].sum()]), 0)[0],
        "Clicks": _thousands(np.array([rows["clicks"].sum()]), 0)[0],
        "Currency code": CURRENCY,
        "Cost": _thousands(np.array([rows["spend"].sum()]), 2)[0],
        "Conversions": _thousands(np.array([rows["conversions"].sum()]), 2)[0],
        "Conv. value": _thousands(np.array([rows["conversions"].sum() * LEAD_VALUE]), 2)[0],
    }
    body = pl.concat([table, pl.DataFrame([total])]).write_csv()
    path.write_text(f'Ad report\n"{date_range}"\n{body}', encoding="utf-8")
    return rows.height


def _write_meta(path: Path, rows: pl.DataFrame, _sc: Scenario) -> int:
    clicks = rows["clicks"].to_numpy()
    pl.DataFrame(
        {
            "Reporting starts": rows["date"].cast(pl.Utf8),
            "Reporting ends": rows["date"].cast(pl.Utf8),
            "Campaign name": rows["campaign_name"],
            "Campaign ID": rows["campaign_id"],
            "Ad set name": rows["group_name"],
            "Ad set ID": rows["group_id"],
            "Ad name": rows["ad_name"],
            "Ad ID": rows["ad_id"],
            "Impressions": rows["impressions"],
            "Link clicks": [str(c) if c else None for c in clicks.tolist()],
            "Amount spent (USD)": _fixed(rows["spend"].to_numpy()),
            "Results": rows["conversions"].cast(pl.Int64),
            "Result indicator": ["actions:offsite_conversion.fb_pixel_lead"] * rows.height,
            "Attribution setting": [META_ATTRIBUTION] * rows.height,
        }
    ).write_csv(path)
    return rows.height


def _write_linkedin(path: Path, rows: pl.DataFrame, sc: Scenario) -> int:
    start, end = _date_range(_us_date, sc)
    meta = [
        "Creative Performance Report (in UTC)",
        f"Report Start: {start}",
        f"Report End: {end}",
        f"Date Generated: {_us_date(DATA_AS_OF.date())} {DATA_AS_OF:%I:%M %p}",
        f"Account: {ACCOUNT_NAME} ({rows['account_id'][0]})",
    ]
    body = pl.DataFrame(
        {
            "Start Date (in UTC)": [_us_date(d) for d in rows["date"].to_list()],
            "Account Name": [ACCOUNT_NAME] * rows.height,
            "Campaign Group Name": pl.Series([c.name for c in sc.campaigns]).gather(rows["camp"]),
            "Campaign Name": rows["campaign_name"],
            "Campaign ID": rows["campaign_id"],
            "Creative ID": rows["ad_id"],
            "Creative Name": rows["ad_name"],
            "Audience": rows["group_name"],
            "Impressions": rows["impressions"],
            "Clicks": rows["clicks"],
            "Total Spent": _fixed(rows["spend"].to_numpy()),
            "Currency": [CURRENCY] * rows.height,
            "Conversions": rows["conversions"].cast(pl.Int64),
            "Leads": [0] * rows.height,
        }
    ).write_csv(separator="\t")
    text = "\n".join(meta) + "\n" + body
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return rows.height


def _write_fivetran(path: Path, rows: pl.DataFrame, _sc: Scenario) -> int:
    table = pa.table(
        {
            "source_relation": pa.array(["bingads"] * rows.height, pa.string()),
            "date_day": pa.array(rows["date"].to_list(), pa.date32()),
            "platform": pa.array(["microsoft_ads"] * rows.height, pa.string()),
            "account_id": pa.array(rows["account_id"].to_list(), pa.string()),
            "account_name": pa.array([ACCOUNT_NAME] * rows.height, pa.string()),
            "campaign_id": pa.array(rows["campaign_id"].to_list(), pa.string()),
            "campaign_name": pa.array(rows["campaign_name"].to_list(), pa.string()),
            "ad_group_id": pa.array(rows["group_id"].to_list(), pa.string()),
            "ad_group_name": pa.array(rows["group_name"].to_list(), pa.string()),
            "ad_id": pa.array(rows["ad_id"].to_list(), pa.string()),
            "ad_name": pa.array(rows["ad_name"].to_list(), pa.string()),
            "clicks": pa.array(rows["clicks"].to_list(), pa.int64()),
            "impressions": pa.array(rows["impressions"].to_list(), pa.int64()),
            "spend": pa.array(rows["spend"].to_list(), pa.float64()),
            "conversions": pa.array(rows["conversions"].to_list(), pa.float64()),
            "conversions_value": pa.array(
                (rows["conversions"] * LEAD_VALUE).round(2).to_list(), pa.float64()
            ),
        }
    )
    pq.write_table(table, path)
    return rows.height


def _write_ga4(path: Path, events: pl.DataFrame) -> int:
    events.write_ndjson(path)
    return events.height


def _write_contacts(path: Path, contacts: pl.DataFrame, ids: np.ndarray) -> int:
    stage = (
        (pl.col("mql") >= 0).cast(pl.Int8)
        + (pl.col("sql") >= 0).cast(pl.Int8)
        + (pl.col("opp") >= 0).cast(pl.Int8)
        + (pl.col("won") >= 0).cast(pl.Int8)
    )
    sizes = pl.Series([s for s, _ in COMPANY_SIZES])
    contacts.select(
        **{
            "Record ID": pl.Series(ids).cast(pl.Utf8),
            "Create Date": _hubspot_time("created"),
            "Lifecycle Stage": pl.Series(list(LIFECYCLE)).gather(contacts.select(stage).to_series()),
            "Original Source": pl.col("original_source"),
            "Original Source Drill-Down 1": pl.col("drill_down"),
            "UTM Source": pl.col("utm_source"),
            "UTM Medium": pl.col("utm_medium"),
            "UTM Campaign": pl.col("utm_campaign"),
            "UTM Content": pl.col("utm_content"),
            "Became a Marketing Qualified Lead Date": _stage_time("mql"),
            "Became a Sales Qualified Lead Date": _stage_time("sql"),
            "Became an Opportunity Date": _stage_time("opp"),
            "Became a Customer Date": _stage_time("won"),
            "Contact owner": pl.when(pl.col("mql") >= 0).then(pl.col("sdr")),
            "Industry": pl.col("industry"),
            "Company size": sizes.gather(contacts["size"]),
            "Country": pl.col("country"),
            "Google Analytics Client ID": pl.col("ga_client_id"),
        }
    ).write_csv(path)
    return contacts.height


def _stage_time(col: str) -> pl.Expr:
    return pl.when(pl.col(col) >= 0).then(_hubspot_time(col))


def _deals(rng: np.random.Generator, contacts: pl.DataFrame, contact_ids: np.ndarray) -> pl.DataFrame:
    """One deal per opportunity; an open deal's stage follows its age and its close date is expected."""
    as_of = _epoch_us_dt(DATA_AS_OF)
    deals = (
        contacts.with_columns(contact_id=pl.Series(contact_ids))
        .filter(pl.col("opp") >= 0)
        .sort("opp", maintain_order=True)
    )
    age_days = (as_of - deals["opp"].to_numpy()) // DAY_US
    open_stage = np.array([s for _, s in OPEN_STAGES])[
        np.searchsorted([a for a, _ in OPEN_STAGES], age_days, "right")
    ]
    closed = deals["closed"].to_numpy()
    stage = np.where(closed, np.where(deals["is_won"].to_numpy(), "closedwon", "closedlost"), open_stage)
    expected = np.maximum(deals["opp"].to_numpy() + 60 * DAY_US, as_of + 14 * DAY_US)
    deals = deals.with_columns(close_date=pl.Series(np.where(closed, deals["close"].to_numpy(), expected)))
    return deals.select(
        **{
            "Record ID": pl.Series(_record_ids(rng, deals.height, 14_200_000_000)).cast(pl.Utf8),
            "Deal Name": pl.col("company") + " - Ledgerline Platform",
            "Deal Stage": pl.Series(stage),
            "Amount": pl.Series(_fixed(deals["amount"].to_numpy())),
            "Create Date": _hubspot_time("opp"),
            "Close Date": _hubspot_time("close_date"),
            "Deal owner": pl.col("ae"),
            "Associated Contact IDs": pl.col("contact_id").cast(pl.Utf8),
            "Pipeline": pl.lit("Sales Pipeline"),
        }
    )


def _write_mailchimp(path: Path, sends: pl.DataFrame) -> int:
    delivered = sends["delivered"].to_numpy()
    moments = [dt.datetime.fromtimestamp(t / SECOND_US, dt.UTC) for t in sends["ts"].to_list()]
    pl.DataFrame(
        {
            "Unique Id": sends["uid"],
            "Title": sends["title"],
            "Subject": sends["subject"],
            "List": sends["list_source"],
            "Send Date": [
                f"{m:%b %d, %Y %I:%M} {m:%p}".replace("AM", "am").replace("PM", "pm") for m in moments
            ],
            "Send Weekday": [f"{m:%A}" for m in moments],
            "Total Recipients": sends["recipients"],
            "Successful Deliveries": sends["delivered"],
            "Soft Bounces": sends["soft"],
            "Hard Bounces": sends["hard"],
            "Total Bounces": sends["soft"] + sends["hard"],
            "Unique Opens": sends["opens"],
            "Open Rate": _percent(sends["opens"].to_numpy(), delivered),
            "Total Opens": sends["total_opens"],
            "Unique Clicks": sends["clicks"],
            "Click Rate": _percent(sends["clicks"].to_numpy(), delivered),
            "Total Clicks": sends["total_clicks"],
            "Unsubscribes": sends["unsubscribes"],
            "Abuse Complaints": sends["complaints"],
            "Segment": sends["segment"],
        }
    ).write_csv(path)
    return sends.height


def _percent(part: np.ndarray, whole: np.ndarray) -> list[str]:
    return [f"{v:.2f}%" for v in (100.0 * part / np.maximum(whole, 1)).tolist()]


def _platform_conversions(
    rng: np.random.Generator, cat: pl.DataFrame, days: pl.DataFrame, sessions: pl.DataFrame
) -> pl.DataFrame:
    """What each platform reports as conversions: the leads its clicks made, seen through its window.

    Search platforms use data-driven attribution (fractional); LinkedIn adds some 7-day view-through;
    Meta's 7-day click or 1-day view window loses a few late click conversions and adds many views.
    """
    lead = sessions.filter(pl.col("lead") & (pl.col("ad") >= 0))
    key = lead["ad"].to_numpy().astype(np.int64) * CAMPAIGN_DAYS + lead["day"].to_numpy()
    counts = np.bincount(key, minlength=cat.height * CAMPAIGN_DAYS)
    leads = counts[days["ad"].to_numpy().astype(np.int64) * CAMPAIGN_DAYS + days["day"].to_numpy()]
    platform = cat["platform"].to_numpy()[days["ad"].to_numpy()]
    n = days.height
    search = np.round(leads * rng.lognormal(0, 0.1, n), 2)
    linkedin = leads + rng.poisson(0.15 * leads)
    meta = rng.binomial(leads, 0.9) + rng.poisson(0.35 * leads)
    conversions = np.where(
        platform == "linkedin_ads", linkedin, np.where(platform == "meta_ads", meta, search)
    )
    return days.with_columns(conversions=pl.Series(conversions.astype(float)))


# --- the plan, annotations, benchmarks, campaigns ------------------------------------------------------

FUNNEL_METRICS = (
    "spend",
    "impressions",
    "clicks",
    "sessions",
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "pipeline",
)


def _actuals(w: World, n_campaigns: int) -> list[dict[str, float]]:
    """Each campaign's funnel totals as the exports show them (GA4 sessions are the tracked ones)."""
    tracked, camp = w.tracked_sessions(), w.sessions["camp"].to_numpy()
    out = []
    for ci in range(n_campaigns):
        d = w.days.filter(pl.col("camp") == ci)
        c = w.contacts.filter(pl.col("camp") == ci)
        out.append(
            {
                "spend": float(d["spend"].sum()),
                "impressions": float(d["impressions"].sum()),
                "clicks": float(d["clicks"].sum()),
                "sessions": float(np.sum(tracked & (camp == ci))),
                "leads": float(c.height),
                "mqls": float((c["mql"] >= 0).sum()),
                "sqls": float((c["sql"] >= 0).sum()),
                "opportunities": float((c["opp"] >= 0).sum()),
                "pipeline": float(c.filter(pl.col("opp") >= 0)["amount"].sum()),
            }
        )
    return out


def _plan_targets(spend: float, history: list[dict[str, float]]) -> dict[str, float]:
    """Targets for a planned spend, at the conversion rates of the campaigns before (pooled)."""
    t = {k: sum(h[k] for h in history) for k in FUNNEL_METRICS}
    clicks = spend * t["clicks"] / t["spend"]
    sessions = clicks * t["sessions"] / t["clicks"]
    leads = sessions * t["leads"] / t["sessions"]
    mqls = leads * t["mqls"] / t["leads"]
    sqls = mqls * t["sqls"] / t["mqls"]
    opportunities = sqls * t["opportunities"] / t["sqls"]
    return {
        "spend": round(spend, 2),
        "impressions": round(clicks * t["impressions"] / t["clicks"]),
        "clicks": round(clicks),
        "ctr": round(t["clicks"] / t["impressions"], 4),
        "cpc": round(t["spend"] / t["clicks"], 2),
        "sessions": round(sessions),
        "landing_cvr": round(t["leads"] / t["sessions"], 4),
        "leads": round(leads),
        "cpl": round(spend / leads, 2),
        "mqls": round(mqls),
        "mql_rate": round(t["mqls"] / t["leads"], 4),
        "cost_per_mql": round(spend / mqls, 2),
        "sqls": round(sqls),
        "mql_to_sql_rate": round(t["sqls"] / t["mqls"], 4),
        "opportunities": round(opportunities),
        "sqo_rate": round(t["opportunities"] / t["sqls"], 4),
        "pipeline": round(opportunities * t["pipeline"] / t["opportunities"], -2),
    }


def _plans(
    rng: np.random.Generator, actuals: list[dict[str, float]], scale: float, sc: Scenario
) -> pl.DataFrame:
    """Each quarter plans from the quarters before it; the first from a forecast close to its outcome."""
    rows = []
    for ci, camp in enumerate(sc.campaigns):
        history = actuals[:ci] or [{k: v * float(rng.normal(1.0, 0.03)) for k, v in actuals[0].items()}]
        targets = _plan_targets(sum(camp.budget.values()) * scale, history)
        at = dt.datetime.combine(camp.start - dt.timedelta(days=9), dt.time(10, 30), dt.UTC)
        rows += [
            {"campaign_id": camp.id, "metric": m, "target": float(v), "documented_at": _iso(at)}
            for m, v in targets.items()
        ]
    return pl.DataFrame(rows)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def _day(camp: CampaignSpec, index: int) -> dt.date:
    return camp.start + dt.timedelta(days=index)


REDESIGN_NOTE = (
    "redesign",
    "Site redesign went live: new landing page templates and form component on all /lp/ pages",
    "Dana Whitfield",
)
STAFFING_NOTE = (
    "staffing",
    "SDR team at 60% capacity (two of five SDRs on leave); MQL follow-up slower",
    "Marcus Lee",
)


def _notes(sc: Scenario) -> list[Note]:
    """The scenario's annotations, then the redesign (when planted) and the SDR dip (when staffed low)."""
    f, cur = sc.faults, sc.current_index
    notes = list(sc.notes)
    if sc.has("landing_cvr_drop"):
        notes.append(Note(cur, f.redesign_day, 6, *REDESIGN_NOTE))
    if sc.staffing:
        notes.append(Note(cur, f.sdr_window[0], 0, *STAFFING_NOTE, until=(f.sdr_window[1], 23, 59)))
    return notes


def _annotations(sc: Scenario) -> pl.DataFrame:
    """Known events people recorded. The nurture pause is missing on purpose: nobody wrote it down."""
    rows = []
    for n in _notes(sc):
        camp = sc.campaigns[n.campaign]
        until = _at(_day(camp, n.until[0]), n.until[1], n.until[2]) if n.until else None
        rows.append((_at(_day(camp, n.day), n.hour), until, n.kind, n.description, n.author))
    return pl.DataFrame(
        {
            "start": [_iso(r[0]) for r in rows],
            "end": [_iso(r[1]) if r[1] else None for r in rows],
            "kind": [r[2] for r in rows],
            "description": [r[3] for r in rows],
            "author": [r[4] for r in rows],
        },
        schema={"start": pl.Utf8, "end": pl.Utf8, "kind": pl.Utf8, "description": pl.Utf8, "author": pl.Utf8},
    )


BENCHMARK_SOURCE = "Warrant sample benchmarks: B2B SaaS medians 2026 (synthetic, not a survey)"
BENCHMARKS = (
    ("paid_search", "cpl", 120.0),
    ("paid_search", "ctr", 0.045),
    ("paid_search", "mql_rate", 0.38),
    ("paid_social", "cpl", 95.0),
    ("paid_social", "ctr", 0.0065),
    ("paid_social", "mql_rate", 0.32),
    ("email", "ctr", 0.028),
    ("email", "mql_rate", 0.40),
    ("organic_search", "mql_rate", 0.36),
)


def _benchmarks() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "channel": [b[0] for b in BENCHMARKS],
            "metric": [b[1] for b in BENCHMARKS],
            "value": [b[2] for b in BENCHMARKS],
            "source": [BENCHMARK_SOURCE] * len(BENCHMARKS),
        }
    )


def _campaigns_doc(cat: pl.DataFrame, scale: float, sc: Scenario) -> list[dict[str, object]]:
    """campaigns.json: what a marketer keeps about each campaign, and its taxonomy of platform ids."""
    docs = []
    for ci, camp in enumerate(sc.campaigns):
        by_channel: dict[str, float] = {}
        for platform, budget in camp.budget.items():
            by_channel[PLATFORMS[platform].channel] = (
                by_channel.get(PLATFORMS[platform].channel, 0) + budget * scale
            )
        docs.append(
            {
                "id": camp.id,
                "name": camp.name,
                "objective": sc.objective,
                "hypothesis": camp.hypothesis,
                "hypothesis_documented_at": _iso(_at(camp.start - dt.timedelta(days=12), 16)),
                "start": camp.start.isoformat(),
                "end": camp.end.isoformat(),
                "currency": CURRENCY,
                "planned_budget": {k: round(v, 2) for k, v in by_channel.items()},
                "planned_budget_by_platform": {p: round(b * scale, 2) for p, b in camp.budget.items()},
                "platforms": _taxonomy(cat.filter(pl.col("camp") == ci), camp, sc.platforms),
                "email_sequences": [
                    {
                        "sequence": "Nurture",
                        "steps": [s[0] for s in NURTURE_STEPS],
                        "segments": [s[0] for s in NURTURE_SEGMENTS],
                    }
                ],
            }
        )
    return docs


def _taxonomy(cat: pl.DataFrame, camp: CampaignSpec, platforms: tuple[str, ...]) -> list[dict[str, object]]:
    """Platform > campaign > ad group (audience) > ad, each ad with its format, launch date and page."""
    out = []
    for platform in platforms:
        p = cat.filter(pl.col("platform") == platform)
        campaigns = []
        for cid in p["campaign_id"].unique(maintain_order=True).to_list():
            c = p.filter(pl.col("campaign_id") == cid)
            groups = []
            for gid in c["group_id"].unique(maintain_order=True).to_list():
                g = c.filter(pl.col("group_id") == gid)
                ads = [
                    {
                        "id": r["ad_id"],
                        "name": r["ad_name"],
                        "format": r["format"],
                        "landing_page": SITE + r["path"],
                        "launch_date": _day(camp, r["launch_day"]).isoformat(),
                    }
                    for r in g.iter_rows(named=True)
                ]
                groups.append(
                    {"id": gid, "name": g["group_name"][0], "audience": g["group_name"][0], "ads": ads}
                )
            campaigns.append({"campaign_id": cid, "name": c["campaign_name"][0], "ad_groups": groups})
        out.append({"platform": platform, "channel": PLATFORMS[platform].channel, "campaigns": campaigns})
    return out


# --- ground truth ------------------------------------------------------------------------------------


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _slot_ads(cat: pl.DataFrame, role: str, sc: Scenario) -> dict[str, str]:
    """The ad id filling a planted slot in each campaign (the current one and its baseline counterparts)."""
    rows = cat.filter(pl.col("role") == role).sort("camp")
    camps = sc.campaigns
    return {camps[c].id: a for c, a in zip(rows["camp"].to_list(), rows["ad_id"].to_list(), strict=True)}


def _observed(w: World, sc: Scenario) -> dict[str, dict[str, object]]:
    """The planted quantities as the generated data shows them, per campaign (baselines for contrast)."""
    cat, days, contacts, sends = w.cat, w.days, w.contacts, w.sends
    paid = w.sessions.filter(pl.Series(w.tracked_sessions()) & (pl.col("ad") >= 0))
    ads = cat.with_row_index("ad").with_columns(pl.col("ad").cast(pl.Int32))
    out: dict[str, dict[str, object]] = {m: {} for m in MODES}
    for ci, camp in enumerate(sc.campaigns):
        s, c, d = (f.filter(pl.col("camp") == ci) for f in (paid, contacts, days))
        before, after = (
            s.filter(pl.col("day") < sc.faults.redesign_day),
            s.filter(pl.col("day") >= sc.faults.redesign_day),
        )
        out["landing_cvr_drop"][camp.id] = {
            "cvr_before": _ratio(before["lead"].sum(), before.height),
            "cvr_after": _ratio(after["lead"].sum(), after.height),
        }
        lo, hi = sc.faults.nurture_pause
        inside = c.filter(pl.col("day").is_between(lo, hi))
        outside = c.filter(~pl.col("day").is_between(lo, hi))
        window = sends.filter((pl.col("camp") == ci) & pl.col("nurture") & pl.col("day").is_between(lo, hi))
        out["nurture_pause"][camp.id] = {
            "nurture_sends_in_window": window.height,
            "mql_rate_created_in_window": _ratio((inside["mql"] >= 0).sum(), inside.height),
            "mql_rate_created_outside": _ratio((outside["mql"] >= 0).sum(), outside.height),
        }
        out["social_mql_to_sql"][camp.id] = {
            ch: _ratio((m["sql"] >= 0).sum(), m.height)
            for ch in ("paid_search", "paid_social")
            for m in [c.filter((pl.col("channel") == ch) & (pl.col("mql") >= 0))]
        }
        fatigued = ads.filter((pl.col("camp") == ci) & (pl.col("role") == "fatigue"))
        if fatigued.height:
            out["creative_fatigue"][camp.id] = _fatigue_ctr(d, fatigued)
        video = ads.filter((pl.col("camp") == ci) & (pl.col("role") == "video"))["ad"]
        if video.len():
            hog_leads = c.filter(pl.col("hog"))
            out["budget_hog"][camp.id] = {
                "spend_share": _ratio(d.filter(pl.col("ad") == video[0])["spend"].sum(), d["spend"].sum()),
                "mql_rate": _ratio((hog_leads["mql"] >= 0).sum(), hog_leads.height),
                "campaign_mql_rate": _ratio((c["mql"] >= 0).sum(), c.height),
            }
        tagged = c.filter(pl.col("session_campaign").is_not_null() & pl.col("ga_client_id").is_not_null())
        out["missing_utms"][camp.id] = {
            "share": _ratio(tagged["utm_campaign"].is_null().sum(), tagged.height)
        }
    return out


def _fatigue_ctr(days: pl.DataFrame, ad: pl.DataFrame) -> dict[str, float | None]:
    d = days.filter(pl.col("ad") == ad["ad"][0])
    first, last = d.filter(pl.col("day") < 7), d.filter(pl.col("day") >= CAMPAIGN_DAYS - 7)
    return {
        "ctr_week_1": _ratio(first["clicks"].sum(), first["impressions"].sum()),
        "ctr_week_6": _ratio(last["clicks"].sum(), last["impressions"].sum()),
        "impressions_week_1": int(first["impressions"].sum()),
        "impressions_week_6": int(last["impressions"].sum()),
    }


def _ground_truth(
    cat: pl.DataFrame, observed: dict[str, dict[str, object]], size: str, seed: int, sc: Scenario
) -> dict[str, object]:
    """Each planted mode: where it shows, its parameters, the expected direction and size, what was seen."""
    modes = [_GROUND_TRUTH[mode](cat, sc) for mode in sc.modes]
    for mode in modes:
        mode["observed"] = observed.get(str(mode["id"]), {})
    f = sc.faults
    confounders: list[dict[str, object]] = []
    if sc.has("landing_cvr_drop"):
        confounders.append(
            {
                "annotation_kind": "redesign",
                "date": _cur_day(sc, f.redesign_day),
                "explains": "landing_cvr_drop",
            }
        )
    if sc.staffing:
        confounders.append(
            {
                "annotation_kind": "staffing",
                "from": _cur_day(sc, f.sdr_window[0]),
                "to": _cur_day(sc, f.sdr_window[1]),
                "effect": f"MQL -> SQL delay x{f.sdr_delay_factor} for MQLs in the window, same rates",
                "explains": None,
            }
        )
    doc: dict[str, object] = {
        "size": size,
        "seed": seed,
        "data_as_of": _iso(DATA_AS_OF),
        "campaign_id": sc.current.id,
        "baseline_campaign_ids": [c.id for c in sc.campaigns if not c.current],
        "failure_modes": modes,
        "confounders": confounders,
    }
    if sc.variant is not None:
        doc["variant"] = sc.variant
    return doc


def _cur_day(sc: Scenario, index: int) -> str:
    return _day(sc.current, index).isoformat()


def _mode(
    sc: Scenario, mode_id: str, title: str, category: str, dimension: str, description: str
) -> dict[str, object]:
    return {
        "id": mode_id,
        "title": title,
        "category": category,
        "dimension": dimension,
        "campaign_id": sc.current.id,
        "description": description,
    }


def _where(*places: tuple[str, list[str]]) -> list[dict[str, object]]:
    return [{"file": file, "columns": columns} for file, columns in places]


def _gt_redesign(_cat: pl.DataFrame, sc: Scenario) -> dict[str, object]:
    f = sc.faults
    return _mode(
        sc,
        "landing_cvr_drop",
        "Landing-page conversion drop after the site redesign",
        "creative",
        "landing_page",
        f"From day {f.redesign_day + 1} the /lp/ landing pages turn sessions into leads about "
        f"{round((1 - f.redesign_cvr_factor) * 100)}% less (new templates, form).",
    ) | {
        "where": _where(
            ("web/ga4_events.jsonl", ["event_name", "page_location", "event_date"]),
            ("plan/annotations.csv", ["start", "kind", "description"]),
        ),
        "parameters": {
            "from_date": _cur_day(sc, f.redesign_day),
            "campaign_day": f.redesign_day + 1,
            "pages": "/lp/*",
            "cvr_factor": f.redesign_cvr_factor,
        },
        "expected": {
            "metric": "landing_cvr",
            "direction": "down",
            "relative_change": round(f.redesign_cvr_factor - 1, 2),
        },
        "annotated": True,
    }


def _gt_nurture(_cat: pl.DataFrame, sc: Scenario) -> dict[str, object]:
    f = sc.faults
    lo, hi = f.nurture_pause
    return _mode(
        sc,
        "nurture_pause",
        f"Email nurture sequence paused for {hi - lo + 1} days",
        "workflow_alignment",
        "send_day",
        f"No nurture sends on days {lo + 1}-{hi + 1}; leads created then reach MQL less often. "
        "Nobody annotated it.",
    ) | {
        "where": _where(
            ("email/mailchimp_campaigns.csv", ["Title", "Send Date", "Segment"]),
            ("crm/hubspot_contacts.csv", ["Create Date", "Became a Marketing Qualified Lead Date"]),
        ),
        "parameters": {
            "sequence": "Nurture",
            "title_prefix": "Nurture:",
            "paused_from": _cur_day(sc, lo),
            "paused_to": _cur_day(sc, hi),
            "campaign_days": [lo + 1, hi + 1],
            "mql_rate_factor": f.nurture_mql_factor,
        },
        "expected": {
            "metric": "mql_rate",
            "direction": "down",
            "nurture_sends_in_window": 0,
            "relative_change": round(f.nurture_mql_factor - 1, 2),
        },
        "annotated": False,
    }


_SOCIAL_NAMES = {"linkedin_ads": "LinkedIn", "meta_ads": "Meta"}


def _gt_social(_cat: pl.DataFrame, sc: Scenario) -> dict[str, object]:
    f = sc.faults
    social = ", ".join(name for p, name in _SOCIAL_NAMES.items() if p in sc.platforms)
    return _mode(
        sc,
        "social_mql_to_sql",
        "Social-sourced MQLs rarely become SQLs",
        "audience",
        "channel",
        f"MQLs whose first touch was paid social ({social}) become SQLs at "
        f"~{round(f.social_mql_to_sql * 100)}%, search ones at ~{round(SQL_RATE['paid_search'] * 100)}%.",
    ) | {
        "where": _where(
            (
                "crm/hubspot_contacts.csv",
                [
                    "Original Source",
                    "Became a Marketing Qualified Lead Date",
                    "Became a Sales Qualified Lead Date",
                ],
            )
        ),
        "parameters": {
            "channel": "paid_social",
            "original_source": "Paid Social",
            "mql_to_sql": f.social_mql_to_sql,
            "reference_channel": "paid_search",
            "reference_mql_to_sql": SQL_RATE["paid_search"],
            "baseline_social_mql_to_sql": SQL_RATE["paid_social"],
        },
        "expected": {
            "metric": "mql_to_sql_rate",
            "direction": "down",
            "social_vs_search_ratio": round(f.social_mql_to_sql / SQL_RATE["paid_search"], 2),
        },
        "annotated": False,
    }


def _gt_fatigue(cat: pl.DataFrame, sc: Scenario) -> dict[str, object]:
    ads, cur, f = _slot_ads(cat, "fatigue", sc), sc.current, sc.faults
    return _mode(
        sc,
        "creative_fatigue",
        "LinkedIn creative fatigue",
        "creative",
        "creative",
        "The LinkedIn checklist creative's CTR decays steadily with its age while its impressions hold.",
    ) | {
        "where": _where(
            ("ads/linkedin_ads.csv", ["Start Date (in UTC)", "Creative ID", "Impressions", "Clicks"])
        ),
        "parameters": {
            "platform": "linkedin_ads",
            "creative_id": ads[cur.id],
            "creative_name": _ad_name(cat, ads[cur.id]),
            "launch_date": cur.start.isoformat(),
            "ctr_drop_over_campaign": f.fatigue_drop,
            "baseline_counterparts": {k: v for k, v in ads.items() if k != cur.id},
        },
        "expected": {
            "metric": "ctr",
            "direction": "down",
            "impressions": "flat",
            "week_6_vs_week_1": round((1 - f.fatigue_drop) ** (35 / (CAMPAIGN_DAYS - 1)), 2),
        },
        "annotated": False,
    }


def _gt_hog(cat: pl.DataFrame, sc: Scenario) -> dict[str, object]:
    ads, cur, f = _slot_ads(cat, "video", sc), sc.current, sc.faults
    video = "customer-story video" if sc.video_name is None else f"video ({sc.video_name})"
    return _mode(
        sc,
        "budget_hog",
        "Meta video takes over 20% of paid spend with a weak MQL rate",
        "channel_mix",
        "channel_x_creative",
        f"The Meta {video} consumes ~{round(f.hog_share * 100)}% of all paid spend; its leads reach MQL at "
        "about half the campaign's average rate.",
    ) | {
        "where": _where(
            ("ads/meta_ads.csv", ["Ad ID", "Amount spent (USD)"]),
            ("crm/hubspot_contacts.csv", ["UTM Content", "Became a Marketing Qualified Lead Date"]),
        ),
        "parameters": {
            "platform": "meta_ads",
            "channel": "paid_social",
            "ad_id": ads[cur.id],
            "ad_name": _ad_name(cat, ads[cur.id]),
            "format": "video",
            "spend_share": f.hog_share,
            "mql_rate_factor": f.hog_mql_factor,
            "baseline_counterparts": {k: v for k, v in ads.items() if k != cur.id},
        },
        "expected": {
            "metric": "mql_rate",
            "direction": "down",
            "spend_share_above": 0.2,
            "mql_rate_vs_average": 0.5,
        },
        "annotated": False,
    }


def _gt_utms(_cat: pl.DataFrame, sc: Scenario) -> dict[str, object]:
    f = sc.faults
    return _mode(
        sc,
        "missing_utms",
        "UTM fields missing on CRM contacts",
        "data_quality",
        "tracking",
        "A share of contacts whose converting session carried UTM tags (GA4 saw it) have empty UTM fields.",
    ) | {
        "where": _where(
            (
                "crm/hubspot_contacts.csv",
                ["UTM Source", "UTM Medium", "UTM Campaign", "UTM Content", "Google Analytics Client ID"],
            ),
            ("web/ga4_events.jsonl", ["user_pseudo_id", "event_name", "campaign_id"]),
        ),
        "parameters": {
            "share": f.missing_utm_share,
            "baseline_share": f.baseline_missing_utm_share,
            "population": "the campaign's contacts whose generate_lead event in GA4 has a campaign_id",
        },
        "expected": {
            "metric": "utm_integrity",
            "direction": "down",
            "share_range": [round(f.missing_utm_share - 0.05, 2), round(f.missing_utm_share + 0.08, 2)],
        },
        "annotated": False,
    }


_WINDOW_SOURCES = (
    ("meta_ads", "meta_ads", "Meta", "ads/meta_ads.csv"),
    ("google_ads", "google_ads", "Google", "ads/google_ads.csv"),
    ("linkedin_ads", "linkedin_ads", "LinkedIn", "ads/linkedin_ads.csv"),
    ("microsoft_ads", "fivetran_ad_report", "Fivetran (Microsoft Ads)", "ads/fivetran_ad_report.parquet"),
)
"""(platform, mapping, name, export) in the order the default's ground truth lists them."""


def _gt_windows(_cat: pl.DataFrame, sc: Scenario) -> dict[str, object]:
    present = [s for s in _WINDOW_SOURCES if s[0] in sc.platforms]
    if len(present) == len(_WINDOW_SOURCES):
        description = (
            "Meta reports conversions with a 7-day click or 1-day view window; Google and Fivetran "
            "(Microsoft Ads) count 30-day click, LinkedIn 30-day click with 7-day view."
        )
        where = _where(
            ("ads/meta_ads.csv", ["Attribution setting", "Results"]), ("ads/google_ads.csv", ["Conversions"])
        )
    else:
        description = "; ".join(f"{name} counts {WINDOWS[p]}" for p, _, name, _ in present) + "."
        where = _where(*((file, ["Conversions"]) for _, _, _, file in present))
    return _mode(
        sc,
        "attribution_window_mismatch",
        "Attribution windows differ between sources",
        "data_quality",
        "attribution",
        description,
    ) | {
        "where": where,
        "parameters": {"sources": [{"mapping": m, "window": WINDOWS[p]} for p, m, _, _ in present]},
        "expected": {"metric": "platform_conversions", "direction": "inconsistent", "differs": True},
        "annotated": False,
    }


_GROUND_TRUTH: dict[str, Callable[[pl.DataFrame, Scenario], dict[str, object]]] = {
    "landing_cvr_drop": _gt_redesign,
    "nurture_pause": _gt_nurture,
    "social_mql_to_sql": _gt_social,
    "creative_fatigue": _gt_fatigue,
    "budget_hog": _gt_hog,
    "missing_utms": _gt_utms,
    "attribution_window_mismatch": _gt_windows,
}


def _ad_name(cat: pl.DataFrame, ad_id: str) -> str:
    return str(cat.filter(pl.col("ad_id") == ad_id)["ad_name"][0])


# --- generate ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """Everything one simulation produced; every export, the plan and the ground truth are views of it."""

    cat: pl.DataFrame
    days: pl.DataFrame
    sends: pl.DataFrame
    sessions: pl.DataFrame
    visitors: pl.DataFrame
    contacts: pl.DataFrame
    contact_ids: np.ndarray
    events: pl.DataFrame

    def tracked_sessions(self) -> np.ndarray:
        """Which sessions GA4 saw (its visitor was tracked)."""
        return self.visitors["tracked"].to_numpy()[self.sessions["user"].to_numpy()]


def _simulate(rng: np.random.Generator, scale: float, report: Progress, sc: Scenario) -> World:
    """Run the simulation in its fixed order: ads, email, sessions, visitors, CRM, platform view, events."""
    report("ads", 0.0)
    cat = _catalogue(rng, sc)
    days = _delivery(rng, cat, scale, sc)
    sends = _sends(rng, scale, sc)
    report("sessions", 0.1)
    sessions = _all_sessions(rng, cat, days, sends, scale, sc)
    visitors = _visitors(rng, sessions)
    sessions = _session_tags(_session_layout(rng, sessions), cat, sends)
    report("crm", 0.3)
    contacts = _funnel(rng, _contacts(rng, sessions, visitors, cat, sc), sc)
    contact_ids = _record_ids(rng, contacts.height, 31_400_000_000)
    days = _platform_conversions(rng, cat, days, sessions)
    report("events", 0.4)
    events = _events(rng, sessions, visitors)
    return World(cat, days, sends, sessions, visitors, contacts, contact_ids, events)


@dataclass
class _Output:
    """Files written so far, in ingestion order."""

    root: Path
    campaign_id: str
    files: list[ManifestFile] = field(default_factory=list)

    def path(self, rel: str) -> Path:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add(self, rel: str, mapping: str, table: str, rows: int) -> None:
        self.files.append(
            ManifestFile(file=rel, mapping=mapping, table=table, campaign_id=self.campaign_id, rows=rows)
        )


def _prepare(size: str, out: Path) -> SizeSpec:
    if size not in SIZES:
        raise ValueError(f"unknown sample size {size!r}: choose one of {', '.join(SIZES)}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"output directory {out} exists and is not empty: choose a new or empty directory")
    out.mkdir(parents=True, exist_ok=True)
    return SIZES[size]


def generate(
    size: str,
    seed: int,
    out: Path,
    *,
    progress: Progress | None = None,
    scenario: Scenario = DEFAULT,
) -> Manifest:
    """Write the sample exports, `campaigns.json`, `ground_truth.json` and `manifest.json` into `out`.

    `scenario` says what to simulate (default: Ledgerline's three quarters with every failure mode
    planted in the last). Raises ValueError for an unknown size or an `out` that exists and is not
    empty (nothing is ever overwritten). `progress(step, fraction)` is called as work advances.
    """
    sc = scenario
    spec = _prepare(size, Path(out))
    report = progress or (lambda _step, _fraction: None)
    rng = np.random.Generator(np.random.PCG64(seed))
    world = _simulate(rng, spec.scale, report, sc)
    output = _Output(Path(out), sc.current.id)
    _write_exports(output, world, rng, report, sc)
    _write_plan(output, _plans(rng, _actuals(world, len(sc.campaigns)), spec.scale, sc), sc)
    _write_json(output.path("campaigns.json"), _campaigns_doc(world.cat, spec.scale, sc))
    _write_json(
        output.path("ground_truth.json"), _ground_truth(world.cat, _observed(world, sc), size, seed, sc)
    )
    manifest = Manifest(
        size=size,
        seed=seed,
        schema_version=SCHEMA_VERSION,
        data_as_of=DATA_AS_OF,
        campaigns=[
            ManifestCampaign(
                id=c.id, name=c.name, start=c.start, end=c.end, role="current" if c.current else "baseline"
            )
            for c in sc.campaigns
        ],
        files=output.files,
    )
    output.path("manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    report("done", 1.0)
    return manifest


_AD_EXPORTS: tuple[tuple[str, str, str, Callable[[Path, pl.DataFrame, Scenario], int]], ...] = (
    ("google_ads", "ads/google_ads.csv", "google_ads", _write_google),
    ("microsoft_ads", "ads/fivetran_ad_report.parquet", "fivetran_ad_report", _write_fivetran),
    ("linkedin_ads", "ads/linkedin_ads.csv", "linkedin_ads", _write_linkedin),
    ("meta_ads", "ads/meta_ads.csv", "meta_ads", _write_meta),
)
"""(platform, file, mapping, writer) of each ad export, in ingestion order."""


def _write_exports(
    output: _Output, w: World, rng: np.random.Generator, report: Progress, sc: Scenario
) -> None:
    """Each platform of the mix in its export layout, then GA4, the CRM and Mailchimp."""
    cat, days = w.cat, w.days
    for platform, rel, mapping, write in _AD_EXPORTS:
        if platform in sc.platforms:
            rows = write(output.path(rel), _ad_rows(cat, days, platform), sc)
            output.add(rel, mapping, "ad_performance", rows)
    report("writing web events", 0.5)
    output.add(
        "web/ga4_events.jsonl",
        "ga4_events",
        "touchpoints",
        _write_ga4(output.path("web/ga4_events.jsonl"), w.events),
    )
    report("writing CRM", 0.8)
    rows = _write_contacts(output.path("crm/hubspot_contacts.csv"), w.contacts, w.contact_ids)
    output.add("crm/hubspot_contacts.csv", "hubspot_contacts", "leads", rows)
    deals = _deals(rng, w.contacts, w.contact_ids)
    deals.write_csv(output.path("crm/hubspot_deals.csv"))
    output.add("crm/hubspot_deals.csv", "hubspot_deals", "opportunities", deals.height)
    rows = _write_mailchimp(output.path("email/mailchimp_campaigns.csv"), w.sends)
    output.add("email/mailchimp_campaigns.csv", "mailchimp_campaigns", "email_sends", rows)
    report("writing plan", 0.9)


def _write_plan(output: _Output, plans: pl.DataFrame, sc: Scenario) -> None:
    for rel, table, frame in (
        ("plan/plans.csv", "plans", plans),
        ("plan/annotations.csv", "annotations", _annotations(sc)),
        ("plan/benchmarks.csv", "benchmarks", _benchmarks()),
    ):
        frame.write_csv(output.path(rel))
        output.add(rel, f"warrant_{table}", table, frame.height)


def _write_json(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
