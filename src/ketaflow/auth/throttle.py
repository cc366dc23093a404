"""Counting attempts at a secret (password, second factor) so guessing stops at a limit.

Each attempt is counted before the secret is checked, by one INSERT ... ON CONFLICT DO UPDATE
... RETURNING per key: the database hands every concurrent attempt its own number, so twenty
parallel guesses against a limit of five get 1..20 and only five are checked, whatever the
number of servers (a count-then-insert lets them all through together). A success gives the
attempt back. Services never commit; the caller decides which transaction counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketaflow.auth.models import ThrottleCounter
from ketaflow.db import utcnow


@dataclass(frozen=True)
class Limit:
    key: str
    max_attempts: int


def count_attempt(session: Session, limits: Sequence[Limit], window: timedelta) -> bool:
    """Count one attempt against every limit; True if any is now exceeded."""
    now = utcnow()
    exceeded = False
    for limit in limits:
        exceeded |= _increment(session, limit.key, now, now - window) > limit.max_attempts
    return exceeded


def _increment(session: Session, key: str, now: datetime, window_start: datetime) -> int:
    counter = ThrottleCounter
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    expired = counter.window_started_at < window_start
    upsert = insert(counter).values(key=key, window_started_at=now, attempts=1)
    statement = upsert.on_conflict_do_update(
        index_elements=[counter.key],
        set_={"attempts": case((expired, 1), else_=counter.attempts + 1),
              "window_started_at": case((expired, now), else_=counter.window_started_at)},
    ).returning(counter.attempts)
    return int(session.execute(statement).scalar_one())


def forgive(session: Session, *, reset: Sequence[str] = (), give_back: Sequence[str] = ()) -> None:
    """After a success: clear the `reset` keys, and take this attempt off the `give_back`
    keys (an account's total is not cleared, or a guesser elsewhere would start afresh)."""
    if reset:
        session.execute(delete(ThrottleCounter).where(ThrottleCounter.key.in_(reset)))
    if give_back:
        session.execute(update(ThrottleCounter)
                        .where(ThrottleCounter.key.in_(give_back), ThrottleCounter.attempts > 0)
                        .values(attempts=ThrottleCounter.attempts - 1))


def purge_expired(session: Session, *, window_s: float) -> None:
    """Drop counters whose window has passed (guesses with made-up names leave many)."""
    cutoff = utcnow() - timedelta(seconds=window_s)
    session.execute(delete(ThrottleCounter).where(ThrottleCounter.window_started_at < cutoff))
