"""The three checks decide finding vs hypothesis, at their boundaries."""

from __future__ import annotations

import datetime as dt

from diagnostics.assumptions import Assumptions
from diagnostics.checks import Annotation, check
from diagnostics.findings import Finding

REDESIGN = Annotation(
    start=dt.datetime(2026, 9, 8, 9, tzinfo=dt.UTC),
    end=None,
    kind="site_change",
    description="Landing pages moved to the new template",
    author="Dana Whitfield",
)


def finding(**extra: object) -> Finding:
    base = {
        "id": "funnel:landing",
        "kind": "funnel_stage_drop",
        "category": "creative",
        "title": "Landing conversion fell",
        "statement": "Landing conversion fell from 21% to 12%.",
        "action": "Restore the old form on /lp/ pages",
    }
    return Finding.model_validate({**base, **extra})


def test_volume_per_week_at_the_boundary() -> None:
    assumptions = Assumptions()  # 50 conversions per week
    at = check(finding(sample_size=300, weeks=6.0), [], assumptions)
    below = check(finding(sample_size=299, weeks=6.0), [], assumptions)
    assert at.checks.sample_size_ok and at.label == "finding"
    assert at.checks.sample_size_note == "300 events over 6.0 weeks = 50.0/week (at least 50/week)"
    assert not below.checks.sample_size_ok and below.label == "hypothesis"
    assert check(finding(sample_size=11), [], assumptions).label == "hypothesis"  # 3x lift on 11 points


def test_an_overlapping_annotation_makes_a_hypothesis_until_confirmed() -> None:
    during = finding(period=(dt.date(2026, 9, 8), dt.date(2026, 10, 12)))
    checked = check(during, [REDESIGN], Assumptions())
    assert checked.label == "hypothesis" and not checked.checks.confounders_ok
    assert checked.checks.confounders == [
        "site_change (2026-09-08, Dana Whitfield): Landing pages moved to the new template"
    ]
    assert check(during, [REDESIGN], Assumptions(), confirmed=["funnel:landing"]).label == "finding"
    before = finding(period=(dt.date(2026, 9, 1), dt.date(2026, 9, 7)))
    assert check(before, [REDESIGN], Assumptions()).label == "finding"  # ends the day before
    # A point event in the week before a change's onset is a candidate cause; two weeks before, not.
    assert check(
        finding(period=(dt.date(2026, 9, 15), dt.date(2026, 10, 12))), [REDESIGN], Assumptions()
    ).label == ("hypothesis")
    assert check(
        finding(period=(dt.date(2026, 9, 16), dt.date(2026, 10, 12))), [REDESIGN], Assumptions()
    ).label == ("finding")


def test_nothing_to_change_goes_to_test_next_time() -> None:
    checked = check(finding(action=None), [], Assumptions())
    assert checked.label == "hypothesis" and not checked.checks.actionable
    assert checked.checks.actionable_note == "nobody can change this: to test next time"


def test_only_an_event_that_can_touch_the_effect_confounds_it() -> None:
    during = (dt.date(2026, 9, 1), dt.date(2026, 10, 12))
    landing = finding(period=during, surfaces=("site",))
    ctr = finding(id="fatigue:1", period=during, surfaces=("ads",))
    unknown_kind = REDESIGN.model_copy(update={"kind": "other"})
    assert check(landing, [REDESIGN], Assumptions()).checks.confounders  # a redesign can move landing CVR
    assert not check(ctr, [REDESIGN], Assumptions()).checks.confounders  # ... not CTR on the ad platform
    assert check(ctr, [unknown_kind], Assumptions()).checks.confounders  # an unknown kind may touch anything
    assert check(finding(period=during), [REDESIGN], Assumptions()).checks.confounders  # no surfaces: all
