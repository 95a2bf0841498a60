"""Ingest errors that say where: the file, the row (line) and the column a user has to look at."""

from __future__ import annotations

from pathlib import Path

from graph.errors import WarrantError


class IngestError(WarrantError):
    """A problem with an input file or a mapping; nothing was stored.

    Rendered as `file:line: column 'X': message`, the form editors and terminals link to.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.row}" if self.row is not None else "") + ": "
        column = f"column {self.column!r}: " if self.column else ""
        return f"{where}{column}{self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "row": self.row, "column": self.column, "message": self.message}


class MappingError(IngestError):
    """A mapping file that cannot be used as written (YAML, unknown field, bad expression)."""
