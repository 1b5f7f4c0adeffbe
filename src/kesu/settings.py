"""Typed settings from KESU_* environment variables or an optional kesu.toml.

Built once by an entry point (`Settings()`), then passed down; nothing reads the
environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "kesu"
INSECURE_SECRET = "dev-only-insecure-secret"
MIN_KEY_LENGTH = 32  # `kesu keygen` prints 64 characters


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
    environment: Literal["development", "production"] = Field(
        "development", description="development | production"
    )
    default_locale: Literal["zh_Hans", "zh_Hant", "en"] = "zh_Hans"
    public_url: str | None = Field(
        None,
        description="where customers reach Kesu (https://kesu.example.cn): customer messages "
        "then carry the complaint's signed tracking link",
    )
    max_upload_bytes: int = Field(20 * 1024 * 1024, gt=0)
    session_hours: int = Field(12, ge=1, le=24 * 366)
    worker_interval_seconds: float = Field(5.0, gt=0)
    smtp_host: str | None = Field(None, description="unset: e-mails wait in the outbox")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "kesu@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, *args, **kw):
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("environment", mode="before")
    @classmethod
    def _environment_in_any_case(cls, value: object) -> object:
        # "Production" is the deployer's production too; a typo ("prod") is refused, never
        # quietly run as development with the development secret
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("default_locale", mode="before")
    @classmethod
    def _locale_in_any_case(cls, value: object) -> object:
        # zh_hant or EN is meant as the catalogue's language; "fr" is refused, never quietly
        # read as Simplified Chinese
        if isinstance(value, str):
            names = {n.lower(): n for n in ("zh_Hans", "zh_Hant", "en")}
            return names.get(value.strip().lower().replace("-", "_"), value)
        return value

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        """Both keys at once, one line each: a deployer setting up fixes them in one round."""
        if self.environment != "production":
            return self
        problems = []
        for name, value in (
            ("KESU_SECRET_KEY", None if self.secret_key == INSECURE_SECRET else self.secret_key),
            ("KESU_DATA_KEY", self.data_key),
        ):
            if not value:
                problems.append(f"{name} must be set in production (`kesu keygen` prints one)")
            elif len(value) < MIN_KEY_LENGTH:
                problems.append(
                    f"{name} must be at least {MIN_KEY_LENGTH} characters in production "
                    "(`kesu keygen` prints one)"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kesu.db'}"

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"
