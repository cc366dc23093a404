"""The audit key and the MACs made with it.

The key is kept outside the database (a setting, or a file under the var folder like the secret
key), so someone who can write the database cannot compute a valid MAC for an edited, inserted
or re-chained row. Every server sharing a database must use the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sqlalchemy.orm import Session

SESSION_KEY = "audit_key"
_default_key: bytes | None = None


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def mac(key: bytes, kind: str, fields: list[Any]) -> str:
    """HMAC-SHA256 over a kind tag and the fields in canonical JSON; the tag keeps an event's
    MAC from ever being valid as a seal's or a checkpoint's."""
    return hmac.new(key, canonical_json([kind, *fields]).encode(), hashlib.sha256).hexdigest()


def session_info(key: bytes) -> dict[str, Any]:
    """What a session factory carries so that services can MAC the events they write."""
    return {SESSION_KEY: key}


def set_default_key(key: bytes | None) -> None:
    """The key for sessions built without one (the test suite sets it once)."""
    global _default_key  # noqa: PLW0603 (one process-wide default, set once)
    _default_key = key


def key_for(session: Session) -> bytes:
    key = session.info.get(SESSION_KEY) or _default_key
    if not isinstance(key, bytes):
        raise RuntimeError("this database session has no audit key (ketaflow.audit.keys)")
    return key
