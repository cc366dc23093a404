"""Run Alembic migrations programmatically (used by the app, the CLI and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from ketaflow.config import Settings
from ketaflow.db import make_engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def compare_server_defaults(connection: Connection) -> bool:
    """Whether autogenerate and the drift test compare server defaults: on PostgreSQL, where
    the migrations are the same as SQLite's, not on SQLite, whose INTEGER PRIMARY KEY is the
    rowid and which Alembic would report as lacking the models' identity column."""
    return connection.dialect.name != "sqlite"


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


# What the application role may do on PostgreSQL when migrations run as a separate owner
# role: everything on clinical tables, but only read and append the audit trail. Not being the
# owner, it can neither ALTER the tables nor disable their triggers.
AUDIT_TABLES = ("audit_events", "audit_seals", "audit_checkpoints")


def upgrade_for(settings: Settings, revision: str = "head") -> None:
    """Migrate as the owner role (KETAFLOW_MIGRATION_DATABASE_URL, else the app's URL), then,
    when the app connects as another role, grant it exactly what it needs."""
    upgrade(settings.effective_migration_url, revision)
    grant_if_separate_roles(settings)


def grant_if_separate_roles(settings: Settings) -> None:
    app_role = make_url(settings.effective_database_url).username
    owner_role = make_url(settings.effective_migration_url).username
    if settings.effective_database_url.startswith("postgresql") and app_role != owner_role:
        grant_app_role(settings.effective_migration_url, app_role or "")


def grant_app_role(owner_url: str, app_role: str) -> None:
    engine = make_engine(owner_url, connections=1)
    try:
        with engine.begin() as conn:
            role = conn.dialect.identifier_preparer.quote(app_role)
            audit = ", ".join(AUDIT_TABLES)
            for statement in (
                f"GRANT USAGE ON SCHEMA public TO {role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
                f"REVOKE UPDATE, DELETE, TRUNCATE ON {audit} FROM {role}",
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
            ):
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def audit_privilege_problem(session: Session) -> str | None:
    """Production check: the app's role must not be able to change audit rows."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    for table in AUDIT_TABLES:
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            if session.scalar(text("SELECT has_table_privilege(current_user, :t, :p)"),
                              {"t": table, "p": privilege}):
                return (f"KETAFLOW_DATABASE_URL connects as a role that may {privilege} "
                        f"{table}: run migrations as the owner with "
                        "KETAFLOW_MIGRATION_DATABASE_URL and connect the app as a role of its "
                        "own (docs/deployment.md)")
    return None
