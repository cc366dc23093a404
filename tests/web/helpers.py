"""Helpers for driving the app through its HTTP interface as a browser or integration would."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import StaffUser
from ketaflow.config import Role
from ketaflow.web.guard import cookie_names
from tests.support.factories import DEFAULT_PASSWORD, SYSTEM, make_user
from tests.support.web import flush_audit

# The suite serves over https with Secure cookies, so the names carry the __Host- prefix.
SESSION_COOKIE, CSRF_COOKIE = cookie_names(secure=True)


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


def refusal_events(db: Session, app: Any) -> list[tuple[str, str]]:
    """(method, route template) of each audited refusal (401 or 403), once per occurrence.

    Refusals are counted in the app's audit buffer and written in batches: flush it first.
    """
    flush_audit(app)
    details = db.scalars(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "request.refused")
        .order_by(AuditEvent.id)
    ).all()
    db.commit()  # end the read, so SQLite's lock is not held into the app's next request
    found = [json.loads(detail) for detail in details]
    return [(d["method"], d["path"]) for d in found if d.get("status") in (401, 403)
            for _ in range(d.get("count", 1))]
