"""Idempotency keys for API writes: a retried request returns the stored response unchanged.

Keys are per user. The same key with a different request body is refused (422), so a client bug
cannot silently return the wrong response. Two identical requests racing each other: the second
waits on the unique constraint and gets 409, and its retry then gets the stored response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaflow.errors import Conflict, ValidationFailed
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


def run_once(db: Session, *, user_id: int, key: str | None, request_fingerprint: str,
             status_code: int, call: Callable[[], dict[str, Any]]) -> StoredResponse:
    """Run `call` unless this key was already used; without a key, simply run it."""
    if key is None:
        return StoredResponse(status_code, call(), replayed=False)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters",
                               field="Idempotency-Key")
    stored = db.scalar(select(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key))
    if stored is not None:
        if stored.fingerprint != request_fingerprint:
            raise ValidationFailed("Idempotency-Key was already used for a different request",
                                   field="Idempotency-Key")
        return StoredResponse(stored.status_code, stored.response, replayed=True)
    body = call()
    row = IdempotentRequest(user_id=user_id, key=key, fingerprint=request_fingerprint,
                            status_code=status_code, response=body, created_at=now())
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError as error:
        raise Conflict("a request with this Idempotency-Key is being processed; retry",
                       field="Idempotency-Key") from error
    return StoredResponse(status_code, body, replayed=False)
