"""Admission control: a bounded number of requests in progress, a bounded queue, a bounded wait.

Without it a burst of requests queues without limit for worker threads and connections, and
every one of them eventually times out. Here at most `max_active` requests are served at once
per process; up to `max_waiting` more wait (first come, first served) for at most
`max_wait_s`; beyond that the answer is at once 503 with Retry-After, which clients and proxies
understand as "back off and retry". The health check is never queued: it must answer while the
server is saturated (`EXEMPT_PATHS`).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PATHS = frozenset({"/healthz"})
RETRY_AFTER_S = 2


@dataclass
class _Gate:
    slots: asyncio.Semaphore
    waiting: int = 0
    refused: int = field(default=0)


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, *, max_active: int, max_waiting: int,
                 max_wait_s: float) -> None:
        self.app = app
        self.max_active = max_active
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        # One gate per event loop (each uvicorn worker has one; tests may run several).
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = (
            weakref.WeakKeyDictionary())

    def gate(self) -> _Gate:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = _Gate(asyncio.Semaphore(self.max_active))
        return gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        gate = self.gate()
        if not await self._admit(gate):
            gate.refused += 1
            await _overloaded(scope, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.slots.release()

    async def _admit(self, gate: _Gate) -> bool:
        if not gate.slots.locked():
            await gate.slots.acquire()  # a free slot: returns at once
            return True
        if gate.waiting >= self.max_waiting:
            return False
        gate.waiting += 1
        try:
            await asyncio.wait_for(gate.slots.acquire(), self.max_wait_s)
        except TimeoutError:
            return False
        finally:
            gate.waiting -= 1
        return True


async def _overloaded(scope: Scope, send: Send) -> None:
    api = scope["path"].startswith("/api/")
    if api:
        body = (b'{"type":"about:blank","title":"Busy","status":503,'
                b'"detail":"The server is busy; please retry after a moment."}')
        content_type = b"application/problem+json"
    else:
        body = (b"<!doctype html><title>Busy</title><h1>The server is busy</h1>"
                b"<p>Please try again in a moment.</p>")
        content_type = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
