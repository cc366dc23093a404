"""Idempotency keys through the service on both databases: batches, repeats and races."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.db import make_engine, make_session_factory
from ketaflow.errors import Conflict, KetaflowError, ValidationFailed
from ketaflow.infusions import service
from ketaflow.infusions.models import IdempotentRequest
from tests.support.factories import make_user


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def user_id(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        user = make_user(db)
        db.commit()
        return user.id


def stored_keys(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        return int(db.scalar(select(func.count()).select_from(IdempotentRequest)) or 0)


def test_a_batch_runs_each_new_key_once(factory: sessionmaker[Session]) -> None:
    uid = user_id(factory)
    with factory() as db:
        service.run_once(db, user_id=uid, key="done", request_fingerprint="f-done",
                         status_code=201, call=lambda: {"n": 0})
        db.commit()
    keys_and_fingerprints = [("a", "f-a"), ("done", "f-done"), ("a", "f-a"), ("a", "f-other"),
                             (None, "f-none"), ("x" * 129, "f")]
    requests = [service.KeyedRequest(uid, key, fp) for key, fp in keys_and_fingerprints]
    ran: list[int] = []

    def call(positions: list[int]) -> list[dict[str, Any] | KetaflowError]:
        ran.extend(positions)
        return [{"n": position} for position in positions]

    with factory() as db:
        answers = service.run_many(db, requests, 201, call)
        db.commit()
    assert ran == [0, 4]  # the new key once, and the request without a key
    first, done, repeat, reused, no_key, too_long = answers
    assert isinstance(first, service.StoredResponse) and first.body == {"n": 0}
    assert not first.replayed
    assert isinstance(done, service.StoredResponse) and done.replayed and done.body == {"n": 0}
    assert isinstance(repeat, service.StoredResponse) and repeat.replayed
    assert repeat.body == first.body
    assert isinstance(reused, ValidationFailed) and reused.field == "Idempotency-Key"
    assert isinstance(no_key, service.StoredResponse) and no_key.body == {"n": 4}
    assert isinstance(too_long, ValidationFailed)
    assert stored_keys(factory) == 2  # "done" and "a"


def test_a_racing_duplicate_is_stored_once(factory: sessionmaker[Session]) -> None:
    """The second of two identical requests in flight together never applies its change: it
    waits for the first, then is refused (409) or answered from the first's response."""
    uid = user_id(factory)
    first_db = factory()
    service.run_once(first_db, user_id=uid, key="k", request_fingerprint="f",
                     status_code=201, call=lambda: {"by": "first"})
    outcome: list[object] = []

    def second() -> None:
        with factory() as db:
            try:
                outcome.append(service.run_once(db, user_id=uid, key="k", request_fingerprint="f",
                                                status_code=201, call=lambda: {"by": "second"}))
                db.commit()
            except Conflict as error:
                outcome.append(error)

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(timeout=0.5)  # it is waiting for the first transaction
    first_db.commit()
    first_db.close()
    racer.join(timeout=30)
    assert not racer.is_alive()
    [answer] = outcome
    assert isinstance(answer, Conflict) or (
        isinstance(answer, service.StoredResponse) and answer.replayed
        and answer.body == {"by": "first"})
    assert stored_keys(factory) == 1
