"""The delivery worker: each round runs the planners, then claims, sends and records due
messages one at a time (docs/jobs.md).

Per message: a short transaction claims it (status sending, a lease), COMMIT; the sender then
talks to the mail server outside any transaction; a second short transaction records the
outcome, only if the claim is still this worker's. Claiming one message at a time gives each
its whole lease, however slow the ones before it were.

`Outbox` runs rounds in each server process off the request path, in its own thread with its
own one-connection engine, beside (not inside) the audit Background: a slow mail server never
delays audit sealing, and no request waits for either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.config import Settings
from ketaflow.db import transaction, utcnow
from ketaflow.jobs import service
from ketaflow.jobs.models import Channel, OutboxStatus
from ketaflow.jobs.senders import DeliveryFailed, Sender

log = logging.getLogger("ketaflow.jobs")

# Callables run at the start of every round, each in its own transaction, to enqueue what has
# become due (reminders register `plan_due(db, now)`); each returns how many it enqueued. The
# app factory and the CLI (composition roots) fill this list; domains do not import the worker.
Planner = Callable[[Session, datetime], int]


class AtMostEvery:
    """A planner run at most once per `seconds` in this process (a sweep over every patient
    need not run each delivery round; what it raises is idempotent, so several processes
    running it in the same minute store nothing twice)."""

    def __init__(self, seconds: float, planner: Planner) -> None:
        self.seconds, self.planner = seconds, planner
        self.__name__ = getattr(planner, "__name__", "planner")
        self._last: datetime | None = None

    def __call__(self, db: Session, at: datetime) -> int:
        if self._last is not None and (at - self._last).total_seconds() < self.seconds:
            return 0
        self._last = at
        return self.planner(db, at)
def worker_id() -> str:
    """This process, told apart from every other server: host, pid and a random part (a pid
    is reused after a restart; the random part makes an old claim never look like ours)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class WorkerConfig:
    lease: timedelta
    batch: int
    retry_base: timedelta

    @classmethod
    def of(cls, settings: Settings) -> WorkerConfig:
        return cls(timedelta(seconds=settings.outbox_lease_seconds), settings.outbox_batch,
                   timedelta(seconds=settings.outbox_retry_seconds))


@dataclass
class RoundResult:
    planned: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    lost: int = 0  # claims that expired before their outcome was recorded
    planner_errors: list[str] = field(default_factory=list)


def run_once(factory: sessionmaker[Session], senders: Mapping[Channel, Sender],
             config: WorkerConfig, *, worker: str, planners: list[Planner] | None = None,
             stop: threading.Event | None = None, now: Callable[[], datetime] = utcnow
             ) -> RoundResult:
    """One round: planners, then up to `config.batch` messages. Returns what happened."""
    result = RoundResult()
    for planner in planners or ():
        try:
            with transaction(factory) as db:
                result.planned += planner(db, now())
        except Exception as error:  # one failing planner must not stop delivery
            log.warning("outbox planner %s failed (%s)", getattr(planner, "__name__", "?"),
                        type(error).__name__)
            result.planner_errors.append(type(error).__name__)
    if not senders:  # nothing can be sent: no write transaction every round for nothing
        return result
    with transaction(factory) as db:
        result.failed += service.give_up_exhausted(db, now=now())
    for _ in range(config.batch):
        if stop is not None and stop.is_set():
            break
        with transaction(factory) as db:
            claim = service.claim_next(db, worker_id=worker, now=now(), lease=config.lease,
                                       channels=set(senders))
        if claim is None:
            break
        _deliver(factory, senders[claim.message.channel], claim, config, result, now)
    return result


def _deliver(factory: sessionmaker[Session], sender: Sender, claim: service.Claim,
             config: WorkerConfig, result: RoundResult, now: Callable[[], datetime]) -> None:
    """Send outside any transaction, then record the outcome in a new short one."""
    error: str | None = None
    try:
        sender.send(claim.message)
    except DeliveryFailed as failure:
        error = failure.kind
    except Exception as failure:  # a sender's bug: the message is retried, the kind recorded
        error = type(failure).__name__
    with transaction(factory) as db:
        if error is None:
            if service.mark_sent(db, claim, now=now()):
                result.sent += 1
            else:
                result.lost += 1
            return
        status = service.mark_failed(db, claim, now=now(), error=error,
                                     retry_base=config.retry_base)
    if status is None:
        result.lost += 1
    elif status is OutboxStatus.FAILED:
        result.failed += 1
        log.warning("outbox message %d failed for good (%s)", claim.message.id, error)
    else:
        result.deferred += 1


class Outbox:
    """Delivery rounds in a running server, every `interval_s`, in a thread of its own."""

    def __init__(self, factory: sessionmaker[Session], senders: Mapping[Channel, Sender],
                 config: WorkerConfig, *, interval_s: float,
                 planners: list[Planner] | None = None) -> None:
        self.factory = factory
        self.senders = senders
        self.config = config
        self.interval_s = interval_s
        self.planners = planners or []
        self.worker = worker_id()
        self._limiter = anyio.CapacityLimiter(1)  # its own: never a request's thread
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def configured_channels(self) -> frozenset[Channel]:
        return frozenset(self.senders)

    def start(self) -> None:
        """Start the rounds (in the server's lifespan, on its event loop)."""
        self._stop.clear()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

    async def tick(self) -> RoundResult | None:
        """One round; a failure (database restart) is logged and retried next round."""
        try:
            return await anyio.to_thread.run_sync(self._round, limiter=self._limiter)
        except Exception as error:
            log.warning("outbox round failed (%s)", type(error).__name__)
            return None

    def _round(self) -> RoundResult:
        return run_once(self.factory, self.senders, self.config, worker=self.worker,
                        planners=self.planners, stop=self._stop)

    async def stop(self) -> None:
        """At shutdown: no new message is claimed; the one being sent may finish, for at
        most a lease. One still unrecorded then is sent again by a later round (docs/jobs.md)."""
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        self._wake.set()
        # asyncio.wait, not wait_for: on time-out it leaves the thread alone instead of
        # waiting for it to notice a cancellation.
        done, _ = await asyncio.wait({task}, timeout=self.config.lease.total_seconds())
        if not done:
            log.warning("outbox round still sending at shutdown; its message is retried "
                        "after its lease")
            task.cancel()
