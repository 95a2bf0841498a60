"""The three checks of DOMAIN.md, applied to every finding.

- Sample size: a 3x lift on 11 data points is a hypothesis to test, not a finding; signals from
  fewer than about 50 conversions per week are low-volume and are said to be.
- Confounders: a change that coincides with a known event (an annotation: redesign, paused
  sequence, staffing, tracking change) needs a person to confirm the cause; until then the finding
  is marked and stays a hypothesis. Only events that can touch where the effect happens count: a
  site redesign can explain a landing-page drop, not a fall in ad CTR on the platform.
- Actionability: a pattern nobody can change goes on the "to test next time" list.

Findings that fail a check are kept, labelled as hypotheses, and cannot back a budget change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from diagnostics.assumptions import Assumptions
from diagnostics.findings import Checks, Finding

POINT_EVENT_REACH = dt.timedelta(days=7)

# Which surfaces an event of a kind can disturb; a kind not listed may disturb anything.
_KIND_SURFACES: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("redesign", "site", "landing", "website"), frozenset({"site"})),
    (("staffing", "sdr", "sales"), frozenset({"crm"})),
    (("email", "sequence", "nurture"), frozenset({"email", "crm"})),
    (("creative", "pivot", "bid", "budget"), frozenset({"ads"})),
    (("tracking", "consent", "tag"), frozenset({"site", "data", "ads"})),
)


class Annotation(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: dt.datetime
    end: dt.datetime | None
    kind: str
    description: str
    author: str

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        """A period event overlaps the window; a point event (a redesign going live) changes what
        follows it, so it also counts in the week before a change's onset."""
        if self.end is None:
            return first - POINT_EVENT_REACH <= self.start.date() <= last
        return self.start.date() <= last and self.end.date() >= first

    def surfaces(self) -> frozenset[str] | None:
        """What this event can disturb, from its kind; None: anything."""
        kind = self.kind.lower()
        for words, surfaces in _KIND_SURFACES:
            if any(word in kind for word in words):
                return surfaces
        return None

    def confounds(self, finding: Finding) -> bool:
        if finding.period is None or not self.overlaps(*finding.period):
            return False
        mine = self.surfaces()
        return mine is None or not finding.surfaces or bool(mine & set(finding.surfaces))

    def __str__(self) -> str:
        when = self.start.date().isoformat() + (f" to {self.end.date().isoformat()}" if self.end else "")
        return f"{self.kind} ({when}, {self.author}): {self.description}"


def check(
    finding: Finding,
    annotations: Sequence[Annotation],
    assumptions: Assumptions,
    confirmed: Iterable[str] = (),
) -> Finding:
    """The finding with its three checks filled in. `confirmed` holds ids of findings whose cause a
    person has confirmed despite an overlapping event."""
    minimum = assumptions.min_conversions_per_week
    if finding.sample_size is None:
        size_ok, size_note = True, "no sample-size requirement (a data-quality or plan fact)"
    elif finding.weeks:
        per_week = finding.sample_size / finding.weeks
        size_ok = per_week >= minimum
        size_note = (
            f"{finding.sample_size} events over {finding.weeks:.1f} weeks = {per_week:.1f}/week "
            f"({'at least' if size_ok else 'below'} {minimum}/week)"
        )
    else:
        size_ok = finding.sample_size >= minimum
        size_note = f"{finding.sample_size} events ({'at least' if size_ok else 'below'} {minimum})"
    overlapping = [str(a) for a in annotations if a.confounds(finding)]
    actionable = finding.action is not None
    checks = Checks(
        sample_size_ok=size_ok,
        sample_size_note=size_note,
        confounders=overlapping,
        confounders_ok=not overlapping or finding.id in set(confirmed),
        actionable=actionable,
        actionable_note=finding.action or "nobody can change this: to test next time",
    )
    return finding.model_copy(update={"checks": checks})
