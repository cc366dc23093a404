"""Settings from the environment (prefix KETAFLOW_), validated once at start-up."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Role(StrEnum):
    """Staff roles. Defined here because settings (the MFA policy) name them."""

    ADMIN = "admin"
    PRESCRIBER = "prescriber"
    NURSE = "nurse"
    FRONT_DESK = "front_desk"
    RESEARCHER = "researcher"


class Mode(StrEnum):
    PRODUCTION = "production"
    DEMO = "demo"


class SettingsError(Exception):
    """Invalid configuration; the message names the setting and is safe to print."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KETAFLOW_", extra="ignore")

    mode: Mode = Mode.DEMO
    var_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = Field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Server processes: one per core suits the chair-side load (benchmarks/bench_vitals.py).
    workers: int = Field(default=1, ge=1, le=64)
    session_idle_minutes: int = Field(default=15, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=7 * 24)
    # Roles that must complete TOTP at sign-in. Outside demo mode the default covers the roles
    # that can change accounts or sign orders; demo mode lets people try the app without a phone.
    mfa_required_roles: tuple[Role, ...] | None = None
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    api_token_default_days: int = Field(default=90, ge=1, le=366)
    # Browsers treat http://127.0.0.1 and localhost as secure contexts, so Secure cookies work
    # in a local demo too; only turn this off behind a TLS-terminating proxy that rewrites scheme.
    cookie_secure: bool = True
    # Links sent to patients (self-report portal) are built from this address.
    public_base_url: str = "http://127.0.0.1:8000"
    # Outgoing mail. Without a host, links are shown to staff to pass on instead of being mailed.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "ketaflow@localhost"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = Field(default="", repr=False)
    # Folder of licensed wording packs (*.json) for names-only rating scales; see docs/scales.md.
    scales_wording_dir: Path | None = None

    @field_validator("mfa_required_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @model_validator(mode="after")
    def _production_secret(self) -> Settings:
        if self.secret_key and len(self.secret_key) < 32:
            raise ValueError("secret_key must be at least 32 characters")
        return self

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"sqlite:///{(self.var_dir / 'ketaflow.db').resolve()}"

    @cached_property
    def effective_mfa_roles(self) -> frozenset[Role]:
        if self.mfa_required_roles is not None:
            return frozenset(self.mfa_required_roles)
        return frozenset() if self.mode is Mode.DEMO else frozenset({Role.ADMIN, Role.PRESCRIBER})

    @cached_property
    def effective_secret_key(self) -> str:
        return self.secret_key or _read_or_create_secret(self.var_dir)

    # The clinic's IANA time zone (e.g. Europe/London). Times typed into HTML forms
    # (datetime-local fields carry no zone) are read in it; everything is stored in UTC.
    clinic_timezone: str = "UTC"

    @field_validator("clinic_timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        # Imported here so this setting's change stays in one place of the file.
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name such as Europe/London") from None
        return value


def _read_or_create_secret(var_dir: Path) -> str:
    """Generate the key once into var/ with mode 0600 so restarts keep sessions valid."""
    path = var_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's error into one message naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "KETAFLOW_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {field}: {first['msg']}") from None
