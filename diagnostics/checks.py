"""The three checks of DOMAIN.md, applied to every finding.

- Sample size: a 3x lift on 11 data points is a hypothesis to test, not a finding; signals from
  fewer than about 50 conversions per week are low-volume and are said to be.
- Confounders: a change that coincides with a known event (an annotation: redesign, paused
  sequence, staffing, tracking change) needs a person to confirm the cause; until then the finding
  is marked and stays a hypothesis.
- Actionability: a pattern nobody can change goes on the "to test next time" list.

Findings that fail a check are kept, labelled as hypotheses, and cannot back a budget change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from diagnostics.assumptions import Assumptions
from diagnostics.findings import Checks, Finding


class Annotation(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: dt.datetime
    end: dt.datetime | None
    kind: str
    description: str
    author: str

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        end = (self.end or self.start).date()
        return self.start.date() <= last and end >= first

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
    overlapping = []
    if finding.period is not None:
        overlapping = [str(a) for a in annotations if a.overlaps(*finding.period)]
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
