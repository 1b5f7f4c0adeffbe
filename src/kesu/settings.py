"""Typed settings from KESU_* environment variables or an optional kesu.toml.

Built once by an entry point (`Settings()`), then passed down; nothing reads the
environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "kesu"
INSECURE_SECRET = "dev-only-insecure-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KESU_", toml_file="kesu.toml", extra="ignore")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Evidence files and the SQLite database")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///{data_dir}/kesu.db"
    )
    secret_key: str = INSECURE_SECRET
    data_key: str | None = Field(
        None, description="KESU_DATA_KEY: seals personal data at rest (required in production)"
    )
    environment: str = Field("development", description="development | production")
    default_locale: str = "zh_Hans"
    public_url: str | None = Field(
        None,
        description="where customers reach Kesu (https://kesu.example.cn): customer messages "
        "then carry the complaint's signed tracking link",
    )
    max_upload_bytes: int = 20 * 1024 * 1024
    session_hours: int = 12
    worker_interval_seconds: float = 5.0
    smtp_host: str | None = Field(None, description="unset: e-mails wait in the outbox")
    smtp_port: int = 25
    smtp_from: str = "kesu@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, *args, **kw):
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == INSECURE_SECRET:
            raise ValueError("KESU_SECRET_KEY must be set in production")
        if self.environment == "production" and not self.data_key:
            raise ValueError("KESU_DATA_KEY must be set in production")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kesu.db'}"

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"
