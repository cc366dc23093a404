"""Settings from the environment (prefix KETAFLOW_), validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"
AUDIT_KEY_FILE = "audit_key"
RESEARCH_KEY_FILE = "research_key"


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
    # HMAC key of the audit chain, kept outside the database; the same on every server.
    audit_key: str = Field(default="", repr=False)
    # Root key of the research export's pseudonyms and date shifts (docs/research-export.md),
    # kept outside the database like the audit key: the same key gives the same pseudonyms.
    research_key: str = Field(default="", repr=False)
    # PostgreSQL: the owner role that runs migrations. The app then connects with
    # database_url as a role that may only INSERT and SELECT audit rows (docs/deployment.md).
    migration_database_url: str = Field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Server processes: one per core suits the chair-side load (benchmarks/bench_vitals.py).
    workers: int = Field(default=1, ge=1, le=64)
    session_idle_minutes: int = Field(default=15, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=7 * 24)
    # Roles that must complete TOTP at sign-in. Outside demo mode the default covers the roles
    # that can change accounts or sign orders; demo mode lets people try the app without a phone.
    mfa_required_roles: tuple[Role, ...] | None = None
    # Sign-in throttling. Failures are counted per account *and address* pair, so one
    # attacker cannot lock colleagues out from a shared clinic address; a higher limit per
    # account (from every address together) stops guessing spread over many addresses.
    login_max_failures_per_account_address: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=50, ge=1)
    mfa_max_failures: int = Field(default=5, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    # Addresses (or networks, CIDR) of reverse proxies whose X-Forwarded-For is believed; from
    # anyone else the header is ignored and the connection's address is the client's.
    trusted_proxies: tuple[str, ...] = ()
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
    # Each SMTP step (connect, each command) gives up after this long (docs/jobs.md).
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    # A clinic's SMS gateway: "package.module:factory", called with the settings at start-up
    # and returning a ketaflow.jobs.senders.SmsSender. Empty: SMS messages wait, unsent.
    sms_sender: str = ""
    # The outbox worker (docs/jobs.md): how long one claim on a message lasts (longer than any
    # send can take, else another server may send it again), messages per round, the pause
    # between rounds, and the first retry delay (doubling each attempt, at most a day).
    outbox_lease_seconds: int = Field(default=120, ge=10, le=3600)
    outbox_batch: int = Field(default=20, ge=1, le=1000)
    outbox_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    outbox_retry_seconds: int = Field(default=60, ge=1, le=86400)
    # Admission: requests served at once per process, how many may wait, and for how long
    # before the answer is 503 with Retry-After (never an unbounded queue).
    max_concurrent_requests: int = Field(default=16, ge=1, le=1024)
    max_queued_requests: int = Field(default=256, ge=0, le=100_000)
    queue_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Folder of licensed wording packs (*.json) for names-only rating scales; see docs/scales.md.
    scales_wording_dir: Path | None = None

    @field_validator("mfa_required_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("secret_key", "audit_key", "research_key")
    @classmethod
    def _long_enough(cls, value: str, info: ValidationInfo) -> str:
        if value and len(value) < 32:
            raise ValueError(f"{info.field_name} must be at least 32 characters")
        return value

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
    def effective_migration_url(self) -> str:
        if self.migration_database_url:
            return self.migration_database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        return self.effective_database_url

    @cached_property
    def effective_secret_key(self) -> str:
        return self.secret_key or _read_or_create_secret(self.var_dir, SECRET_KEY_FILE)

    @cached_property
    def effective_audit_key(self) -> bytes:
        return (self.audit_key or _read_or_create_secret(self.var_dir, AUDIT_KEY_FILE)).encode()

    @cached_property
    def effective_research_key(self) -> bytes:
        return (self.research_key or _read_or_create_secret(self.var_dir, RESEARCH_KEY_FILE)
                ).encode()

    @cached_property
    def audit_checkpoint_file(self) -> Path:
        return self.var_dir / "audit-checkpoints.jsonl"

    # The clinic's IANA time zone (e.g. Europe/London). Times typed into HTML forms
    # (datetime-local fields carry no zone) are read in it; everything is stored in UTC. The
    # clinic profile's time zone, when an admin sets one, wins (ketaflow.clinic.service).
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


def _read_or_create_secret(var_dir: Path, name: str) -> str:
    """Generate a key once into var/ with mode 0600 so restarts keep using it."""
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's error into one message naming the setting; in
    production, refuse the first unsafe setting (`production_problems`)."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "KETAFLOW_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {field}: {first['msg']}") from None
    if settings.mode is Mode.PRODUCTION:
        problems = production_problems(settings)
        if problems:
            raise SettingsError(f"refusing to start in production: {problems[0]}")
    return settings


# Throttle limits a clinic may choose in production: (setting, lowest, highest).
SANE_THROTTLE = (
    ("login_max_failures_per_account_address", 3, 10),
    ("login_max_failures_per_account", 10, 500),
    ("mfa_max_failures", 3, 10),
    ("login_failure_window_minutes", 5, 24 * 60),
)
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def production_problems(settings: Settings) -> list[str]:
    """Each unsafe setting, in one line naming it (checks that need no database)."""
    problems = []
    if not settings.cookie_secure:
        problems.append("KETAFLOW_COOKIE_SECURE is off: cookies would be sent over plain http")
    missing = {Role.ADMIN, Role.PRESCRIBER} - settings.effective_mfa_roles
    if missing:
        names = ", ".join(sorted(role.value for role in missing))
        problems.append(f"KETAFLOW_MFA_REQUIRED_ROLES must include {names}")
    url = urlsplit(settings.public_base_url)
    if url.scheme != "https" and (url.hostname or "") not in _LOOPBACK_HOSTS:
        problems.append("KETAFLOW_PUBLIC_BASE_URL must use https (links go to patients' phones)")
    if settings.smtp_password and not settings.smtp_starttls:
        problems.append("KETAFLOW_SMTP_PASSWORD is set without KETAFLOW_SMTP_STARTTLS: the "
                        "password would cross the network unencrypted")
    for name, low, high in SANE_THROTTLE:
        value = getattr(settings, name)
        if not low <= value <= high:
            problems.append(f"KETAFLOW_{name.upper()} is {value}; production allows {low} to "
                            f"{high}")
    if settings.login_max_failures_per_account < settings.login_max_failures_per_account_address:
        problems.append("KETAFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT must not be below "
                        "KETAFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS")
    return problems
