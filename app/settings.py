"""Every setting of the service, read from ``ARBITER_*`` environment variables and ``.env``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARBITER_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        default=Path("./data"), description="Where the SQLite file and generated secrets live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite in data_dir. "
        "postgresql+psycopg://user:pass@host/db selects PostgreSQL.",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token with every right; generated into data_dir when unset.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts connection secrets at rest (Fernet, urlsafe base64 of "
        "32 bytes); generated into data_dir when unset.",
    )
    host: str = Field(default="127.0.0.1", description="Default address for `arbiter serve`.")
    port: int = Field(default=8000, ge=0, le=65535, description="Default port of `serve`.")
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest request body accepted (413)."
    )
    demo: bool | None = Field(
        default=None,
        description="Run the sandbox demo; default: on when no database_url is configured "
        "and the store has no workspace of its own.",
    )
    public_url: str | None = Field(
        default=None, description="Base URL of the service as users reach it (alert links)."
    )
    log_level: str = Field(default="info", description="Log level of the service.")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'arbiter.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
