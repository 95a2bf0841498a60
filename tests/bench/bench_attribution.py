"""Attribution benchmark: every model on ca_paths.csv (10,000 rows, 5,408 paths, 12 channels), and
Markov order 1 against ChannelAttribution's `markov_model` in the same run. Target: Warrant's
exact Markov attribution at least 5x faster than ChannelAttribution's simulation.

What it times (median of `--repeat` runs after one warm-up):
1. Point estimates (no bootstrap) of every model; time decay on touches one day apart, since
   ca_paths.csv has no touch times. Markov is timed from the raw string paths, parsing included
   (`journeys_from_paths` + `markov`), because ChannelAttribution parses its string paths too.
2. The same models with `--samples` bootstrap resamples (Markov orders 2 and 3 only with
   `--all-orders`: they solve a sparse system per channel and resample, seconds to minutes).
3. ChannelAttribution's `markov_model` with its defaults (1e5 simulated paths, seed 0), when the
   GPL package is installed (never a runtime dependency of Warrant), the speed ratio, and the
   largest per-channel difference from Warrant's exact answer in % of total conversions.

It reports and never asserts: the exit code is 0 whether the target is met or missed.

    .venv/bin/python -m tests.bench.bench_attribution [--repeat 7] [--samples 1000] [--all-orders]
        [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from diagnostics.attribution import (
    AttributionResult,
    Bootstrap,
    first_touch,
    journeys_from_paths,
    last_touch,
    linear,
    markov,
    position_based,
    shapley,
    time_decay,
)

CA_PATHS = Path(__file__).resolve().parents[3] / "shared" / "data" / "ca_paths.csv"
TARGET_RATIO = 5.0


def _say(line: str = "") -> None:
    print(line, flush=True)


def _median_seconds(call: Callable[[], object], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _models(all_orders: bool) -> dict[str, Callable[..., AttributionResult]]:
    orders = (1, 2, 3) if all_orders else (1,)
    return {
        "first_touch": first_touch,
        "last_touch": last_touch,
        "linear": linear,
        "time_decay": partial(time_decay, half_life_days=7.0),
        "position_based": position_based,
        "shapley": shapley,
        **{f"markov_order{order}": partial(markov, order=order) for order in orders},
    }


def _paired_medians(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median seconds of two calls timed alternately, so that both see the same load on the machine."""
    first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for call, spent in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            call()
            spent.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def _channel_attribution(raw: pl.DataFrame) -> Callable[[], Any] | None:
    """ChannelAttribution's `markov_model` with its defaults on ca_paths.csv, if it is installed."""
    try:
        ca = importlib.import_module("ChannelAttribution")
    except ImportError:
        return None
    options = {
        "var_value": "total_conversion_value",
        "var_null": "total_null",
        "verbose": False,
        "flg_pro": False,
    }
    return partial(ca.markov_model, raw.to_pandas(), "path", "total_conversions", **options)


def _timings(raw: pl.DataFrame, args: argparse.Namespace) -> dict[str, Any]:
    journeys = journeys_from_paths(raw)
    timed = journeys.with_columns(times=pl.int_ranges(pl.col("path").list.len()).cast(pl.List(pl.Float64)))
    none, resampled = Bootstrap(samples=0), Bootstrap(samples=args.samples)
    point = {"journeys_from_paths": _median_seconds(partial(journeys_from_paths, raw), args.repeat)}
    for name, model in _models(all_orders=True).items():
        data = timed if name == "time_decay" else journeys
        point[name] = _median_seconds(partial(model, data, bootstrap=none), args.repeat)
    with_bootstrap = {}
    for name, model in _models(args.all_orders).items():
        data = timed if name == "time_decay" else journeys
        with_bootstrap[name] = _median_seconds(
            partial(model, data, bootstrap=resampled), max(1, args.repeat // 3)
        )
    _say(f"{'model':<24}{'point (ms)':>12}{f'{args.samples} resamples (ms)':>24}")
    for name, seconds in point.items():
        booted = f"{with_bootstrap[name] * 1000:.1f}" if name in with_bootstrap else "-"
        _say(f"{name:<24}{seconds * 1000:>12.1f}{booted:>24}")
    return {"point_s": point, "bootstrap_s": with_bootstrap}


def against_channel_attribution(raw: pl.DataFrame, repeat: int) -> dict[str, Any]:
    reference = _channel_attribution(raw)
    if reference is None:
        _say("ChannelAttribution is not installed: no ratio (pip install channelattribution matplotlib)")
        return {}

    def warrant() -> AttributionResult:
        return markov(journeys_from_paths(raw), bootstrap=Bootstrap(samples=0))

    mine, theirs_seconds = _paired_medians(warrant, reference, repeat)
    answer = reference()
    theirs = dict(zip(answer["channel_name"], answer["total_conversions"], strict=True))
    ours = {item.channel: item.conversions.value or 0.0 for item in warrant().channels}
    deviation = max(abs(ours[c] - theirs[c]) for c in ours) / sum(ours.values()) * 100
    ratio = theirs_seconds / mine
    _say(
        f"Markov order 1 from the raw rows, timed alternately: Warrant {mine * 1000:.1f} ms, "
        f"ChannelAttribution (1e5 simulations) {theirs_seconds * 1000:.1f} ms"
    )
    _say(
        f"ratio ChannelAttribution / Warrant: {ratio:.1f}x "
        f"(target >= {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'MISSED'})"
    )
    _say(f"largest per-channel difference: {deviation:.2f}% of total conversions")
    _say(f"  {'channel':<10}{'Warrant':>12}{'ChannelAttribution':>20}")
    for channel in sorted(ours):
        _say(f"  {channel:<10}{ours[channel]:>12.1f}{theirs[channel]:>20.1f}")
    return {
        "warrant_s": mine,
        "channelattribution_s": theirs_seconds,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "met": ratio >= TARGET_RATIO,
        "max_deviation_pct_of_total": deviation,
        "markov_order1": {"warrant": ours, "channelattribution": theirs},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    raw = pl.read_csv(CA_PATHS)
    _say(f"ca_paths.csv: {raw.height:,} rows, 12 channels, median of {args.repeat} runs")
    return {
        "rows": raw.height,
        "repeat": args.repeat,
        "bootstrap_samples": args.samples,
        **_timings(raw, args),
        "channelattribution": against_channel_attribution(raw, args.repeat),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_attribution", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples for the second column")
    parser.add_argument(
        "--all-orders", action="store_true", help="bootstrap Markov orders 2 and 3 too (slow)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
