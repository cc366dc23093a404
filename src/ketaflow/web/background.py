"""What each server process does beside requests, about once a second: write the audit
buffer, seal committed audit events (one sealer per database wins each round), record a
checkpoint of the chain every minute, and purge expired sign-in counters and old form
submission keys.

It runs in its own thread with its own connection (`engine` of one connection, its own thread
limiter), so it never waits for, or holds, anything a request needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import anyio
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.audit.buffer import AuditBuffer
from ketaflow.audit.worker import seal_once
from ketaflow.auth import throttle
from ketaflow.db import transaction
from ketaflow.web import submissions

log = logging.getLogger("ketaflow.web")

INTERVAL_S = 1.0
CHECKPOINT_EVERY_S = 60.0
PURGE_EVERY_S = 300.0


class Background:
    def __init__(self, factory: sessionmaker[Session], buffer: AuditBuffer,
                 checkpoint_file: Path, throttle_window_s: float) -> None:
        self.factory = factory
        self.buffer = buffer
        self.checkpoint_file = checkpoint_file
        self.throttle_window_s = throttle_window_s
        self._limiter = anyio.CapacityLimiter(1)
        self._last_checkpoint = 0.0
        self._last_purge = time.monotonic()
        self._warned: set[int] = set()  # refused events already logged

    async def run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL_S)
            await self.tick()

    async def tick(self, *, checkpoint: bool = False) -> None:
        """One round; failures are logged and retried next round (a database restart)."""
        try:
            await anyio.to_thread.run_sync(self._work, checkpoint, limiter=self._limiter)
        except Exception as error:  # keep serving; the next round tries again
            log.warning("background audit round failed (%s)", type(error).__name__)

    def _work(self, force_checkpoint: bool) -> None:
        self.buffer.flush(self.factory)
        now = time.monotonic()
        checkpoint = force_checkpoint or now - self._last_checkpoint >= CHECKPOINT_EVERY_S
        result = seal_once(self.factory, self.checkpoint_file, checkpoint=checkpoint)
        if checkpoint and result.elected:
            self._last_checkpoint = now
        for event_id in set(result.refused) - self._warned:
            log.error("audit event %d fails its MAC check: not sealed (run ketaflow audit "
                      "verify)", event_id)
            self._warned.add(event_id)
        if now - self._last_purge >= PURGE_EVERY_S:
            with transaction(self.factory) as db:
                throttle.purge_expired(db, window_s=self.throttle_window_s)
                submissions.purge_expired(db)
            self._last_purge = now

    async def finish(self) -> None:
        """At shutdown: write what is buffered and seal it, so nothing waits for a restart."""
        await self.tick(checkpoint=True)
