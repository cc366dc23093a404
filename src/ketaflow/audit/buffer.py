"""Audit events of traffic anyone can cause, counted in memory and written in batches.

Refused requests, portal link opens and failed sign-ins can arrive by the thousand from one
address. Written one row and one transaction each, they would flood the trail and queue for the
database's write lock ahead of clinical work. Here identical events (same actor, address,
action, entity, outcome and detail, whatever the request) are counted, and a background task
writes one event per kind with its count, first and last time, about once a second. The
buffer is bounded: past `max_kinds` distinct kinds, further events are only counted in one
overflow event.

What a crash loses: at most the last interval's counts (never a clinical record: those are
audited in their own transaction). docs/audit-trail.md says so too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ketaflow.audit import keys
from ketaflow.audit.service import AuditContext, EventSpec, Outcome, record_events
from ketaflow.db import transaction, utcnow

OVERFLOW_ACTION = "audit.buffer_overflow"


@dataclass
class _Tally:
    spec: EventSpec
    count: int
    first_at: datetime
    last_at: datetime


class AuditBuffer:
    def __init__(self, max_kinds: int = 2000) -> None:
        self._max_kinds = max_kinds
        self._tallies: dict[tuple[object, ...], _Tally] = {}
        self._overflow = 0
        self._retry: list[EventSpec] = []  # drained but not written (the database was down)
        # Held only for a dictionary update, never while waiting for anything else.
        self._lock = threading.Lock()
        # Serialises flushes (the background task, shutdown, tests); never taken by a request.
        self._flushing = threading.Lock()

    def add(self, spec: EventSpec) -> None:
        # Not the request id: every request has its own. The event keeps the first one's.
        ctx = spec.ctx
        key = (ctx.actor_user_id, ctx.actor_username, ctx.actor_role, ctx.client_address,
               spec.action, spec.entity_type, spec.entity_id, spec.outcome,
               keys.canonical_json(spec.detail or {}))
        now = utcnow()
        with self._lock:
            tally = self._tallies.get(key)
            if tally is not None:
                tally.count += 1
                tally.last_at = now
            elif len(self._tallies) < self._max_kinds:
                self._tallies[key] = _Tally(spec, 1, now, now)
            else:
                self._overflow += 1

    def drain(self) -> list[EventSpec]:
        """Take everything counted so far, as events carrying their counts."""
        with self._lock:
            tallies, self._tallies = list(self._tallies.values()), {}
            overflow, self._overflow = self._overflow, 0
            retry, self._retry = self._retry, []
        specs = retry + [replace(t.spec, detail={**(t.spec.detail or {}), "count": t.count,
                                         "first_at": t.first_at.isoformat(timespec="seconds"),
                                         "last_at": t.last_at.isoformat(timespec="seconds")})
                 for t in tallies]
        if overflow:
            system = AuditContext(None, "system", "system")
            specs.append(EventSpec(system, OVERFLOW_ACTION, "audit", None, Outcome.FAILURE,
                                   {"count": overflow}))
        return specs

    def flush(self, factory: sessionmaker[Session]) -> int:
        """Write what was counted in one transaction; on failure the counts are kept. Flushes
        run one at a time, so when one returns, everything counted before it is written."""
        with self._flushing:
            specs = self.drain()
            if not specs:
                return 0
            try:
                with transaction(factory) as db:
                    record_events(db, specs)
            except Exception:
                with self._lock:  # kept for the next attempt, within the same bound
                    self._retry = (specs + self._retry)[: self._max_kinds]
                raise
            return len(specs)
