"""Text to typed values, as exports write them: `"1,234.56"`, `USD 12,000.00`, `23.50%`, `9/3/2026`.

Every parser is a polars expression that yields null where the text cannot be read; the caller
compares with the input to find the rows that failed and names them. Nothing here guesses
silently between formats that disagree (a date is `%m/%d/%Y` or `%d/%m/%Y`, never both): a mapping
states its format, and ISO 8601 is the default.
"""

from __future__ import annotations

import re

import polars as pl

# An optional currency code or symbol, a signed number with optional thousands separators, an
# optional percent sign. Group 1 is the number.
_NUMBER = r"^\s*(?:[A-Z]{3}\s*)?[$€£¥]?\s*([-+]?[0-9][0-9,. ']*(?:[eE][-+]?[0-9]+)?|[-+]?[.,][0-9]+)\s*%?\s*$"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def text(expr: pl.Expr) -> pl.Expr:
    """Stripped text, empty as null (exports write a missing value as an empty field)."""
    stripped = expr.cast(pl.String).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def number(expr: pl.Expr, *, thousands: str = ",", decimal: str = ".") -> pl.Expr:
    """A float from text such as `1,234.56`, `USD 12,000.00`, `$5`, `23.5%` (the percent is kept as
    23.5: a rate column says in its mapping whether to divide)."""
    core = text(expr).str.extract(_NUMBER, 1)
    if thousands:
        # A separator must group digits in threes: "1,5" is a decimal comma read with the wrong
        # options, not fifteen.
        t, d = re.escape(thousands), re.escape(decimal)
        grouped = rf"^[-+]?[0-9]{{1,3}}(?:{t}[0-9]{{3}})+(?:{d}[0-9]*)?(?:[eE][-+]?[0-9]+)?$"
        core = pl.when(core.str.contains(t) & ~core.str.contains(grouped)).then(None).otherwise(core)
        core = core.str.replace_all(thousands, "", literal=True)
    core = core.str.replace_all(" ", "", literal=True).str.replace_all("'", "", literal=True)
    if decimal != ".":
        core = core.str.replace_all(decimal, ".", literal=True)
    return core.cast(pl.Float64, strict=False)


def boolean(expr: pl.Expr) -> pl.Expr:
    lowered = text(expr).str.to_lowercase()
    return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False).otherwise(None)


def date(expr: pl.Expr, fmt: str | None = None) -> pl.Expr:
    return text(expr).str.strptime(pl.Date, checked_format(fmt, pl.Date) or "%Y-%m-%d", strict=False)


def checked_format(fmt: str | None, dtype: pl.DataType | type[pl.DataType]) -> str | None:
    """`fmt` if polars can parse `dtype` with it, else a ValueError saying why.

    polars refuses some strftime formats (`%H` without `%M`) only when a parse runs, with its own
    ComputeError, in the middle of an ingest; trying it on one empty value refuses it when the mapping
    (or expression) that names it loads."""
    if fmt is not None:
        try:
            pl.Series([""], dtype=pl.String).str.strptime(dtype, fmt, strict=False)
        except pl.exceptions.PolarsError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else "polars cannot parse with it"
            raise ValueError(f"the format {fmt!r} cannot be used: {reason}") from None
    return fmt


def time_zone(name: str) -> str:
    """`name` if polars knows the time zone (an IANA name such as `Europe/Berlin`, or `+02:00`).

    Checked when a mapping loads: polars refuses an unknown zone only when an expression using it is
    built or run, with its own ComputeError, in the middle of an ingest."""
    try:
        if not name:
            raise pl.exceptions.ComputeError(name)
        pl.Series([], dtype=pl.Datetime("us")).dt.replace_time_zone(name)
    except pl.exceptions.PolarsError:
        hint = "an IANA name such as 'Europe/Berlin', or 'UTC'"
        raise ValueError(f"unknown time zone {name!r} (use {hint})") from None
    return name


def datetime(expr: pl.Expr, fmt: str | None = None, timezone: str = "UTC") -> pl.Expr:
    """A UTC timestamp. Without a format, ISO 8601 with or without an offset (and date-only values,
    read as midnight); text without an offset is read in `timezone`."""
    raw = text(expr)
    if checked_format(fmt, pl.Datetime("us")) is not None:
        parsed = raw.str.strptime(pl.Datetime("us"), fmt, strict=False)
        if "%z" in fmt:
            return parsed.dt.convert_time_zone("UTC")
        return parsed.dt.replace_time_zone(
            timezone, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")
    normal = raw.str.replace(" ", "T", literal=True).str.replace(r"Z$", "+00:00")
    with_offset = pl.coalesce(
        normal.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%S%.f%:z", strict=False),
        normal.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M%:z", strict=False),
    )
    naive = pl.coalesce(
        normal.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.f", strict=False),
        normal.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M", strict=False),
        normal.str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
    ).dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    return pl.coalesce(with_offset, naive.dt.convert_time_zone("UTC"))
