"""Helpers for driving the app through its HTTP interface as a browser or integration would."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import StaffUser
from ketaflow.config import Role
from ketaflow.web.guard import CSRF_COOKIE
from tests.support.factories import DEFAULT_PASSWORD, SYSTEM, make_user


def csrf(client: TestClient) -> str:
    """The token as a browser gets it: from the hidden field of a rendered form."""
    page = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the sign-in form carries no CSRF token"
    assert match.group(1) == client.cookies.get(CSRF_COOKIE)
    return match.group(1)


def sign_in(
    client: TestClient, username: str, password: str = DEFAULT_PASSWORD, next_path: str = "/"
) -> int:
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": next_path,
            "csrf_token": csrf(client),
        },
    )
    return response.status_code


def committed_user(db: Session, role: Role, **kwargs: object) -> StaffUser:
    user = make_user(db, role=role, **kwargs)  # type: ignore[arg-type]
    db.commit()
    return user


def api_token(db: Session, user: StaffUser) -> str:
    raw, _ = auth_service.create_api_token(db, SYSTEM, user=user, name="test", days=1)
    db.commit()
    return raw


def refusal_events(db: Session) -> list[tuple[str, str]]:
    """(method, path) of every audited refusal (401 or 403), oldest first.

    The one place tests look refusals up: refusal auditing is moving to a buffered background
    writer, and this is where waiting for (or flushing) that writer belongs.
    """
    details = db.scalars(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "request.refused")
        .order_by(AuditEvent.id)
    ).all()
    db.commit()  # end the read, so SQLite's lock is not held into the app's next request
    found = [json.loads(detail) for detail in details]
    return [(d["method"], d["path"]) for d in found if d.get("status") in (401, 403)]
