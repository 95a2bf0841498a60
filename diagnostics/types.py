"""The shared vocabulary of the post-mortem engine: a number with its uncertainty, or an honest
"insufficient data". Every statistic the engine reports is an `Estimate`, so no number can reach
a report, a finding or the API without its interval or its reason for having none.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict


class Interval(BaseModel):
    model_config = ConfigDict(frozen=True)

    low: float
    high: float
    level: float = 0.95
    method: str  # "wilson", "beta", "bootstrap", "normal", ...


class Estimate(BaseModel):
    """A value, the interval around it, the sample behind it, and whether that sample suffices."""

    model_config = ConfigDict(frozen=True)

    value: float | None
    interval: Interval | None = None
    n: int | None = None
    sufficient: bool = True
    note: str | None = None

    @classmethod
    def insufficient(cls, reason: str, *, n: int | None = None, value: float | None = None) -> Estimate:
        return cls(value=value, n=n, sufficient=False, note=f"insufficient data: {reason}")

    def format(self, spec: str = ".3g") -> str:
        """`0.123 [0.101, 0.146]`, or `insufficient data: ...` (never a bare number that misleads)."""
        if (
            not self.sufficient
            or self.value is None
            or (isinstance(self.value, float) and math.isnan(self.value))
        ):
            return self.note or "insufficient data"
        text = format(self.value, spec)
        if self.interval is not None:
            text += f" [{self.interval.low:{spec}}, {self.interval.high:{spec}}]"
        return text
