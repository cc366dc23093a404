"""Migrations build the whole schema from empty, round-trip, and match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from ketaflow import migrate
from ketaflow.db import make_engine
from ketaflow.models import Base
from tests.support.filler import fill_every_table, missing_rows, table_names


def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True,
                        "compare_server_default": migrate.compare_server_defaults(conn)}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return list(diff)


def test_upgrade_from_empty_creates_every_model_table(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    engine = make_engine(empty_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert migrate.current_revision(empty_url) == migrate.head_revision(empty_url)


def test_models_and_migrations_do_not_drift(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert _diff(empty_url) == []


def test_downgrade_to_base_and_upgrade_again(empty_url: str) -> None:
    from alembic import command

    migrate.upgrade(empty_url)
    command.downgrade(migrate.alembic_config(empty_url), "base")
    engine = make_engine(empty_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(empty_url)
    assert migrate.current_revision(empty_url) == migrate.head_revision(empty_url)


# Tables a migration drops on purpose, with the reason; their rows go with them.
DROPPED_TABLES = {
    "login_failures": "0273c2472cd1: failed sign-ins are counted in auth_throttle instead",
}


def test_upgrade_step_by_step_keeps_data_in_every_table(empty_url: str) -> None:
    """Every migration must carry the data already there (a new NOT NULL column needs a default
    or a backfill; a table SQLite rebuilds must copy its rows): from base to head one revision
    at a time, with a row written into every existing table before each step."""
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_url))
    revisions = [step.revision for step in script.walk_revisions("base", "heads")][::-1]
    assert len(revisions) >= 6
    engine = make_engine(empty_url)
    written: dict[str, list[dict[str, object]]] = {}
    for revision in revisions:
        fill_every_table(engine, written)
        migrate.upgrade(empty_url, revision)
    fill_every_table(engine, written)  # the filler copes with every table of today's schema
    assert set(written) - set(DROPPED_TABLES) == table_names(engine)
    kept = {table: rows for table, rows in written.items() if table not in DROPPED_TABLES}
    assert missing_rows(engine, kept) == {}
    engine.dispose()
    assert migrate.current_revision(empty_url) == migrate.head_revision(empty_url)
