"""Attribution benchmark: every model on ca_paths.csv (10,000 rows, 5,408 paths, 12 channels), and
Warrant against the peers in the same run: Markov order 1 against ChannelAttribution's
`markov_model`, Shapley against marketing-attribution-models (MAM), on ca_paths.csv and on the
journeys of the generated sample at size L. Targets: Markov at least 5x faster than
ChannelAttribution with every channel within 1% of total conversions; Shapley faster than MAM at
equal results.

What it times (median of `--repeat` runs after one warm-up):
1. Point estimates (no bootstrap) of every model; time decay on touches one day apart, since
   ca_paths.csv has no touch times. Against the peers, Warrant is timed from the raw string paths,
   parsing included (`journeys_from_paths` + the model), because the peers parse theirs too.
2. The same models with `--samples` bootstrap resamples (Markov orders 2 and 3 only with
   `--all-orders`: they solve a sparse system per channel and resample, seconds to minutes).
3. The peers, when installed (never runtime dependencies of Warrant: ChannelAttribution is in the
   `dev` extra, MAM in the `bench` extra), timed alternately with Warrant so that both see the same
   load: the speed ratio, and the largest per-channel difference in % of total conversions.
   ChannelAttribution runs with its defaults (1e5 simulated paths, seed 0).
4. Unless `--no-large`: the journeys the post-mortem attributes for the campaign of the generated
   sample (`--size`, default L), built in a child process (generation, mapping and
   `postmortem.model_inputs`, tens of seconds) so that this process holds only the journeys. They
   are aggregated by path into the peers' input format (string paths with conversions, value and
   non-converting journeys), and every contender, Warrant included, starts from that table.

Shapley: the same model only on common ground. Warrant's coalition value is "conversions of the
journeys whose channel set is a subset of S": each conversion is split equally among the distinct
channels of its journey. MAM's `run_shapley(value_column="conversions")` takes, for each converting
channel set C, the Shapley values of the game on C's channels whose value is "conversions of the
journeys whose channel set is exactly S", and adds them up over the sets. Both count a channel once
however often a path repeats it, and both ignore non-converting journeys (MAM's default value,
`conv_rate`, reads them; "conversions" does not). Where no converting set is a proper subset of
another, MAM's game on C is worth nothing until the whole of C is in, so it splits C's conversions
equally: Warrant's answer. Sets of the same size never contain one another, so MAM is run once per
set size (the input's rows partitioned by the number of distinct channels of the path, the strata
without conversions skipped) and the parts added up; Warrant's Shapley is a sum over journeys, so
on the whole input it is that same sum. That is the "equal results" comparison (they agree to
float rounding); MAM on the whole input at once, its own model, is timed and reported beside it
(its credit can be negative). `max_size` is the number of channels, so that MAM truncates no set
(its default, 4, keeps the 4 alphabetically last channels of a set).

It reports and never asserts: the exit code is 0 whether the targets are met or missed.

    .venv/bin/python -m tests.bench.bench_attribution [--repeat 7] [--samples 1000] [--all-orders]
        [--no-large] [--size L] [--seed 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from types import ModuleType
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

ROOT = Path(__file__).resolve().parents[2]
CA_PATHS = ROOT.parent / "shared" / "data" / "ca_paths.csv"
TARGET_RATIO = 5.0  # Markov: ChannelAttribution / Warrant
TARGET_DEVIATION_PCT = 1.0  # Markov: every channel within 1% of total conversions (it simulates)
EQUAL_PCT = 0.01  # Shapley "at equal results": every channel within 0.01% of total conversions
PEER_BUDGET_S = 300.0  # a peer whose warm-up says its repeats would take longer gets fewer
SEPARATOR = " > "  # ca_paths.csv's, and what L paths are joined with for the peers
MAM = "marketing-attribution-models"
NONE = Bootstrap(samples=0)


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


def _alternating_medians(calls: Sequence[Callable[[], object]], repeat: int) -> tuple[list[float], int]:
    """Median seconds of each call, timed in turn `repeat` times so that all see the same load on the
    machine, after one warm-up each; and the repeats made. A warm-up round longer than
    `PEER_BUDGET_S / repeat` cuts the repeats to what fits in the budget (at least one)."""
    start = time.perf_counter()
    for call in calls:
        call()
    warm_up = time.perf_counter() - start
    repeat = max(1, min(repeat, int(PEER_BUDGET_S / max(warm_up, 1e-9))))
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for call, spent in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times], repeat


def _deviation(ours: dict[str, float], theirs: dict[str, float], total: float) -> float:
    """Largest per-channel difference in % of total conversions; a channel one side leaves out is 0."""
    channels = set(ours) | set(theirs)
    gap = max((abs(ours.get(c, 0.0) - theirs.get(c, 0.0)) for c in channels), default=0.0)
    return gap / total * 100 if total > 0 else 0.0


def _conversions(result: AttributionResult) -> dict[str, float]:
    return {item.channel: item.conversions.value or 0.0 for item in result.channels}


def _table(ours: dict[str, float], theirs: dict[str, float], peer: str) -> None:
    _say(f"  {'channel':<16}{'Warrant':>12}{peer:>32}")
    for channel in sorted(set(ours) | set(theirs)):
        _say(f"  {channel:<16}{ours.get(channel, 0.0):>12.1f}{theirs.get(channel, 0.0):>32.1f}")


def _timings(raw: pl.DataFrame, args: argparse.Namespace) -> dict[str, Any]:
    journeys = journeys_from_paths(raw)
    timed = journeys.with_columns(times=pl.int_ranges(pl.col("path").list.len()).cast(pl.List(pl.Float64)))
    resampled = Bootstrap(samples=args.samples)
    point = {"journeys_from_paths": _median_seconds(partial(journeys_from_paths, raw), args.repeat)}
    for name, model in _models(all_orders=True).items():
        data = timed if name == "time_decay" else journeys
        point[name] = _median_seconds(partial(model, data, bootstrap=NONE), args.repeat)
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


# -- Markov against ChannelAttribution -------------------------------------------------------------


def _channel_attribution(raw: pl.DataFrame) -> Callable[[], Any] | None:
    """ChannelAttribution's `markov_model` with its defaults on ChannelAttribution-style rows, if it
    is installed."""
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


def against_channel_attribution(
    raw: pl.DataFrame, repeat: int, label: str = "ca_paths.csv"
) -> dict[str, Any]:
    """Markov order 1 on ChannelAttribution-style rows (`path`, `total_conversions`,
    `total_conversion_value`, `total_null`): Warrant against ChannelAttribution, timed alternately."""
    reference = _channel_attribution(raw)
    if reference is None:
        _say("ChannelAttribution is not installed: no ratio (pip install -e '.[dev]')")
        return {}

    def warrant() -> AttributionResult:
        return markov(journeys_from_paths(raw), bootstrap=NONE)

    (mine, theirs_seconds), repeats = _alternating_medians((warrant, reference), repeat)
    answer = reference()
    theirs = dict(zip(answer["channel_name"], answer["total_conversions"].astype(float), strict=True))
    result = warrant()
    ours = _conversions(result)
    deviation = _deviation(ours, theirs, result.total_conversions)
    ratio = theirs_seconds / mine
    ratio_met, deviation_met = ratio >= TARGET_RATIO, deviation <= TARGET_DEVIATION_PCT
    _say(
        f"Markov order 1 on {label}: Warrant {mine * 1000:.1f} ms, ChannelAttribution "
        f"{theirs_seconds * 1000:.1f} ms, ratio ChannelAttribution/Warrant {ratio:.1f}x "
        f"(target >= {TARGET_RATIO:.0f}x: {'met' if ratio_met else 'MISSED'}); largest per-channel "
        f"difference {deviation:.3f}% of total conversions "
        f"(target <= {TARGET_DEVIATION_PCT:g}%: {'met' if deviation_met else 'MISSED'})"
    )
    _say(
        f"  from the string paths, timed alternately ({repeats} runs); ChannelAttribution simulates 1e5 paths"
    )
    _table(ours, theirs, "ChannelAttribution")
    return {
        "data": label,
        "repeat": repeats,
        "warrant_s": mine,
        "channelattribution_s": theirs_seconds,
        "peer_s": theirs_seconds,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "ratio_met": ratio_met,
        "max_deviation_pct_of_total": deviation,
        "target_deviation_pct": TARGET_DEVIATION_PCT,
        "deviation_met": deviation_met,
        "met": ratio_met and deviation_met,
        "markov_order1": {"warrant": ours, "channelattribution": theirs},
    }


# -- Shapley against marketing-attribution-models --------------------------------------------------


def _mam_rows(raw: pl.DataFrame) -> pl.DataFrame:
    """ChannelAttribution-style rows as MAM's "grouped_journey" input: a row per path and outcome
    (converted or not) weighted by the journeys it stands for; MAM reads weights as integers."""
    converted = raw.filter(pl.col("total_conversions") > 0).select(
        "path", occurrences=pl.col("total_conversions").cast(pl.Int64), converted=pl.lit(True)
    )
    lost = raw.filter(pl.col("total_null") > 0).select(
        "path", occurrences=pl.col("total_null").cast(pl.Int64), converted=pl.lit(False)
    )
    return pl.concat([converted, lost])


def _by_set_size(rows: pl.DataFrame) -> list[pl.DataFrame]:
    """The rows partitioned by the number of distinct channels of the path, those with conversions."""
    size = pl.col("path").str.split(SEPARATOR).list.n_unique().alias("set_size")
    parts = rows.with_columns(size).sort("set_size", maintain_order=True)
    return [
        part.drop("set_size")
        for part in parts.partition_by("set_size", maintain_order=True)
        if part["converted"].any()
    ]


def _mam_shapley(mam: ModuleType, rows: pl.DataFrame, max_size: int) -> dict[str, float]:
    """MAM's Shapley (conversions as the coalition value, no set truncated): conversions per channel."""
    model = mam.MAM(
        rows,
        "grouped_journey",
        "path",
        "converted",
        occurrences_colname="occurrences",
        path_separator=SEPARATOR,
    )
    table = model.run_shapley(max_size=max_size, value_column="conversions").to_polars()
    return dict(zip(table["channels"].to_list(), table["attribution"].to_list(), strict=True))


def _mam_by_set_size(mam: ModuleType, parts: list[pl.DataFrame], max_size: int) -> dict[str, float]:
    total: dict[str, float] = {}
    for part in parts:
        for channel, credit in _mam_shapley(mam, part, max_size).items():
            total[channel] = total.get(channel, 0.0) + credit
    return total


def against_mam(raw: pl.DataFrame, repeat: int, label: str = "ca_paths.csv") -> dict[str, Any]:
    """Shapley on ChannelAttribution-style rows: Warrant against MAM run per channel-set size (the
    same model: equal results) and against MAM on the whole input (its own model), timed in turn."""
    try:
        mam = importlib.import_module("mam")
    except ImportError:
        _say(f"{MAM} is not installed: no Shapley ratio (pip install -e '.[bench]')")
        return {}
    rows = _mam_rows(raw)
    parts = _by_set_size(rows)
    max_size = int(rows["path"].str.split(SEPARATOR).explode().n_unique())

    def warrant() -> AttributionResult:
        return shapley(journeys_from_paths(raw), bootstrap=NONE)

    stratified = partial(_mam_by_set_size, mam, parts, max_size)
    whole = partial(_mam_shapley, mam, rows, max_size)
    (mine, theirs_seconds, whole_seconds), repeats = _alternating_medians(
        (warrant, stratified, whole), repeat
    )
    result = warrant()
    ours, theirs, own = _conversions(result), stratified(), whole()
    deviation = _deviation(ours, theirs, result.total_conversions)
    own_deviation = _deviation(ours, own, result.total_conversions)
    ratio, own_ratio = theirs_seconds / mine, whole_seconds / mine
    faster, equal = ratio > 1.0, deviation <= EQUAL_PCT
    _say(
        f"Shapley on {label}: Warrant {mine * 1000:.1f} ms, {MAM} {theirs_seconds * 1000:.1f} ms, "
        f"ratio MAM/Warrant {ratio:.1f}x (target > 1: {'met' if faster else 'MISSED'}); largest per-channel "
        f"difference {deviation:.2g}% of total conversions (equal within {EQUAL_PCT:g}%: "
        f"{'met' if equal else 'MISSED'})"
    )
    _say(
        f"  from the string paths, timed in turn ({repeats} runs); {MAM} run once per channel-set size "
        f"({len(parts)} sizes) and added up: the same model as Warrant's"
    )
    _say(
        f"  {MAM} on the whole input at once (its own model, exact-set coalition value): "
        f"{whole_seconds * 1000:.1f} ms, ratio {own_ratio:.1f}x; it differs from Warrant's by up to "
        f"{own_deviation:.0f}% of total conversions (a different model, not expected to agree)"
    )
    _say(f"  {'channel':<16}{'Warrant':>12}{'MAM per set size':>20}{'MAM whole input':>20}")
    for channel in sorted(set(ours) | set(theirs) | set(own)):
        _say(
            f"  {channel:<16}{ours.get(channel, 0.0):>12.1f}{theirs.get(channel, 0.0):>20.1f}"
            f"{own.get(channel, 0.0):>20.1f}"
        )
    return {
        "data": label,
        "repeat": repeats,
        "peer_settings": {
            "call": "MAM(format_type='grouped_journey').run_shapley",
            "max_size": max_size,
            "value_column": "conversions",
            "run": "once per number of distinct channels of the path, parts added up",
            "set_sizes": len(parts),
        },
        "warrant_s": mine,
        "peer_s": theirs_seconds,
        "ratio": ratio,
        "target": "ratio > 1 at equal results",
        "ratio_met": faster,
        "max_deviation_pct_of_total": deviation,
        "equal_within_pct": EQUAL_PCT,
        "equal_results": equal,
        "met": faster and equal,
        "whole_input": {
            "peer_s": whole_seconds,
            "ratio": own_ratio,
            "max_deviation_pct_of_total": own_deviation,
            "note": "MAM's own model (exact-set coalition value per converting set): not the same model",
        },
        "shapley": {"warrant": ours, "mam_by_set_size": theirs, "mam_whole_input": own},
    }


# -- the journeys of the generated sample ----------------------------------------------------------


def _write_large_paths(size: str, seed: int, out: Path) -> None:
    """In the child process: generate the sample, map it to unified tables, build the journeys the
    post-mortem attributes for the current campaign, and write them aggregated by path."""
    from diagnostics import postmortem
    from ingest.sample import generate
    from tests.bench.bench_postmortem import _tables

    generate(size, seed, out / "sample")
    tables, campaigns = _tables(out / "sample")
    journeys = postmortem.model_inputs(tables, campaigns, "cmp-2026q3")["attribution"]
    if journeys is None:
        raise SystemExit("the sample campaign has no journeys to attribute")
    paths = (
        journeys.group_by(pl.col("path").list.join(SEPARATOR))
        .agg(
            total_conversions=pl.col("conversions").sum().cast(pl.Int64),
            total_conversion_value=pl.col("value").sum(),
            total_null=pl.col("nulls").sum().cast(pl.Int64),
        )
        .sort("path")
    )
    paths.write_parquet(out / "paths.parquet")
    (out / "counts.json").write_text(json.dumps({"journeys": journeys.height}))


def _large_paths(size: str, seed: int) -> tuple[pl.DataFrame, dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix=f"warrant-bench-attr-{size}-"))
    try:
        code = (
            "import sys; from pathlib import Path; from tests.bench import bench_attribution as b; "
            "b._write_large_paths(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))"
        )
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, size, str(seed), str(work)], check=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        paths = pl.read_parquet(work / "paths.parquet")
        counts = json.loads((work / "counts.json").read_text())
        return paths, {**counts, "paths": paths.height, "preparation_s": round(seconds, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def large(size: str, seed: int, repeat: int) -> dict[str, Any]:
    _say(f"\nSample {size} (seed {seed}): generating, mapping, building the journeys in a child process ...")
    paths, info = _large_paths(size, seed)
    conversions, nulls = int(paths["total_conversions"].sum()), int(paths["total_null"].sum())
    channels = paths["path"].str.split(SEPARATOR).explode().n_unique()
    _say(
        f"  {info['journeys']:,} journeys ({conversions:,} converted, {nulls:,} not), {channels} channels, "
        f"in {info['preparation_s']:.0f} s; aggregated by path into the peers' input format: "
        f"{info['paths']:,} paths, from which every contender starts"
    )
    label = f"sample {size} journeys"
    return {
        "size": size,
        "seed": seed,
        **info,
        "conversions": conversions,
        "nulls": nulls,
        "channels": channels,
        "channelattribution": against_channel_attribution(paths, repeat, label),
        "shapley_vs_mam": against_mam(paths, repeat, label),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    raw = pl.read_csv(CA_PATHS)
    _say(f"ca_paths.csv: {raw.height:,} rows, 12 channels, median of {args.repeat} runs")
    figures: dict[str, Any] = {
        "rows": raw.height,
        "repeat": args.repeat,
        "bootstrap_samples": args.samples,
        **_timings(raw, args),
    }
    _say()
    figures["channelattribution"] = against_channel_attribution(raw, args.repeat)
    _say()
    figures["shapley_vs_mam"] = against_mam(raw, args.repeat)
    if not args.no_large:
        figures["large"] = large(args.size, args.seed, args.repeat)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_attribution", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples for the second column")
    parser.add_argument(
        "--all-orders", action="store_true", help="bootstrap Markov orders 2 and 3 too (slow)"
    )
    parser.add_argument(
        "--no-large", action="store_true", help="skip the generated sample's journeys (tens of seconds)"
    )
    parser.add_argument("--size", default="L", choices=("S", "M", "L"), help="the generated sample's size")
    parser.add_argument("--seed", type=int, default=7, help="the generated sample's seed")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = run(args)
    figures["total_s"] = round(time.perf_counter() - started, 1)
    _say(f"\nbenchmark run time: {figures['total_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
