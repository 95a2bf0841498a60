"""The demo library's campaigns: many generated post-mortems, each with a truth that is known.

Why: the post-mortem library is only worth searching when there are many post-mortems in it, and a
search can only be judged against truth that is known. Each variant here is one `Scenario` of the
sample generator: a program of a theme (webinar, ebook, product launch, trial sign-up, event, ABM),
a channel mix, a subset of the seven failure modes at a severity (or none: campaigns where nothing
much failed), a seed, and its own dates. Its `ground_truth.json` says what was planted, so a judged
query set can say which post-mortems should come first without looking at what search returns.

Each variant is two campaigns: the program's previous flight (the baseline, never post-mortemed)
and the flight whose post-mortem joins the library. Variants take one 13-week quarter each, counted
back from the quarter before the default sample's first campaign, so no two campaigns anywhere in
one graph overlap (the diagnostics place email sends and unpaid sessions by date, and a date inside
two campaigns belongs to neither). Variant `i` does not depend on how many variants are asked for:
a library of 60 is the library of 50 and ten more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ingest.sample import CAMPAIGN_DAYS, PLANTABLE, CampaignSpec, Faults, Note, Scenario

MAX_VARIANTS = 80
"""Quarters back from 2025-11 before the dates reach the early 2000s; more is not a demo."""
LAST_START = dt.date(2025, 11, 3)
"""Variant 0's baseline starts here (a Monday); its flight ends 2026-01-25, before the default's first."""
STRIDE = dt.timedelta(weeks=13)


@dataclass(frozen=True)
class Theme:
    """A kind of program: what it is called, what it wants, and how its people talk about it."""

    key: str
    program: str
    objective: str
    hypothesis: str
    video: str
    """The name of its Meta video creative (the slot a budget hog takes)."""
    note: tuple[str, str, str]
    """(kind, description, author) of an event someone annotated on the previous flight."""


THEMES: tuple[Theme, ...] = (
    Theme(
        "webinar",
        "Lineage Webinar Series",
        "Fill the live lineage webinar with data leaders and turn attendees into SQLs.",
        "Promoting the live webinar on search and LinkedIn fills it with data leaders; attendees who "
        "get the replay in the nurture sequence reach MQL within two weeks.",
        "Webinar Trailer | Video 30s",
        ("event", "Guest speaker from Snowmesh confirmed for the live session", "Grace Lin"),
    ),
    Theme(
        "ebook",
        "Governance eBook Syndication",
        "Collect qualified leads with the data governance eBook and nurture them to sales.",
        "Gating the governance eBook behind a short form doubles lead volume at a lower cost per lead; "
        "the nurture sequence qualifies the readers.",
        "eBook Teaser | Video 15s",
        ("content", "eBook second edition published with a new audit chapter", "Dana Whitfield"),
    ),
    Theme(
        "launch",
        "Catalog Product Launch",
        "Launch the data catalog module to existing prospects and create launch pipeline.",
        "A coordinated launch across search, LinkedIn and Meta makes the catalog module the most "
        "requested demo of the quarter.",
        "Launch Film | Video 60s",
        ("release", "Catalog module general availability announced on the blog", "Grace Lin"),
    ),
    Theme(
        "trial",
        "Free Trial Signup Drive",
        "Grow free-trial sign-ups from data teams and convert active trials to opportunities.",
        "Search ads pointing at the free trial bring sign-ups at a lower cost per lead than demo "
        "requests, and trial users qualify faster.",
        "Trial Walkthrough | Video 30s",
        ("product", "Trial length extended from 14 to 21 days", "Marcus Lee"),
    ),
    Theme(
        "event",
        "Data Governance Summit",
        "Register governance buyers for the summit and meet them on site.",
        "Paid promotion of the summit agenda fills the registration target; booth meetings become "
        "opportunities within the quarter.",
        "Summit Recap | Video 45s",
        ("event", "Summit venue changed; registrants were emailed the new address", "Aisha Okafor"),
    ),
    Theme(
        "abm",
        "Enterprise ABM Program",
        "Create pipeline in the named enterprise accounts of the target list.",
        "Account-based LinkedIn and search campaigns on the named accounts create more opportunities "
        "per dollar than broad prospecting.",
        "Customer Story | Video 30s",
        ("sales", "Target account list refreshed with 40 new enterprise accounts", "Jordan Blake"),
    ),
)

MIXES: dict[str, dict[str, float]] = {
    "full": {"google_ads": 21_000, "microsoft_ads": 5_000, "linkedin_ads": 21_000, "meta_ads": 24_000},
    "search": {"google_ads": 55_000, "microsoft_ads": 16_000},
    "search_linkedin": {"google_ads": 45_000, "linkedin_ads": 26_000},
    "search_meta": {"google_ads": 35_000, "microsoft_ads": 9_000, "meta_ads": 27_000},
    "social_led": {"google_ads": 20_000, "linkedin_ads": 26_000, "meta_ads": 25_000},
}
"""Planned paid budget per platform of each channel mix, at size S (the current flight). Why these:
about the same total whatever the mix, so that paid leads outnumber unpaid ones as in the default
sample (with a smaller paid share the CRM's UTM integrity falls under its 90% gate in every campaign,
planted or not); and no platform so large that one of its ads alone takes over 20% of the paid
spend (LinkedIn's checklist image is 48% of LinkedIn's budget, Meta's video 45% of Meta's), which
would be a budget hog nobody planted."""
TRAFFIC = 0.6
"""Unpaid (organic, direct, referral) traffic against the default's, for the same reason."""

PLANS: tuple[tuple[str, ...], ...] = (
    (),
    ("landing_cvr_drop",),
    ("nurture_pause", "missing_utms"),
    ("creative_fatigue",),
    ("budget_hog", "social_mql_to_sql"),
    ("missing_utms",),
    ("landing_cvr_drop", "nurture_pause"),
    ("social_mql_to_sql",),
    ("creative_fatigue", "budget_hog", "landing_cvr_drop"),
    ("nurture_pause",),
)
"""The failure modes planted, in a cycle of ten: one campaign in ten where nothing much failed."""

_NEEDS = {
    "creative_fatigue": {"linkedin_ads"},
    "budget_hog": {"meta_ads"},
    "social_mql_to_sql": {"linkedin_ads", "meta_ads"},
}
"""Platforms a mode needs (any one of them)."""


def _severity(mode: str, strong: bool, offset: int) -> dict[str, Any]:
    """The `Faults` fields of one mode at a severity; `offset` moves the dates a little."""
    if mode == "landing_cvr_drop":
        return {"redesign_day": 5 + offset, "redesign_cvr_factor": 0.5 if strong else 0.68}
    if mode == "nurture_pause":
        first = 12 + offset
        return {
            "nurture_pause": (first, first + (10 if strong else 7)),
            "nurture_mql_factor": 0.4 if strong else 0.55,
        }
    if mode == "social_mql_to_sql":
        return {"social_mql_to_sql": 0.08 if strong else 0.14}
    if mode == "creative_fatigue":
        return {"fatigue_drop": 0.7 if strong else 0.55}
    if mode == "budget_hog":
        return {"hog_share": 0.27 if strong else 0.24, "hog_mql_factor": 0.35 if strong else 0.45}
    if mode == "missing_utms":
        return {"missing_utm_share": 0.28 if strong else 0.18}
    raise ValueError(f"unknown failure mode {mode!r}")


@dataclass(frozen=True)
class Variant:
    """One campaign of the demo library: its theme, mix, planted modes and severity, seed and dates."""

    index: int
    theme: Theme
    mix: str
    planted: tuple[str, ...]
    strong: bool
    seed: int

    @property
    def baseline_start(self) -> dt.date:
        return LAST_START - self.index * STRIDE

    @property
    def start(self) -> dt.date:
        return self.baseline_start + dt.timedelta(days=CAMPAIGN_DAYS)

    @property
    def campaign_id(self) -> str:
        return f"cmp-{self.start:%Y-%m}-{self.theme.key}"

    @property
    def baseline_id(self) -> str:
        return f"cmp-{self.baseline_start:%Y-%m}-{self.theme.key}"

    @property
    def name(self) -> str:
        return f"{self.theme.program}, {self.start:%B %Y}"

    @property
    def severity(self) -> str:
        return "none" if not self.planted else "strong" if self.strong else "mild"

    @property
    def faults(self) -> Faults:
        fields: dict[str, Any] = {}
        for mode in self.planted:
            fields |= _severity(mode, self.strong, self.index % 3)
        return Faults(**fields)

    def scenario(self) -> Scenario:
        """The generator's scenario: the previous flight, then this one; the theme's note on the first."""
        budget = MIXES[self.mix]
        baseline = CampaignSpec(
            id=self.baseline_id,
            name=f"{self.theme.program}, {self.baseline_start:%B %Y}",
            tag=f"{self.baseline_start:%Y%m}",
            start=self.baseline_start,
            budget={p: round(b * 0.92) for p, b in budget.items()},
            traffic=TRAFFIC,
            hypothesis=self.theme.hypothesis,
        )
        current = CampaignSpec(
            id=self.campaign_id,
            name=self.name,
            tag=f"{self.start:%Y%m}",
            start=self.start,
            budget=dict(budget),
            traffic=TRAFFIC,
            hypothesis=self.theme.hypothesis,
            current=True,
        )
        kind, description, author = self.theme.note
        return Scenario(
            campaigns=(baseline, current),
            faults=self.faults,
            planted=frozenset(self.planted),
            platforms=tuple(p for p in MIXES["full"] if p in budget),
            program=self.theme.program,
            objective=self.theme.objective,
            video_name=self.theme.video,
            notes=(Note(0, 18, 10, kind, description, author),),
            staffing=False,
            variant={
                "index": self.index,
                "theme": self.theme.key,
                "program": self.theme.program,
                "campaign_name": self.name,
                "start": self.start.isoformat(),
                "end": current.end.isoformat(),
                "mix": self.mix,
                "platforms": sorted(budget),
                "planted": list(self.planted),
                "severity": self.severity,
            },
        )


def variant(index: int, seed: int = 7) -> Variant:
    """Variant `index` of the library drawn from `seed`: the theme cycles through six, the planted
    modes through `PLANS` (ten), and every ten the severity flips and the mix moves on to the next
    of those that hold the platforms the planted modes need. Deterministic, so the judged query set
    can name the campaigns."""
    if not 0 <= index < MAX_VARIANTS:
        raise ValueError(f"the demo library holds at most {MAX_VARIANTS} variants, not {index + 1}")
    planted = PLANS[index % len(PLANS)]
    mixes = [
        name
        for name, budget in MIXES.items()
        if all(needs & set(budget) for mode, needs in _NEEDS.items() if mode in planted)
    ]
    return Variant(
        index=index,
        theme=THEMES[index % len(THEMES)],
        mix=mixes[(index // len(PLANS)) % len(mixes)],
        planted=tuple(m for m in PLANTABLE if m in planted),
        strong=(index // len(PLANS)) % 2 == 0,
        seed=seed * 1_000 + index,
    )


def variants(count: int, seed: int = 7) -> list[Variant]:
    """The first `count` variants (the same first ones whatever the count)."""
    if not 1 <= count <= MAX_VARIANTS:
        raise ValueError(f"a demo library holds 1 to {MAX_VARIANTS} variants, not {count}")
    return [variant(i, seed) for i in range(count)]
