"""The generated sample as unified tables, without a graph: what the diagnostics compute on.

`sample_tables("S", 7)` generates the sample once per process (cached), maps every export of its
manifest through its built-in mapping, and returns one polars DataFrame per unified table (parts
of a table concatenated), plus the parsed `campaigns.json` and `ground_truth.json`."""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ingest.mapping import load_mapping
from ingest.readers import ROW, read_export
from ingest.sample import generate
from ingest.transform import to_unified


@dataclass(frozen=True)
class Sample:
    tables: dict[str, pl.DataFrame]
    campaigns: list[dict[str, Any]]
    ground_truth: dict[str, Any]
    directory: Path


@functools.cache
def sample_tables(size: str = "S", seed: int = 7) -> Sample:
    out = Path(tempfile.mkdtemp(prefix=f"warrant-sample-{size}-{seed}-"))
    manifest = generate(size, seed, out)
    parts: dict[str, list[pl.DataFrame]] = {}
    for entry in manifest.files:
        mapping = load_mapping(entry.mapping)
        export = read_export(out / entry.file, fmt=mapping.format, csv_options=mapping.csv, max_bytes=10**10)
        parts.setdefault(entry.table, []).append(to_unified(export, mapping).drop(ROW))
    tables = {name: pl.concat(frames, how="diagonal_relaxed") for name, frames in parts.items()}
    return Sample(
        tables=tables,
        campaigns=json.loads((out / "campaigns.json").read_text()),
        ground_truth=json.loads((out / "ground_truth.json").read_text()),
        directory=out,
    )
