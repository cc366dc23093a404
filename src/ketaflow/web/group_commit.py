"""Group commit: small writes from concurrent requests share one transaction and one commit.

Monitor gateways and a busy clinic post many small writes at once. Written one transaction
each, every write pays for its own durable commit. Here the first request starts a writer;
requests that arrive while it is busy wait for its next batch, which takes them all. There is
no timer, so an idle server writes a lone request at once. A request is answered only after
its batch committed.

A refusal of one request (a bad reading, a replayed key) is that request's answer and does not
touch the others. If a batch fails as a whole (a database error, a key in flight elsewhere),
nothing of it is kept and each request is written alone, so one request never fails another;
when the database itself is busy or unreachable every request gets that error at once (503).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.db import database_busy
from ketaflow.errors import ServiceBusy

log = logging.getLogger("ketaflow.web")

T = TypeVar("T")
R = TypeVar("R")
# What a batch write returns for each item: its answer, or the exception to raise for it.
WriteBatch = Callable[[Session, list[T]], Sequence[R | Exception]]


@dataclass
class _Queue(Generic[T, R]):
    waiting: list[tuple[T, asyncio.Future[R]]] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        write: WriteBatch[T, R],
        *,
        max_batch: int = 256,
        max_waiting: int = 2048,
    ) -> None:
        self._session_factory = session_factory
        self._write = write
        self._max_batch = max_batch
        # Admission control already bounds the requests in flight; this bound holds even so.
        self._max_waiting = max_waiting
        # One queue per event loop: each uvicorn worker has one; tests may start several.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[T, R]] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: T) -> R:
        """Write `item` with whatever else is waiting; return its answer or raise its error."""
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _Queue())
        if len(queue.waiting) >= self._max_waiting:
            raise ServiceBusy("too many writes are waiting; retry in a moment")
        future: asyncio.Future[R] = loop.create_future()
        queue.waiting.append((item, future))
        if queue.writer is None or queue.writer.done():
            queue.writer = loop.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _Queue[T, R]) -> None:
        while queue.waiting:
            batch = queue.waiting[: self._max_batch]
            del queue.waiting[: self._max_batch]
            try:
                answers = await run_in_threadpool(self._write_batch, [item for item, _ in batch])
            except asyncio.CancelledError:  # shutting down: no request may wait for ever
                _settle(batch, [RuntimeError("the server stopped during the write")] * len(batch))
                raise
            except Exception as error:  # `_write_batch` answers errors itself; a last guard
                answers = [error] * len(batch)
            _settle(batch, answers)

    def _write_batch(self, items: list[T]) -> Sequence[R | Exception]:
        try:
            return self._committed(items)
        except Exception as error:
            if database_busy(error):
                # The database is busy or gone, not one item at fault: writing each alone
                # would only wait that much longer. Every request gets the error (503, retry).
                return [error] * len(items)
            if len(items) == 1:
                return [error]
            log.warning(
                "a batch of %d writes failed (%s); writing each alone",
                len(items),
                type(error).__name__,
            )
        return [self._alone(item) for item in items]

    def _alone(self, item: T) -> R | Exception:
        try:
            return self._committed([item])[0]
        except Exception as error:
            return error

    def _committed(self, items: list[T]) -> Sequence[R | Exception]:
        with self._session_factory() as db:  # closing rolls back whatever did not commit
            answers = self._write(db, items)
            db.commit()
            return answers


def _settle(batch: list[tuple[T, asyncio.Future[R]]], answers: Sequence[R | Exception]) -> None:
    for (_, future), answer in zip(batch, answers, strict=True):
        if future.done():  # the client went away; its write stands (a retry gets it back)
            continue
        if isinstance(answer, Exception):
            future.set_exception(answer)
        else:
            future.set_result(answer)
