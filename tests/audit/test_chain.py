"""The keyed audit trail: written without a lock, sealed afterwards in order, and every kind of
tampering by someone who can write the database (but has no audit key) is detected."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ketaflow.audit import chain
from ketaflow.audit.models import AuditEvent, AuditImmutableError, AuditSeal
from ketaflow.audit.service import (
    GENESIS_HASH,
    AuditContext,
    AuditFilter,
    events_to_csv,
    legacy_event_hash,
    list_events,
    record_event,
)
from ketaflow.audit.worker import seal_everything
from ketaflow.db import make_engine, make_session_factory, utcnow
from tests.support.databases import PostgresDatabases

CTX = AuditContext(7, "nurse1", "nurse", "10.0.0.5", "req-123456")


def _write(db: Session, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        record_event(db, CTX, action="thing.update", entity_type="thing", entity_id=i,
                     detail={"n": i})
    db.commit()


def _seal(db: Session, path: Path | None = None) -> None:
    while chain.seal_pending(db, sweep_all=True).sealed:
        pass
    checkpoint = chain.record_checkpoint(db)
    db.commit()
    if path is not None and checkpoint is not None:
        chain.append_checkpoint_file(path, checkpoint)


def _raw(db: Session, sql: str) -> None:
    """Tamper as a database superuser would, around the app and PostgreSQL's triggers."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET session_replication_role = replica"))
    db.execute(text(sql))
    db.commit()
    db.expire_all()


def _verify(db: Session, path: Path | None = None) -> chain.VerifyReport:
    checkpoints = chain.read_checkpoint_file(path) if path and path.exists() else []
    return chain.verify(db, checkpoints=checkpoints)


def _ids(db: Session) -> list[int]:
    return list(db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def test_events_are_sealed_into_one_keyed_chain(db: Session) -> None:
    _write(db, 5)
    assert chain.verify(db).unsealed == 5  # committed, MACs right, not chained yet
    _seal(db)
    seals = list(db.scalars(select(AuditSeal).order_by(AuditSeal.position)))
    assert [s.position for s in seals] == [1, 2, 3, 4, 5]
    assert [s.event_id for s in seals] == _ids(db)
    assert seals[0].prev_hash == GENESIS_HASH
    assert [s.prev_hash for s in seals[1:]] == [s.hash for s in seals[:-1]]
    report = chain.verify(db)
    assert report.ok and report.events_checked == 5 and report.unsealed == 0


def test_writing_an_event_is_one_insert_and_takes_no_lock(db: Session) -> None:
    """The design that hung the server: each writer locked the chain and read its tail."""
    statements: list[str] = []
    engine = db.get_bind()

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split(maxsplit=1)[0].upper())

    db.execute(text("SELECT 1"))  # begin the transaction outside the capture
    event.listen(engine, "before_cursor_execute", seen)
    try:
        record_event(db, CTX, action="thing.read", entity_type="thing", entity_id=1)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements == ["INSERT"]


def test_event_records_who_what_where(db: Session) -> None:
    _write(db, 1)
    stored = db.scalars(select(AuditEvent)).one()
    assert (stored.actor_user_id, stored.actor_username, stored.actor_role) == (
        7, "nurse1", "nurse")
    assert (stored.action, stored.entity_type, stored.entity_id) == ("thing.update", "thing", "1")
    assert (stored.outcome, stored.client_address, stored.request_id) == (
        "success", "10.0.0.5", "req-123456")
    assert stored.occurred_at.tzinfo is not None and len(stored.mac or "") == 64


# ---------------------------------------------------------------- the six kinds of tampering


def test_an_edited_row_is_named(db: Session) -> None:
    _write(db, 4)
    _seal(db)
    _raw(db, "UPDATE audit_events SET actor_username = 'mallory' WHERE id = 3")
    report = chain.verify(db)
    assert not report.ok and report.first_broken_id == 3 and "edited" in (report.reason or "")
    assert report.events_checked == 2


def test_an_edited_row_not_yet_sealed_is_named_and_never_sealed(db: Session) -> None:
    _write(db, 3)
    _raw(db, "UPDATE audit_events SET action = 'innocent.read' WHERE id = 2")
    assert chain.seal_pending(db, sweep_all=True).refused == (2,)
    db.commit()
    report = chain.verify(db)
    assert not report.ok and report.first_broken_id == 2


def test_a_deleted_middle_row_is_named(db: Session) -> None:
    _write(db, 4)
    _seal(db)
    _raw(db, "DELETE FROM audit_events WHERE id = 2")
    report = chain.verify(db)
    assert not report.ok and report.first_broken_id == 2 and "deleted" in (report.reason or "")


def test_a_deleted_row_with_its_seal_is_a_gap_in_the_chain(db: Session) -> None:
    _write(db, 4)
    _seal(db)
    _raw(db, "DELETE FROM audit_seals WHERE position = 2")
    _raw(db, "DELETE FROM audit_events WHERE id = 2")
    report = chain.verify(db)
    assert not report.ok and "positions 2..2 are missing" in (report.reason or "")


def _plain_sha(values: list[object]) -> str:
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()


def test_a_forged_row_with_a_plain_sha256_is_caught(db: Session) -> None:
    """Appended with a correctly computed SHA-256 in place of the MAC: caught, never sealed."""
    _write(db, 2)
    _seal(db)
    forged = _plain_sha(["x", "admin", "user.create"])
    _raw(db, "INSERT INTO audit_events (uid, occurred_at, actor_username, actor_role, action, "
             "entity_type, outcome, detail, mac) VALUES ('f0f0', '2026-01-01 00:00:00', "
             f"'x', 'admin', 'user.create', 'staff_user', 'success', '{{}}', '{forged}')")
    assert chain.seal_pending(db).refused  # the sealer will not adopt it
    db.rollback()
    report = chain.verify(db)
    assert not report.ok and "forged" in (report.reason or "")


def test_a_forged_row_inserted_into_the_chain_is_caught(db: Session) -> None:
    """A forged event given a seal in the middle, the later seals renumbered and re-chained
    with plain SHA-256: without the key no seal hash comes out right."""
    _write(db, 3)
    _seal(db)
    _raw(db, "INSERT INTO audit_events (id, uid, occurred_at, actor_username, actor_role, "
             "action, entity_type, outcome, detail, mac) VALUES (100, 'f1f1', "
             "'2026-01-01 00:00:00', 'x', 'admin', 'forged', 'thing', 'success', '{}', "
             f"'{'a' * 64}')")
    seals = db.execute(select(AuditSeal.event_id, AuditSeal.hash)
                       .order_by(AuditSeal.position)).all()
    _raw(db, "DELETE FROM audit_seals WHERE position >= 2")
    prev = seals[0].hash
    for position, event_id in ((2, 100), (3, seals[1].event_id), (4, seals[2].event_id)):
        new = _plain_sha([position, event_id, prev])
        _raw(db, "INSERT INTO audit_seals (position, event_id, sealed_at, prev_hash, hash) "
                 f"VALUES ({position}, {event_id}, '2026-01-01 00:00:00', '{prev}', '{new}')")
        prev = new
    report = chain.verify(db)
    assert not report.ok and report.first_broken_id == 100


def test_the_chain_rehashed_after_an_edit_is_caught(db: Session) -> None:
    """The attacker edits event 2 and recomputes every later hash the way the old, unkeyed
    chain did: the MAC and every seal hash need the key."""
    _write(db, 3)
    _seal(db)
    _raw(db, "UPDATE audit_events SET action = 'innocent.read', "
             f"mac = '{_plain_sha(['innocent.read'])}' WHERE id = 2")
    seals = list(db.scalars(select(AuditSeal).order_by(AuditSeal.position)))
    prev = seals[0].hash
    for seal in seals[1:]:
        new = _plain_sha([seal.position, seal.event_id, prev])
        _raw(db, f"UPDATE audit_seals SET prev_hash = '{prev}', hash = '{new}' "
                 f"WHERE position = {seal.position}")
        prev = new
    report = chain.verify(db)
    assert not report.ok and report.first_broken_id == 2


def test_deleting_the_newest_rows_is_caught_by_the_checkpoint(db: Session,
                                                              tmp_path: Path) -> None:
    checkpoints = tmp_path / chain.CHECKPOINT_FILE
    _write(db, 5)
    _seal(db, checkpoints)
    # A consistent shorter chain: only a record kept outside the database can tell.
    _raw(db, "DELETE FROM audit_checkpoints")
    _raw(db, "DELETE FROM audit_seals WHERE position > 3")
    _raw(db, "DELETE FROM audit_events WHERE id > 3")
    assert chain.verify(db).ok  # the database alone looks fine
    report = _verify(db, checkpoints)
    assert not report.ok and "newest events were deleted" in (report.reason or "")


def test_an_older_copy_of_the_database_is_caught_by_the_checkpoint(db_url: str,
                                                                   tmp_path: Path) -> None:
    """Restoring an older backup: the chain stops short of the latest checkpoint. (The
    backup and restore commands themselves are tested in tests/test_backup.py.)"""
    checkpoints = tmp_path / chain.CHECKPOINT_FILE
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as db:
        _write(db, 3)
        _seal(db, checkpoints)
        old = [dict(row._mapping) for row in db.execute(select(AuditEvent.__table__))]
        old_seals = [dict(row._mapping) for row in db.execute(select(AuditSeal.__table__))]
        _write(db, 4, start=4)
        _seal(db, checkpoints)
        # "Restore" the copy taken after the third event: the tables as they were then.
        for table in ("audit_checkpoints", "audit_seals", "audit_events"):
            _raw(db, f"DELETE FROM {table}")
        db.execute(AuditEvent.__table__.insert(), old)
        db.execute(AuditSeal.__table__.insert(), old_seals)
        db.commit()
        report = _verify(db, checkpoints)
    engine.dispose()
    assert not report.ok and "older backup" in (report.reason or "")
    assert report.head_position == 3


def test_a_forged_checkpoint_is_caught(db: Session, tmp_path: Path) -> None:
    checkpoints = tmp_path / chain.CHECKPOINT_FILE
    _write(db, 2)
    _seal(db, checkpoints)
    real = chain.read_checkpoint_file(checkpoints)[0]
    forged = chain.Checkpoint(real.position, "b" * 64, real.at, real.mac)
    chain.append_checkpoint_file(checkpoints, forged)
    report = _verify(db, checkpoints)
    assert not report.ok and "forged" in (report.reason or "")


# ---------------------------------------------------------------- ids that commit late


@pytest.fixture
def pg_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    url = postgres_databases.fresh()
    yield url
    postgres_databases.drop(url)


def test_a_rolled_back_id_is_waited_for_then_passed(pg_url: str) -> None:
    """Ids are handed out before commit: a missing one may still arrive, so the sealer
    waits for it a little (GAP_GRACE), then seals past it."""
    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    with factory() as db:
        _write(db, 2)
        record_event(db, CTX, action="thing.undone", entity_type="thing")
        db.rollback()  # id 3 is used up and never commits
        _write(db, 1, start=4)
        now = utcnow()
        assert chain.seal_pending(db, now=now).sealed == 2
        assert chain.seal_pending(db, now=now + chain.GAP_GRACE + timedelta(seconds=1)
                                  ).sealed == 1
        db.commit()
        assert chain.verify(db).ok and chain.verify(db).events_checked == 3
    engine.dispose()


def test_an_event_committed_after_later_ones_is_sealed_as_a_straggler(pg_url: str) -> None:
    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    with factory() as slow, factory() as fast:
        record_event(slow, CTX, action="thing.slow", entity_type="thing")
        slow.flush()
        _write(fast, 2)
        assert chain.seal_pending(fast, now=utcnow() + chain.GAP_GRACE * 2).sealed == 2
        fast.commit()
        slow.commit()  # id 1 commits after ids 2 and 3 were sealed
        assert chain.seal_pending(fast).sealed == 1
        fast.commit()
        seals = list(fast.scalars(select(AuditSeal).order_by(AuditSeal.position)))
        assert [s.event_id for s in seals] == [2, 3, 1]
        assert chain.verify(fast).ok
    engine.dispose()


def test_many_concurrent_writers_and_sealers_give_one_verified_chain(pg_url: str) -> None:
    """Writers on separate connections, released together, while two sealers race: every
    event is sealed exactly once and the chain verifies."""
    engine = make_engine(pg_url, connections=12)
    factory = make_session_factory(engine)
    writers, per_writer = 8, 25
    barrier = threading.Barrier(writers + 2)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with factory() as db:
                barrier.wait()
                for n in range(per_writer):
                    record_event(db, CTX, action="thing.concurrent", entity_type="thing",
                                 entity_id=n)
                    db.commit()
        except BaseException as error:  # reported below
            errors.append(error)

    def seal() -> None:
        try:
            barrier.wait()
            while not stop.is_set():
                with factory() as db:
                    chain.seal_pending(db, now=utcnow() + chain.GAP_GRACE * 2)
                    db.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    threads += [threading.Thread(target=seal) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads[:writers]:
        thread.join()
    stop.set()
    for thread in threads[writers:]:
        thread.join()
    assert not errors
    seal_everything(factory, None)
    with factory() as db:
        report = chain.verify(db)
        sealed = db.scalar(select(func.count()).select_from(AuditSeal))
        distinct = db.scalar(select(func.count(func.distinct(AuditSeal.event_id))))
    engine.dispose()
    assert report.ok and report.events_checked == writers * per_writer
    assert sealed == distinct == writers * per_writer


# ---------------------------------------------------------------- events from before the key


def test_events_from_before_the_keyed_trail_are_verified_then_sealed(db: Session) -> None:
    prev = GENESIS_HASH
    for n in (1, 2):
        row = AuditEvent(id=n, occurred_at=utcnow(), actor_user_id=None, actor_username="old",
                         actor_role="system", action="legacy.event", entity_type="thing",
                         entity_id=None, outcome="success", client_address=None,
                         request_id=None, detail="{}", legacy_prev_hash=prev)
        row.legacy_hash = prev = legacy_event_hash(row)
        db.add(row)
    db.commit()
    if db.get_bind().dialect.name == "postgresql":  # as the migration does for old rows
        db.execute(text("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 2)"))
    _write(db, 1)
    _seal(db)
    assert chain.verify(db).ok and chain.verify(db).events_checked == 3
    _raw(db, "UPDATE audit_events SET action = 'legacy.changed' WHERE id = 1")
    assert not chain.verify(db).ok


# ---------------------------------------------------------------- append-only


def test_orm_cannot_update_or_delete_audit_rows(db: Session) -> None:
    _write(db, 1)
    _seal(db)
    for model in (AuditEvent, AuditSeal):
        row = db.scalars(select(model)).first()
        assert row is not None
        db.delete(row)
        with pytest.raises(AuditImmutableError):
            db.flush()
        db.rollback()
        with pytest.raises(AuditImmutableError):
            db.execute(update(model).values(sealed_at=utcnow()) if model is AuditSeal
                       else update(model).values(action="x"))
        with pytest.raises(AuditImmutableError):
            db.execute(delete(model))


@pytest.mark.parametrize("table", ["audit_events", "audit_seals", "audit_checkpoints"])
@pytest.mark.parametrize("verb", ["UPDATE {t} SET id = id", "DELETE FROM {t}", "TRUNCATE {t}"])
def test_postgresql_triggers_refuse_changes(pg_url: str, table: str, verb: str) -> None:
    """SQL around the application is refused by the database itself on PostgreSQL."""
    engine = make_engine(pg_url)
    with make_session_factory(engine)() as db:
        _write(db, 2)
        _seal(db)
        sql = verb.format(t=table).replace("SET id = id", "SET position = position"
                                           if table == "audit_seals" else "SET id = id")
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(sql))
        db.rollback()
        assert chain.verify(db).events_checked == 2
    engine.dispose()


def test_rolled_back_change_leaves_no_event(db: Session) -> None:
    _write(db, 1)
    record_event(db, CTX, action="thing.create", entity_type="thing", entity_id=9)
    db.rollback()
    _seal(db)
    assert chain.verify(db).events_checked == 1


def test_filter_and_csv_export(db: Session) -> None:
    _write(db, 3)
    record_event(db, CTX.as_user(1, "admin", "admin"), action="user.create",
                 entity_type="staff_user", entity_id=5, detail={"note": '=HYPERLINK("x")'})
    db.commit()
    by_user = list_events(db, AuditFilter(actor_username="admin"))
    assert [e.action for e in by_user] == ["user.create"]
    by_entity = list_events(db, AuditFilter(entity_type="thing", entity_id="2"))
    assert [e.entity_id for e in by_entity] == ["2"]
    header, row = events_to_csv(by_user).strip().splitlines()
    assert header.startswith("id,occurred_at,actor_user_id,actor_username")
    assert "admin" in row and "user.create" in row


@pytest.fixture
def checkpoint_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / chain.CHECKPOINT_FILE


def test_checkpoint_file_is_append_only_lines(db: Session, checkpoint_path: Path) -> None:
    _write(db, 1)
    _seal(db, checkpoint_path)
    _write(db, 1, start=2)
    _seal(db, checkpoint_path)
    lines = checkpoint_path.read_text().splitlines()
    assert [json.loads(line)["position"] for line in lines] == [1, 2]
    assert oct(checkpoint_path.stat().st_mode & 0o777) == "0o600"
    checkpoint_path.write_text(checkpoint_path.read_text() + "not json\n")
    with pytest.raises(chain.CheckpointFileError, match="line 3"):
        chain.read_checkpoint_file(checkpoint_path)


def test_sealing_everything_does_not_wait_for_missing_ids(pg_url: str) -> None:
    """`ketaflow audit seal` seals past a fresh gap at once (a killed transaction's id); an
    event that still commits into the gap is sealed later as a straggler."""
    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    with factory() as late, factory() as db:
        record_event(late, CTX, action="thing.late", entity_type="thing")
        late.flush()  # id 1 taken, not committed
        _write(db, 2)
        assert seal_everything(factory, None).sealed == 2
        late.commit()
        assert seal_everything(factory, None).sealed == 1
        assert chain.verify(db).ok and chain.verify(db).unsealed == 0
    engine.dispose()
