"""The audit chain: written with the change, append-only, and every tampering is detected."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent, AuditImmutableError
from ketaflow.audit.service import (
    GENESIS_HASH,
    AuditContext,
    AuditFilter,
    event_hash,
    events_to_csv,
    list_events,
    record_event,
    verify_chain,
)
from ketaflow.db import make_engine, make_session_factory
from tests.support.databases import PostgresDatabases

CTX = AuditContext(7, "nurse1", "nurse", "10.0.0.5", "req-123456")


def _write(db: Session, n: int) -> list[AuditEvent]:
    events = [
        record_event(
            db, CTX, action="thing.update", entity_type="thing", entity_id=i, detail={"n": i}
        )
        for i in range(1, n + 1)
    ]
    db.commit()
    return events


def _raw(db: Session, sql: str) -> None:
    """Tamper as a database superuser would, bypassing the app (and PostgreSQL's trigger)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET session_replication_role = replica"))
    db.execute(text(sql))
    db.commit()


def test_events_chain_from_genesis_and_verify(db: Session) -> None:
    events = _write(db, 5)
    assert events[0].id == 1 and events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert all(event_hash(e) == e.hash for e in events)
    report = verify_chain(db)
    assert report.ok and report.events_checked == 5


def test_event_records_who_what_where(db: Session) -> None:
    ev = _write(db, 1)[0]
    db.expire_all()
    stored = db.get(AuditEvent, ev.id)
    assert stored is not None
    assert (stored.actor_user_id, stored.actor_username, stored.actor_role) == (
        7,
        "nurse1",
        "nurse",
    )
    assert (stored.action, stored.entity_type, stored.entity_id) == ("thing.update", "thing", "1")
    assert (stored.outcome, stored.client_address, stored.request_id) == (
        "success",
        "10.0.0.5",
        "req-123456",
    )
    assert stored.occurred_at.tzinfo is not None


def test_edited_row_is_named(db: Session) -> None:
    _write(db, 4)
    _raw(db, "UPDATE audit_events SET actor_username = 'mallory' WHERE id = 3")
    report = verify_chain(db)
    assert not report.ok and report.first_broken_id == 3 and "edited" in (report.reason or "")
    assert report.events_checked == 2


def test_deleted_row_is_named(db: Session) -> None:
    _write(db, 4)
    _raw(db, "DELETE FROM audit_events WHERE id = 2")
    report = verify_chain(db)
    assert not report.ok and report.first_broken_id == 3 and "missing" in (report.reason or "")


def test_inserted_row_is_named(db: Session) -> None:
    events = _write(db, 3)
    # Shift the tail up by one and slip a forged event in at id 3: its link cannot be right.
    _raw(db, "UPDATE audit_events SET id = id + 100 WHERE id = 3")
    forged_hash = "f" * 64
    _raw(
        db,
        (
            "INSERT INTO audit_events (id, occurred_at, actor_username, actor_role, action, "
            "entity_type, outcome, detail, prev_hash, hash) VALUES (3, '2026-01-01 00:00:00', "
            f"'x', 'admin', 'forged', 'thing', 'success', '{{}}', "
            f"'{events[0].hash}', '{forged_hash}')"
        ),
    )
    report = verify_chain(db)
    assert not report.ok and report.first_broken_id == 3


def test_rehashed_edit_breaks_the_next_link(db: Session) -> None:
    events = _write(db, 3)
    victim = events[1]
    victim_copy = AuditEvent(
        **{c.key: getattr(victim, c.key) for c in AuditEvent.__table__.columns}
    )
    victim_copy.action = "innocent.read"
    new_hash = event_hash(victim_copy)
    _raw(db, f"UPDATE audit_events SET action = 'innocent.read', hash = '{new_hash}' WHERE id = 2")
    report = verify_chain(db)
    assert not report.ok and report.first_broken_id == 3 and "link" in (report.reason or "")


def test_orm_cannot_update_or_delete_audit_rows(db: Session) -> None:
    ev = db.get(AuditEvent, _write(db, 1)[0].id)
    assert ev is not None
    ev.action = "changed"
    with pytest.raises(AuditImmutableError):
        db.flush()
    db.rollback()
    db.delete(db.get(AuditEvent, ev.id))
    with pytest.raises(AuditImmutableError):
        db.flush()
    db.rollback()
    with pytest.raises(AuditImmutableError):
        db.execute(update(AuditEvent).values(action="x"))
    with pytest.raises(AuditImmutableError):
        db.execute(delete(AuditEvent))


@pytest.fixture
def pg_db(postgres_databases: PostgresDatabases) -> Iterator[Session]:
    url = postgres_databases.fresh()
    engine = make_engine(url)
    session = make_session_factory(engine)()
    yield session
    session.close()
    engine.dispose()
    postgres_databases.drop(url)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
def test_postgresql_trigger_refuses_changes(pg_db: Session, sql: str) -> None:
    """Even SQL that bypasses the application is refused by the database on PostgreSQL."""
    _write(pg_db, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        pg_db.execute(text(sql))
    pg_db.rollback()
    assert verify_chain(pg_db).events_checked == 2


def test_rolled_back_change_leaves_no_event(db: Session) -> None:
    _write(db, 1)
    record_event(db, CTX, action="thing.create", entity_type="thing", entity_id=9)
    db.rollback()
    assert verify_chain(db).events_checked == 1


def test_filter_and_csv_export(db: Session) -> None:
    _write(db, 3)
    record_event(
        db,
        CTX.as_user(1, "admin", "admin"),
        action="user.create",
        entity_type="staff_user",
        entity_id=5,
        detail={"note": '=HYPERLINK("x")'},
    )
    db.commit()
    by_user = list_events(db, AuditFilter(actor_username="admin"))
    assert [e.action for e in by_user] == ["user.create"]
    by_entity = list_events(db, AuditFilter(entity_type="thing", entity_id="2"))
    assert [e.entity_id for e in by_entity] == ["2"]
    csv_text = events_to_csv(by_user)
    header, row = csv_text.strip().splitlines()
    assert header.startswith("id,occurred_at,actor_user_id,actor_username")
    assert "admin" in row and "user.create" in row
