"""Idempotency keys for API writes: a retried request returns the stored response unchanged.

Keys are per user. The same key with a different request body is refused (422), so a client bug
cannot silently return the wrong response. Two identical requests racing each other: the second
waits on the unique constraint and gets 409, and its retry then gets the stored response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow.errors import Conflict, KetaflowError, ValidationFailed
from ketaflow.infusions.models import IdempotentRequest
from ketaflow.infusions.service._common import now

MAX_KEY_LENGTH = 128


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def fingerprint(method: str, path: str, body: object) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class KeyedRequest:
    """Who sent a write, the Idempotency-Key it carried (if any) and its fingerprint."""

    user_id: int
    key: str | None
    fingerprint: str


def run_once(db: Session, *, user_id: int, key: str | None, request_fingerprint: str,
             status_code: int, call: Callable[[], dict[str, Any]]) -> StoredResponse:
    """Run `call` unless this key was already used; without a key, simply run it."""
    def call_one(positions: list[int]) -> list[dict[str, Any] | KetaflowError]:
        return [call() for _ in positions]
    answer = run_many(db, [KeyedRequest(user_id, key, request_fingerprint)], status_code,
                      call_one)[0]
    if isinstance(answer, KetaflowError):
        raise answer
    return answer


def run_many(db: Session, requests: Sequence[KeyedRequest], status_code: int,
             call: Callable[[list[int]], list[dict[str, Any] | KetaflowError]]
             ) -> list[StoredResponse | KetaflowError]:
    """Answer each request from its stored response, or run it: `call` gets the positions of
    the requests to run and returns a body or a refusal for each. One lookup and one insert for
    the whole batch; a key repeated within the batch is answered like a retry."""
    answers: list[StoredResponse | KetaflowError | None] = [None] * len(requests)
    stored = _stored(db, [r for r in requests if r.key is not None])
    first: dict[tuple[int, str], int] = {}
    repeats: dict[int, int] = {}
    to_run = []
    for position, request in enumerate(requests):
        if request.key is None:
            to_run.append(position)
            continue
        slot = (request.user_id, request.key)
        if (problem := _key_problem(request.key)) is not None:
            answers[position] = problem
        elif slot in stored:
            answers[position] = _replay(stored[slot], request.fingerprint)
        elif slot in first:
            repeats[position] = first[slot]
        else:
            first[slot] = position
            to_run.append(position)
    new_rows: list[dict[str, Any]] = []
    for position, body in zip(to_run, call(to_run) if to_run else [], strict=True):
        request = requests[position]
        if isinstance(body, KetaflowError):
            answers[position] = body
            continue
        answers[position] = StoredResponse(status_code, body, replayed=False)
        if request.key is not None:
            new_rows.append({"user_id": request.user_id, "key": request.key,
                             "fingerprint": request.fingerprint, "status_code": status_code,
                             "response": body, "created_at": now()})
    for position, original in repeats.items():
        answers[position] = _repeat(answers[original], requests[original].fingerprint,
                                    requests[position].fingerprint)
    _store(db, new_rows)
    return [answer for answer in answers if answer is not None]


def _key_problem(key: str) -> KetaflowError | None:
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        return ValidationFailed(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters",
                                field="Idempotency-Key")
    return None


def _stored(db: Session, requests: Sequence[KeyedRequest]
            ) -> dict[tuple[int, str], IdempotentRequest]:
    if not requests:
        return {}
    # Two plain IN lists use the unique (user_id, key) index; a row-value IN does not on
    # PostgreSQL. The few extra pairs they may match are dropped here.
    wanted = {(r.user_id, r.key) for r in requests}
    rows = db.scalars(select(IdempotentRequest).where(
        IdempotentRequest.user_id.in_({user_id for user_id, _ in wanted}),
        IdempotentRequest.key.in_({key for _, key in wanted})))
    return {(row.user_id, row.key): row for row in rows if (row.user_id, row.key) in wanted}


def _replay(stored: IdempotentRequest, request_fingerprint: str) -> StoredResponse | KetaflowError:
    if stored.fingerprint != request_fingerprint:
        return _key_reused()
    return StoredResponse(stored.status_code, stored.response, replayed=True)


def _repeat(original: StoredResponse | KetaflowError | None, original_fingerprint: str,
            request_fingerprint: str) -> StoredResponse | KetaflowError:
    if original_fingerprint != request_fingerprint:
        return _key_reused()
    if isinstance(original, StoredResponse):
        return StoredResponse(original.status_code, original.body, replayed=True)
    assert original is not None
    return original


def _key_reused() -> KetaflowError:
    return ValidationFailed("Idempotency-Key was already used for a different request",
                            field="Idempotency-Key")


def _store(db: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the new keys; one already taken means the same key is in flight elsewhere. The
    refusal spoils the transaction, which is rolled back: a retry then finds the stored answer
    (a batch is written again one request at a time, so only the clashing one is refused)."""
    if not rows:
        return
    try:  # Core, not the ORM's bulk path: these rows are never read back in this session
        db.connection().execute(_INSERT_KEYS, rows)
    except IntegrityError as error:
        raise Conflict("a request with this Idempotency-Key is being processed; retry",
                       field="Idempotency-Key") from error


_INSERT_KEYS = insert(IdempotentRequest)
