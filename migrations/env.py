"""Alembic environment: the only way ketaflow's schema is created or changed."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from ketaflow.db import make_engine
from ketaflow.migrate import compare_server_defaults
from ketaflow.models import Base

config = context.config


def _url() -> str:
    # ketaflow.migrate passes the URL explicitly; the alembic CLI falls back to the settings.
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from ketaflow.config import load_settings

    return load_settings().effective_database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=Base.metadata, render_as_batch=True,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            _run_without_sqlite_foreign_keys(conn)
        else:
            _run(conn)
    engine.dispose()


def _run_without_sqlite_foreign_keys(conn: Connection) -> None:
    """SQLite alters a table by copying it; with foreign keys enforced, dropping the old copy
    of a table that others refer to fails. So they are off while migrating (the pragma only
    takes effect outside a transaction, hence the driver connection) and checked afterwards."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        _run(conn)
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows with broken references: {broken[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        # Server defaults fill rows a migration did not write: they must match the models too.
        compare_server_default=compare_server_defaults(connection),  # type: ignore[arg-type]
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
