"""The one settings object, read from the environment.

It lives in `graph/` because every other package may import `graph` and nothing below it, so this
is the lowest place all of them can share. Every variable here is listed in the README.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration; every field maps to `WARRANT_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="WARRANT_", extra="ignore")

    home: Path = Field(Path(".warrant"), description="State directory (graph data, passwords, logs).")
    actor: str = Field(
        default_factory=lambda: f"cli:{getpass.getuser()}",
        description="Who is acting, recorded as created_by on what the CLI writes.",
    )
    graph_uri: str = Field("", description="Neo4j URI; empty means the embedded ArcadeDB server.")
    graph_user: str = Field("neo4j", description="Neo4j user name.")
    graph_password: SecretStr = Field(SecretStr(""), description="Neo4j password.")
    graph_database: str = Field(
        "", description="Database name; empty: `warrant` embedded, the server default on Neo4j."
    )
    graph_heap: str = Field(
        "512m",
        pattern=r"^[1-9][0-9]*[kKmMgG]$",
        description="JVM heap cap of the embedded server (e.g. 512m, 2g).",
    )
    graph_bolt_port: int = Field(0, ge=0, le=65535, description="Embedded Bolt port; 0 picks a free one.")
    graph_http_port: int = Field(0, ge=0, le=65535, description="Embedded HTTP port; 0 picks a free one.")
    graph_start_timeout: float = Field(90.0, gt=0, description="Seconds to wait for the embedded server.")
    ingest_max_bytes: int = Field(
        2_000_000_000, gt=0, description="Largest export file `warrant ingest` accepts, in bytes."
    )
    approval_threshold: int = Field(
        50_000, ge=0, description="Budget changes above this amount need two distinct approvers."
    )
    policies_dir: Path | None = Field(
        None, description="Folder of the Cedar policies; default the installed policies/."
    )
    mlflow_store: Path | None = Field(
        None, description="Directory of the embedded MLflow store; default $WARRANT_HOME/mlflow."
    )
    openlineage_url: str = Field(
        "", description="OpenLineage HTTP endpoint (e.g. Marquez) that receives each post-mortem's run event."
    )
    openlineage_file: Path | None = Field(
        None, description="File that each post-mortem's OpenLineage run event is appended to (JSON lines)."
    )
    openlineage_namespace: str = Field("warrant", description="OpenLineage namespace of Warrant's jobs.")
    api_host: str = Field("127.0.0.1", description="Address `warrant serve` listens on (loopback).")
    api_port: int = Field(8470, ge=0, le=65535, description="Port of `warrant serve`; 0 picks a free one.")
    ui_port: int = Field(8501, ge=1, le=65535, description="Port of the UI that `warrant serve` starts.")
    api_max_upload_bytes: int = Field(
        100_000_000, gt=0, description="Largest upload the HTTP API accepts (an ingest), in bytes."
    )
    api_max_body_bytes: int = Field(1_000_000, gt=0, description="Largest JSON request body, in bytes.")
    api_rate_per_minute: int = Field(
        1200, gt=0, description="Requests a minute each API key may make (a burst of a tenth of it more)."
    )
    api_cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser; none by default."
    )

    @field_validator("graph_uri")
    @classmethod
    def _scheme(cls, value: str) -> str:
        allowed = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")
        if value and not value.startswith(allowed):
            raise ValueError(f"must start with one of {', '.join(allowed)}")
        return value

    @property
    def embedded(self) -> bool:
        return not self.graph_uri

    @property
    def graph_dir(self) -> Path:
        return self.home.resolve() / "graph"

    @property
    def snapshots_dir(self) -> Path:
        return self.home.resolve() / "snapshots"

    @property
    def mlflow_dir(self) -> Path:
        """The embedded MLflow store: `mlflow.db` (SQLite) and `artifacts/`."""
        return (self.mlflow_store or self.home / "mlflow").resolve()
