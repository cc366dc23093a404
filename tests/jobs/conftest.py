"""Outbox fixtures: a committed database to deliver from, and messages put in it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.config import Settings, load_settings
from ketaflow.db import make_engine, make_session_factory, transaction
from ketaflow.jobs import service
from ketaflow.jobs.models import Channel, OutboxMessage
from tests.support.smtp import Mailbox

Enqueue = Callable[..., int]


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test's fresh database; each `transaction` commits, as a server's."""
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def put(factory: sessionmaker[Session]) -> Enqueue:
    """Enqueue and commit one message; returns its id."""
    counter = iter(range(1, 10_000))

    def _put(*, key: str | None = None, channel: Channel = Channel.EMAIL,
             to_address: str = "patient@example.org", not_before: datetime | None = None,
             max_attempts: int = 5, **extra: object) -> int:
        with transaction(factory) as db:
            message = service.enqueue(
                db, dedupe_key=key or f"test:{next(counter)}", purpose="test",
                channel=channel, to_address=to_address, subject="From your clinic",
                body_text="Hello from the clinic.", not_before=not_before,
                max_attempts=max_attempts, **extra)  # type: ignore[arg-type]
            db.flush()
            return message.id
    return _put


@pytest.fixture
def mail_settings(tmp_path: Path, smtp_server: Mailbox) -> Settings:
    return load_settings(var_dir=tmp_path, secret_key="s" * 48, smtp_host=smtp_server.host,
                         smtp_port=smtp_server.port, smtp_from="clinic@example.org")


def stored(factory: sessionmaker[Session], message_id: int) -> OutboxMessage:
    with transaction(factory) as db:
        message = db.get(OutboxMessage, message_id)
        assert message is not None
        return message
