"""Per-user API tokens `kft_<id>_<secret>`: issue, revoke, list, and check many at once."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth import security
from ketaflow.auth.models import ApiToken, StaffUser
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed

TOKEN_PREFIX = "kft"

def create_api_token(
    session: Session, ctx: AuditContext, *, user: StaffUser, name: str, days: int
) -> tuple[str, ApiToken]:
    """Return the plaintext token (shown once) and the stored record."""
    if not 1 <= days <= 366:
        raise ValidationFailed("days must be between 1 and 366", field="days")
    if not name.strip():
        raise ValidationFailed("a token name is required", field="name")
    if not user.is_active:
        raise Conflict("the account is deactivated")
    token_id = security.new_token(9)[:12].replace("_", "x").replace("-", "y")
    secret = security.new_token(32)
    record = ApiToken(
        id=token_id,
        user_id=user.id,
        name=name.strip()[:100],
        secret_sha256=security.sha256_hex(secret),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(record)
    session.flush()
    record_event(
        session,
        ctx,
        action="api_token.create",
        entity_type="api_token",
        entity_id=token_id,
        detail={"user_id": user.id, "days": days},
    )
    return f"{TOKEN_PREFIX}_{token_id}_{secret}", record


def revoke_api_token(session: Session, ctx: AuditContext, *, token_id: str) -> ApiToken:
    record = session.get(ApiToken, token_id)
    if record is None:
        raise NotFound("no such API token")
    if record.revoked_at is not None:
        raise Conflict("the token is already revoked")
    record.revoked_at = utcnow()
    record_event(
        session, ctx, action="api_token.revoke", entity_type="api_token", entity_id=token_id
    )
    return record


def list_api_tokens(session: Session, *, user_id: int) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    return list(session.scalars(query))


def resolve_api_token(session: Session, raw: str) -> ApiToken | None:
    """One primary-key lookup and one SHA-256: cheap enough for every API request."""
    return resolve_api_tokens(session, [raw])[0]


def resolve_api_tokens(session: Session, raws: list[str]) -> list[ApiToken | None]:
    """The valid token behind each raw token (None if invalid, expired or revoked), with one
    query for all of them: concurrent API requests are checked together."""
    parts = [raw.split("_", 2) for raw in raws]
    parts = [p if len(p) == 3 and p[0] == TOKEN_PREFIX else ["", "", ""] for p in parts]
    ids = {p[1] for p in parts if p[1]}
    records = {} if not ids else {record.id: record for record in session.scalars(
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.id.in_(ids)))}
    now = utcnow()
    return [_valid_token(records.get(p[1]), p[2], now) for p in parts]


def _valid_token(record: ApiToken | None, secret: str, now: datetime) -> ApiToken | None:
    if record is None or not hmac.compare_digest(record.secret_sha256, security.sha256_hex(secret)):
        return None
    if record.revoked_at is not None or record.expires_at <= now or not record.user.is_active:
        return None
    # Touch at most every few minutes so a busy integration does not write on every call.
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=5):
        record.last_used_at = now
    return record
