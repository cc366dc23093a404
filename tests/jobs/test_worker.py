"""The delivery worker against a real SMTP server (aiosmtpd) on both databases: exactly one
mail per row with racing workers, leases, backoff, cancellation, not_before, attachments."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Settings, load_settings
from ketaflow.db import make_engine, make_session_factory, transaction, utcnow
from ketaflow.jobs import service, worker
from ketaflow.jobs.models import Channel, OutboxStatus
from ketaflow.jobs.senders import SmtpSender, message_id
from ketaflow.jobs.service import Attachment
from tests.jobs.conftest import Enqueue, stored
from tests.support.aio import run_async
from tests.support.outbox import CONFIG, deliver
from tests.support.smtp import Mailbox

LEASE = CONFIG.lease


def _events(factory: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with transaction(factory) as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_two_workers_racing_send_each_message_exactly_once(
        db_url: str, factory: sessionmaker[Session], put: Enqueue, smtp_server: Mailbox,
        mail_settings: Settings) -> None:
    ids = [put(to_address=f"p{i}@example.org") for i in range(24)]
    small_rounds = worker.WorkerConfig(lease=LEASE, batch=3, retry_base=timedelta(seconds=60))
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def work(name: str) -> None:
        engine = make_engine(db_url, connections=1)  # a server process of its own
        try:
            sessions = make_session_factory(engine)
            go.wait()
            while True:
                result = worker.run_once(sessions, {Channel.EMAIL: SmtpSender(mail_settings)},
                                         small_rounds, worker=name, planners=[])
                if result.sent == 0:
                    break
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    received = sorted(str(m["To"]) for m in smtp_server.messages)
    assert received == sorted(f"p{i}@example.org" for i in range(24))  # each once, none lost
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 24
    rows = [stored(factory, i) for i in ids]
    assert all(r.status is OutboxStatus.SENT and r.attempts == 1 for r in rows)
    assert all(r.claimed_by is None and r.sent_at is not None for r in rows)
    sent_events = _events(factory, "outbox.sent")
    assert sorted(int(e.entity_id or 0) for e in sent_events) == sorted(ids)
    # Ids only in the audit detail: no address, no text.
    assert not any("example.org" in e.detail or "Hello" in e.detail for e in sent_events)


def test_a_claim_whose_worker_died_is_sent_after_its_lease(
        db_url: str, factory: sessionmaker[Session], put: Enqueue, smtp_server: Mailbox,
        mail_settings: Settings) -> None:
    message_id_ = put()
    now = utcnow()
    with transaction(factory) as db:  # a worker claims it, then its process is killed
        dead = service.claim_next(db, worker_id="dead-worker", now=now, lease=LEASE,
                                  channels={Channel.EMAIL})
    assert dead is not None and dead.message.id == message_id_
    # While the lease runs, nobody else sends it.
    assert deliver(db_url, mail_settings, at=now + LEASE - timedelta(seconds=1)).sent == 0
    assert smtp_server.messages == []
    assert deliver(db_url, mail_settings, at=now + LEASE + timedelta(seconds=1)).sent == 1
    (mail,) = smtp_server.messages
    row = stored(factory, message_id_)
    assert row.status is OutboxStatus.SENT and row.attempts == 2
    assert mail["Message-ID"] == message_id(row, "example.org")
    # The dead worker, were it to wake up, cannot record anything over the new outcome.
    with transaction(factory) as db:
        assert not service.mark_sent(db, dead, now=utcnow())
        assert service.mark_failed(db, dead, now=utcnow(), error="late",
                                   retry_base=timedelta(seconds=1)) is None
    assert stored(factory, message_id_).status is OutboxStatus.SENT


def test_a_crash_between_acceptance_and_record_resends_with_the_same_message_id(
        db_url: str, factory: sessionmaker[Session], put: Enqueue, smtp_server: Mailbox,
        mail_settings: Settings) -> None:
    """The at-least-once edge docs/jobs.md admits: recognisable, not silent."""
    put()
    now = utcnow()
    with transaction(factory) as db:
        claim = service.claim_next(db, worker_id="crashes", now=now, lease=LEASE,
                                   channels={Channel.EMAIL})
    assert claim is not None
    SmtpSender(mail_settings).send(claim.message)  # accepted; the process dies before marking
    assert deliver(db_url, mail_settings, at=now + LEASE + timedelta(seconds=1)).sent == 1
    first, second = smtp_server.messages
    assert first["Message-ID"] == second["Message-ID"]


def test_smtp_down_is_retried_with_backoff_then_failed(
        db_url: str, factory: sessionmaker[Session], put: Enqueue, tmp_path: Path) -> None:
    down = load_settings(var_dir=tmp_path, secret_key="s" * 48, smtp_host="127.0.0.1",
                         smtp_port=1)
    message = put(max_attempts=3, to_address="someone@example.org")
    t0 = utcnow()
    assert deliver(db_url, down, at=t0).deferred == 1
    row = stored(factory, message)
    assert row.status is OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == t0 + timedelta(seconds=60)
    assert deliver(db_url, down, at=t0 + timedelta(seconds=59)).deferred == 0  # not yet due
    t1 = t0 + timedelta(seconds=61)
    assert deliver(db_url, down, at=t1).deferred == 1
    assert stored(factory, message).next_attempt_at == t1 + timedelta(seconds=120)
    assert deliver(db_url, down, at=t1 + timedelta(seconds=121)).failed == 1
    row = stored(factory, message)
    assert row.status is OutboxStatus.FAILED and row.attempts == 3
    assert row.last_error == "ConnectionRefusedError" and "example.org" not in row.last_error
    assert deliver(db_url, down, at=t1 + timedelta(days=2)).deferred == 0  # given up for good
    (failed,) = _events(factory, "outbox.failed")
    assert len(_events(factory, "outbox.deferred")) == 2
    assert "example.org" not in failed.detail and '"attempt":3' in failed.detail


def test_a_refusing_server_is_recorded_by_its_code_only(
        db_url: str, factory: sessionmaker[Session], put: Enqueue, smtp_server: Mailbox,
        mail_settings: Settings) -> None:
    smtp_server.refuse_with = "451 4.3.0 mailbox of someone@example.org is busy"
    message = put(to_address="someone@example.org")
    assert deliver(db_url, mail_settings).deferred == 1
    assert stored(factory, message).last_error == "SMTP 451"
    smtp_server.refuse_with = ""
    assert deliver(db_url, mail_settings, at=utcnow() + timedelta(minutes=2)).sent == 1
    assert len(smtp_server.messages) == 1


def test_cancelled_messages_are_not_sent(db_url: str, factory: sessionmaker[Session],
                                         put: Enqueue, smtp_server: Mailbox,
                                         mail_settings: Settings) -> None:
    put(key="mood-reminder:7:2026-12-02:1")
    kept = put(key="mood-reminder:8:2026-12-02:1")
    with transaction(factory) as db:
        assert service.cancel_pending(db, dedupe_key_prefix="mood-reminder:7:") == 1
    assert deliver(db_url, mail_settings).sent == 1
    (mail,) = smtp_server.messages
    assert mail["Message-ID"] == message_id(stored(factory, kept), "example.org")


def test_not_before_is_respected(db_url: str, factory: sessionmaker[Session], put: Enqueue,
                                 smtp_server: Mailbox, mail_settings: Settings) -> None:
    later = utcnow() + timedelta(hours=3)
    message = put(not_before=later)
    assert deliver(db_url, mail_settings, at=later - timedelta(seconds=1)).sent == 0
    assert smtp_server.messages == []
    assert deliver(db_url, mail_settings, at=later).sent == 1
    assert stored(factory, message).sent_at == later


def test_an_attachment_arrives_intact(db_url: str, put: Enqueue, smtp_server: Mailbox,
                                      mail_settings: Settings) -> None:
    invitation = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
                  "SUMMARY:Rendez-vous à la clinique\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    put(attachments=[Attachment("visit.ics", "text/calendar; method=REQUEST", invitation)])
    assert deliver(db_url, mail_settings).sent == 1
    (mail,) = smtp_server.messages
    parts = [p for p in mail.walk() if p.get_filename() == "visit.ics"]
    assert len(parts) == 1
    assert parts[0].get_content_type() == "text/calendar"
    assert parts[0].get_param("method") == "REQUEST"
    assert parts[0].get_payload(decode=True).decode() == invitation
    body = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    assert body.get_payload(decode=True).decode().strip() == "Hello from the clinic."


def test_without_a_sender_messages_wait(db_url: str, factory: sessionmaker[Session],
                                        put: Enqueue, tmp_path: Path) -> None:
    message = put()
    no_mail = load_settings(var_dir=tmp_path, secret_key="s" * 48)
    assert deliver(db_url, no_mail).sent == 0
    row = stored(factory, message)
    assert row.status is OutboxStatus.PENDING and row.attempts == 0


def test_a_last_attempt_lost_with_its_worker_is_failed(
        db_url: str, factory: sessionmaker[Session], put: Enqueue,
        mail_settings: Settings) -> None:
    message = put(max_attempts=1)
    now = utcnow()
    with transaction(factory) as db:
        assert service.claim_next(db, worker_id="dies", now=now, lease=LEASE,
                                  channels={Channel.EMAIL}) is not None
    assert deliver(db_url, mail_settings, at=now + LEASE + timedelta(seconds=1)).failed == 1
    row = stored(factory, message)
    assert row.status is OutboxStatus.FAILED and row.last_error == "claim expired"


def test_planners_run_each_round_in_their_own_transaction(
        db_url: str, factory: sessionmaker[Session], smtp_server: Mailbox,
        mail_settings: Settings) -> None:
    def plan(db: Session, now: object) -> int:
        service.enqueue(db, dedupe_key="planned:1", purpose="test", channel=Channel.EMAIL,
                        to_address="planned@example.org", subject="s", body_text="b")
        return 1

    def broken(db: Session, now: object) -> int:
        raise RuntimeError("a bug in a planner")

    result = worker.run_once(factory, {Channel.EMAIL: SmtpSender(mail_settings)}, CONFIG,
                             worker="w", planners=[broken, plan])
    assert result.planned == 1 and result.planner_errors == ["RuntimeError"]
    assert result.sent == 1 and [str(m["To"]) for m in smtp_server.messages] == [
        "planned@example.org"]
    with transaction(factory) as db:  # the same key planned again is the same message
        assert plan(db, None) == 1
        assert db.scalar(select(func.count()).select_from(service.OutboxMessage)) == 1


@given(attempt=st.integers(min_value=1, max_value=200),
       base_s=st.integers(min_value=1, max_value=86400))
def test_backoff_doubles_from_the_base_and_never_exceeds_a_day(attempt: int,
                                                               base_s: int) -> None:
    base = timedelta(seconds=base_s)
    delay = service.retry_delay(attempt, base=base)
    assert service.retry_delay(1, base=base) == base
    assert delay <= service.MAX_RETRY_DELAY
    assert service.retry_delay(attempt + 1, base=base) >= delay
    if delay < service.MAX_RETRY_DELAY:
        assert delay == base * 2 ** (attempt - 1)


def test_shutdown_waits_at_most_a_lease_for_a_hung_send(factory: sessionmaker[Session],
                                                        put: Enqueue) -> None:
    """A mail server that never answers does not hold the server's shutdown beyond a lease;
    the message stays claimed and is retried by a later round once its lease expires."""
    message = put()
    entered, release = threading.Event(), threading.Event()

    class HungSender:
        channel = Channel.EMAIL

        def send(self, _message: object) -> None:
            entered.set()
            release.wait(60)

    config = worker.WorkerConfig(lease=timedelta(seconds=1), batch=5,
                                 retry_base=timedelta(seconds=60))
    outbox = worker.Outbox(factory, {Channel.EMAIL: HungSender()}, config, interval_s=3600,
                           planners=[])

    async def scenario() -> tuple[bool, OutboxStatus, int, bool]:
        outbox.start()
        running = outbox._task  # to let the hung round finish before the test ends
        await asyncio.to_thread(entered.wait, 30)
        await outbox.stop()
        stopped_while_sending = not release.is_set()
        row = stored(factory, message)
        release.set()
        # The hung send finishes in the end, unclaimed by anyone else: its outcome stands.
        # (Waited for, so its thread is done with the database before the test ends.)
        deadline = time.monotonic() + 30
        while (stored(factory, message).status is not OutboxStatus.SENT
               and time.monotonic() < deadline):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        return (stopped_while_sending, row.status, row.attempts,
                running is not None and running.done())

    try:
        stopped_while_sending, status, attempts, finished = run_async(scenario())
    finally:
        release.set()
    assert stopped_while_sending and finished
    assert status is OutboxStatus.SENDING and attempts == 1  # claimed, retried after its lease
    assert stored(factory, message).status is OutboxStatus.SENT


def test_a_sweep_planner_runs_at_most_once_per_period() -> None:
    from datetime import UTC, datetime, timedelta

    from ketaflow.jobs.worker import AtMostEvery

    calls: list[datetime] = []

    def sweep(_db: object, at: datetime) -> int:
        calls.append(at)
        return 1

    every = AtMostEvery(900, sweep)  # type: ignore[arg-type]
    start = datetime(2027, 1, 4, tzinfo=UTC)
    ran = [every(None, start + timedelta(seconds=s)) for s in (0, 5, 899, 900, 1000, 1800)]  # type: ignore[arg-type]
    assert ran == [1, 0, 0, 1, 0, 1]
    assert calls == [start, start + timedelta(seconds=900), start + timedelta(seconds=1800)]
