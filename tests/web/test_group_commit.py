"""Group commit on both databases: concurrent writes share a transaction, each gets its own
answer, and one bad write never costs the others theirs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.audit.models import AuditEvent
from ketaflow.audit.service import EventSpec, record_events
from ketaflow.db import make_engine, make_session_factory
from ketaflow.errors import ValidationFailed
from ketaflow.web.group_commit import GroupCommit
from tests.support.aio import run_async
from tests.support.audit import sealed_and_verified
from tests.support.factories import SYSTEM


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


class AuditWrites:
    """Each item is an audit action to record; 'refuse' is refused, 'boom' breaks the batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, db: Session, items: list[str]) -> list[int | Exception]:
        self.batches.append(list(items))
        if "boom" in items:
            db.execute(text("SELECT * FROM no_such_table"))
        answers: list[int | Exception] = []
        accepted = []
        for item in items:
            if item == "refuse":
                answers.append(ValidationFailed("refused", field="item"))
            else:
                accepted.append(item)
                answers.append(len(accepted))
        record_events(db, [EventSpec(SYSTEM, action, "test") for action in accepted])
        return answers


def submit_all(writer: GroupCommit[str, int], items: list[str]) -> list[int | BaseException]:
    async def main() -> list[int | BaseException]:
        return await asyncio.gather(*(writer.submit(item) for item in items),
                                    return_exceptions=True)
    return run_async(main())


def stored_actions(factory: sessionmaker[Session]) -> list[str]:
    with factory() as db:
        return list(db.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "test")
                               .order_by(AuditEvent.id)))


def test_concurrent_writes_share_one_transaction(factory: sessionmaker[Session]) -> None:
    writes = AuditWrites()
    items = [f"write-{n}" for n in range(12)]
    answers = submit_all(GroupCommit(factory, writes), items)
    assert writes.batches == [items]  # one batch, in arrival order
    assert answers == list(range(1, 13))
    assert stored_actions(factory) == items
    with factory() as db:
        assert sealed_and_verified(db).ok


def test_a_refusal_answers_only_its_own_request(factory: sessionmaker[Session]) -> None:
    answers = submit_all(GroupCommit(factory, AuditWrites()), ["a", "refuse", "b"])
    assert answers[0] == 1 and answers[2] == 2
    assert isinstance(answers[1], ValidationFailed)
    assert stored_actions(factory) == ["a", "b"]


def test_a_failed_batch_is_written_again_one_by_one(factory: sessionmaker[Session]) -> None:
    writes = AuditWrites()
    answers = submit_all(GroupCommit(factory, writes), ["a", "boom", "b"])
    assert writes.batches == [["a", "boom", "b"], ["a"], ["boom"], ["b"]]
    assert answers[0] == 1 and answers[2] == 1
    assert isinstance(answers[1], DBAPIError)
    assert stored_actions(factory) == ["a", "b"]  # nothing of the failed batch kept twice


def test_batches_are_bounded_and_later_arrivals_wait_for_the_next(
        factory: sessionmaker[Session]) -> None:
    writes = AuditWrites()
    answers = submit_all(GroupCommit(factory, writes, max_batch=4), [str(n) for n in range(10)])
    assert [len(batch) for batch in writes.batches] == [4, 4, 2]
    assert answers == [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.entity_type == "test")) == 10
