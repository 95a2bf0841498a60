"""Ingest (an upload, or a path on the server for admins) and the snapshots with their checks.

An upload is written under `$WARRANT_HOME/uploads/<request id>/` and ingested from there; when the
ingest fails (unreadable file, unknown column, a blocking gate) the folder is removed again, so a
refused upload leaves nothing behind: no file, no node."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from api.http import deps
from api.http.problems import TooLarge
from api.http.security import allow
from api.services import ingest as ingest_service
from api.services import snapshots as snapshot_service
from graph.errors import InvalidGraphInput
from graph.settings import Settings
from graph.store import GraphStore
from ingest.errors import IngestError

router = APIRouter(tags=["data"])
_CHUNK = 1 << 20


class PathIngest(BaseModel):
    paths: list[str] = Field(
        min_length=1, max_length=100, description="Files on the server (parts of one export)."
    )
    mapping: str = Field(min_length=1, max_length=200)
    campaign_id: str | None = Field(None, max_length=200)


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "upload").name).strip("._") or "upload"
    return cleaned[:120]


def _mapping_name(mapping: str) -> str:
    """Over HTTP a mapping is a built-in name: a path would let a caller read server files."""
    if not re.fullmatch(r"[a-z0-9_]{1,64}", mapping):
        raise InvalidGraphInput(
            f"mapping must be a built-in mapping name (warrant mappings list), not {mapping!r}"
        )
    return mapping


@router.post(
    "/ingest",
    response_model=ingest_service.IngestReport,
    status_code=201,
    responses={413: {"description": "Over the upload limit"}, 422: {"description": "Refused export"}},
)
def ingest_upload(
    request: Request,
    files: list[UploadFile] = File(..., description="The export (several files: parts of one export)."),
    mapping: str = Form(..., description="A built-in mapping name (see `warrant mappings list`)."),
    campaign_id: str | None = Form(None),
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    _: Any = allow("ingest", "data"),
) -> Any:
    """Upload an export and ingest it through the mapping and the quality gates."""
    name = _mapping_name(mapping)
    folder = settings.home.resolve() / "uploads" / request.state.request_id
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = []
        total = 0
        for upload in files:
            target = folder / _safe_name(upload.filename or "upload")
            with target.open("wb") as out:
                while chunk := upload.file.read(_CHUNK):
                    total += len(chunk)
                    if total > settings.api_max_upload_bytes:
                        raise TooLarge(
                            f"the upload is over the limit of {settings.api_max_upload_bytes:,} bytes"
                        )
                    out.write(chunk)
            paths.append(target)
        return ingest_service.ingest(settings, paths, name, campaign_id=campaign_id or None, store=store)
    except IngestError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if exc.file:  # name the file as the caller sent it, never the server's upload folder
            exc.file = Path(exc.file).name
            exc.args = (str(exc),)
        raise
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@router.post("/ingest/path", response_model=ingest_service.IngestReport, status_code=201)
def ingest_path(
    body: PathIngest,
    settings: Settings = Depends(deps.settings),
    store: GraphStore = Depends(deps.store),
    _: Any = allow("ingest_path", "data"),
) -> Any:
    """Ingest files already on the server (admins only: a path reaches the server's disk)."""
    return ingest_service.ingest(
        settings, [Path(p) for p in body.paths], body.mapping, campaign_id=body.campaign_id, store=store
    )


@router.get(
    "/snapshots", response_model=list[snapshot_service.SnapshotView], dependencies=[allow("view", "data")]
)
def list_snapshots(
    table: str | None = None,
    campaign_id: str | None = None,
    store: GraphStore = Depends(deps.store),
) -> Any:
    """Every snapshot (newest first), optionally of one table or one campaign, with its checks."""
    return snapshot_service.list_snapshots(store, table=table, campaign_id=campaign_id)


@router.get(
    "/snapshots/{snapshot_id}",
    response_model=snapshot_service.SnapshotView,
    dependencies=[allow("view", "data")],
)
def get_snapshot(snapshot_id: str, store: GraphStore = Depends(deps.store)) -> Any:
    """One snapshot with its quality checks and the extracts it was derived from."""
    return snapshot_service.get_snapshot(store, snapshot_id)
