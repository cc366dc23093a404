"""Production mode refuses unsafe settings and databases, and on PostgreSQL the application's
role can only read and append the audit trail."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ketaflow import migrate
from ketaflow.cli import production_database_problem
from ketaflow.config import SettingsError, load_settings
from ketaflow.db import make_engine
from tests.support.postgres import PostgresServer

SAFE = {"mode": "production", "secret_key": "s" * 40, "audit_key": "a" * 40}


def test_safe_production_settings_load(tmp_path: Path) -> None:
    assert load_settings(var_dir=tmp_path, **SAFE).mode == "production"


@pytest.mark.parametrize(("overrides", "named"), [
    ({"cookie_secure": False}, "KETAFLOW_COOKIE_SECURE"),
    ({"mfa_required_roles": "admin"}, "KETAFLOW_MFA_REQUIRED_ROLES must include prescriber"),
    ({"mfa_required_roles": ""}, "KETAFLOW_MFA_REQUIRED_ROLES must include admin, prescriber"),
    ({"public_base_url": "http://clinic.example"}, "KETAFLOW_PUBLIC_BASE_URL must use https"),
    ({"smtp_password": "pw", "smtp_host": "mail"}, "KETAFLOW_SMTP_PASSWORD is set without"),
    ({"login_max_failures_per_account_address": 1000},
     "KETAFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS is 1000"),
    ({"login_max_failures_per_account": 5}, "KETAFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT is 5"),
    ({"mfa_max_failures": 50}, "KETAFLOW_MFA_MAX_FAILURES is 50"),
    ({"login_failure_window_minutes": 1}, "KETAFLOW_LOGIN_FAILURE_WINDOW_MINUTES is 1"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_unsafe_setting_is_refused_naming_it(tmp_path: Path, overrides: dict[str, object],
                                                  named: str) -> None:
    with pytest.raises(SettingsError, match=named) as refused:
        load_settings(var_dir=tmp_path, **{**SAFE, **overrides})
    assert "\n" not in str(refused.value)
    load_settings(var_dir=tmp_path, **{**SAFE, **overrides, "mode": "demo"})  # demo allows it


def test_http_on_loopback_and_tls_mail_are_fine(tmp_path: Path) -> None:
    load_settings(var_dir=tmp_path, **SAFE, public_base_url="http://127.0.0.1:8000",
                  smtp_password="pw", smtp_starttls=True)


def _ketaflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ketaflow", *args], env=os.environ | env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_serve_refuses_a_database_with_demo_data(tmp_path: Path) -> None:
    env = {"KETAFLOW_VAR_DIR": str(tmp_path), "KETAFLOW_DATABASE_URL":
           f"sqlite:///{tmp_path / 'k.db'}", "KETAFLOW_MODE": "demo"}
    assert _ketaflow(env, "db", "upgrade").returncode == 0
    assert _ketaflow(env, "demo", "seed").returncode == 0
    production = env | {"KETAFLOW_MODE": "production", "KETAFLOW_SECRET_KEY": "s" * 40,
                        "KETAFLOW_AUDIT_KEY": "a" * 40}
    refused = _ketaflow(production, "serve", "--port", "1")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: refusing to start in production: the database holds demo data (seeded by "
        "ketaflow demo seed)"]
    assert "demo data is only created in demo mode" in _ketaflow(production, "demo",
                                                                 "seed").stderr


# ---------------------------------------------------------------- PostgreSQL roles


@pytest.fixture
def two_roles(pg_server: PostgresServer) -> Iterator[tuple[str, str]]:
    """A database owned by one role and used by another, as docs/deployment.md describes."""
    with pg_server.admin_conn() as conn:
        conn.execute("CREATE ROLE kf_owner LOGIN")
        conn.execute("CREATE ROLE kf_app LOGIN")
        conn.execute("CREATE DATABASE kf_roles OWNER kf_owner")
    owner = f"postgresql+psycopg://kf_owner@127.0.0.1:{pg_server.port}/kf_roles"
    app = f"postgresql+psycopg://kf_app@127.0.0.1:{pg_server.port}/kf_roles"
    yield owner, app
    pg_server.drop_database("kf_roles")
    with pg_server.admin_conn() as conn:
        conn.execute("DROP ROLE kf_app")
        conn.execute("DROP ROLE kf_owner")


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'x'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "UPDATE audit_seals SET hash = 'x'",
    "DELETE FROM audit_checkpoints",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "ALTER TABLE audit_events ADD COLUMN extra text",
    "DROP TRIGGER audit_events_no_change ON audit_events",
    "SET session_replication_role = replica",
    "UPDATE alembic_version SET version_num = 'x'",
])
def test_the_app_role_cannot_change_the_audit_trail(two_roles: tuple[str, str], tmp_path: Path,
                                                    statement: str) -> None:
    owner, app = two_roles
    cfg = load_settings(var_dir=tmp_path, database_url=app, migration_database_url=owner)
    migrate.upgrade_for(cfg)
    engine = make_engine(app)
    try:
        with engine.begin() as conn:  # what the app may do
            conn.execute(text("INSERT INTO audit_events (uid, occurred_at, actor_username, "
                              "actor_role, action, entity_type, outcome, detail, mac) VALUES "
                              "('u1', now(), 'a', 'b', 'c', 'd', 'e', '{}', 'm')"))
            assert conn.scalar(text("SELECT count(*) FROM audit_events")) == 1
            conn.execute(text("INSERT INTO staff_users (username, full_name, role, "
                              "password_hash, is_active, created_at, password_changed_at) "
                              "VALUES ('x', 'X', 'nurse', 'h', true, now(), now())"))
            conn.execute(text("UPDATE staff_users SET full_name = 'Y'"))
        with engine.begin() as conn, pytest.raises(DBAPIError) as refused:
            conn.execute(text(statement))
    finally:
        engine.dispose()
    assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege)


def test_production_refuses_an_app_role_that_can_change_audit_rows(
        two_roles: tuple[str, str], tmp_path: Path) -> None:
    owner, app = two_roles
    common = {"KETAFLOW_VAR_DIR": str(tmp_path), "KETAFLOW_MODE": "production",
              "KETAFLOW_SECRET_KEY": "s" * 40, "KETAFLOW_AUDIT_KEY": "a" * 40}
    as_owner = _ketaflow(common | {"KETAFLOW_DATABASE_URL": owner}, "serve", "--port", "1")
    assert as_owner.returncode == 1
    assert "KETAFLOW_DATABASE_URL connects as a role that may UPDATE audit_events" in (
        as_owner.stderr)
    # Connected as the application's own role, the same database passes the check.
    cfg = load_settings(var_dir=tmp_path, **SAFE, database_url=app, migration_database_url=owner)
    migrate.upgrade_for(cfg)
    assert production_database_problem(cfg) is None
