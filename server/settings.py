"""Every environment variable the server reads, typed and frozen; read once and passed in."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "DEFAULT_DATABASE_URL"]

DEFAULT_DATABASE_URL = "sqlite:///sequrity-control.db"


class Settings(BaseSettings):
    """Server settings. Names without an alias are read as `SEQURITY_CONTROL_<NAME>`.

    >>> Settings(session_store="memory").session_store
    'memory'
    """

    model_config = SettingsConfigDict(
        env_prefix="SEQURITY_CONTROL_", frozen=True, extra="ignore", populate_by_name=True
    )

    # Bearer keys seeded at start-up (comma-separated). Stored hashed like keys made by the CLI.
    api_keys: str = ""
    # Key and audit database (SQLAlchemy URL): SQLite by default, PostgreSQL when given.
    database_url: str = DEFAULT_DATABASE_URL
    # Session store: "memory", "sqlite" (the database file when it is SQLite), a sqlite:/// URL,
    # or a redis:// URL. Empty = SQLite, in the database file when that is SQLite.
    session_store: str = ""
    # Comma-separated model names for server-managed keys; a trailing * is a prefix match.
    model_allowlist: str = ""
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1)

    # Upstreams (their conventional names, no prefix).
    openai_base_url: str = Field(default="https://api.openai.com/v1", alias="OPENAI_BASE_URL")
    openrouter_base_url: str = Field(
        default="https://openrouter.ai/api/v1", alias="OPENROUTER_BASE_URL"
    )
    anthropic_base_url: str = Field(default="https://api.anthropic.com", alias="ANTHROPIC_BASE_URL")
    azure_openai_endpoint: str = Field(default="", alias="AZURE_OPENAI_ENDPOINT")
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openrouter_api_key: SecretStr | None = Field(default=None, alias="OPENROUTER_API_KEY")
    anthropic_api_key: SecretStr | None = Field(default=None, alias="ANTHROPIC_API_KEY")
    azure_openai_api_key: SecretStr | None = Field(default=None, alias="AZURE_OPENAI_API_KEY")

    # Upstream behaviour.
    upstream_timeout_seconds: float = Field(default=600.0, gt=0)
    upstream_max_connections: int = Field(default=256, ge=1)
    upstream_max_retries: int = Field(default=0, ge=0)

    # Sessions.
    session_ttl_seconds: int = Field(default=3600, ge=1)
    session_lease_seconds: float = Field(default=120.0, gt=0)
    # Prefix of every Redis key, so several deployments can share one Redis.
    redis_prefix: str = "sqc:"

    # Observability (issue 8). Audit records hold argument values only when this is true.
    audit_values: bool = False
    # Log lines: "json" (one object per line, with the request id) or "text".
    log_format: Literal["json", "text"] = "json"
    # OpenTelemetry traces go to this OTLP/HTTP endpoint when set (needs the `otel` extra).
    otel_exporter_otlp_endpoint: str = Field(default="", alias="OTEL_EXPORTER_OTLP_ENDPOINT")

    # Default model of `sequrity-control policy generate`.
    policy_gen_model: str = ""
