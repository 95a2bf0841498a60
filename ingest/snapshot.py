"""Content-addressed snapshots: canonical Parquet named by the sha256 of its content.

Canonical means the same data always gives the same bytes to hash, whatever file order, row order
or export tool it came from: the schema's column order (dimensions after, by name), the schema's
types, rows sorted by every column. The hash is taken over the Arrow IPC stream of that table (a
stable, specified encoding) after a header naming the schema version and table, not over the
Parquet file, whose bytes carry the writer's version. Same content, same id: re-ingesting it is
a no-op.

Files are written to a temporary name and renamed into place, so a reader never sees half a file
and an ingest that fails leaves nothing under its final name.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ingest.errors import IngestError
from ingest.schema import DIMENSION_PREFIX, SCHEMA_VERSION, Row, arrow_schema


def canonical(rows: pl.DataFrame, model: type[Row]) -> pa.Table:
    """The table as stored: provenance columns (`_file`, `_row`) dropped, canonical order and types."""
    dimensions = sorted(
        c.removeprefix(DIMENSION_PREFIX) for c in rows.columns if c.startswith(DIMENSION_PREFIX)
    )
    schema = arrow_schema(model, dimensions)
    ordered = rows.select(schema.names)
    ordered = ordered.sort(schema.names, nulls_last=True, maintain_order=False)
    return ordered.to_arrow().cast(schema).combine_chunks()


class _HashSink:
    """A write-only file object that only hashes what is written."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.closed = False

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def content_sha256(table: pa.Table, table_name: str) -> str:
    sink = _HashSink()
    sink.write(f"warrant snapshot\nschema {SCHEMA_VERSION}\ntable {table_name}\n".encode())
    with ipc.new_stream(pa.PythonFile(sink, mode="w"), table.schema) as writer:
        writer.write_table(table, max_chunksize=65536)
    return sink.digest.hexdigest()


class SnapshotFiles:
    """Snapshots on disk under `$WARRANT_HOME/snapshots`, one `<sha256>.parquet` each."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / f"{sha256}.parquet"

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def write(self, table: pa.Table, sha256: str) -> Path:
        """Write atomically (temporary file, fsync, rename); returns the final path.

        A full or unwritable disk is the user's to fix, not a bug: its `OSError` (ENOSPC from the
        Parquet writer was a traceback) becomes an `IngestError` naming the folder and the reason.
        """
        final = self.path(sha256)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.root, prefix=f".{sha256[:12]}-", suffix=".tmp")
        except OSError as exc:
            raise _unwritable(self.root, exc) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                pq.write_table(table, handle, compression="zstd", row_group_size=256_000)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
        except BaseException as exc:
            Path(temp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _unwritable(self.root, exc) from None
            raise
        return final

    def read(self, sha256: str) -> pl.DataFrame:
        return pl.read_parquet(self.path(sha256))

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def _unwritable(root: Path, exc: OSError) -> IngestError:
    code = f" ({errno.errorcode[exc.errno]})" if exc.errno in errno.errorcode else ""
    reason = exc.strerror or str(exc)
    return IngestError(f"cannot write the snapshot under {root}: {reason}{code}; nothing was stored")
