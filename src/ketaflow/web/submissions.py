"""One-time submission keys: a form posted twice (a double click, a reload) acts once.

Every state-changing form carries a fresh random key beside its CSRF token (the `csrf()`
macro renders both). The guard reads it; the route class (`ketaflow.web.routing.
UnitOfWorkRoute`) claims the key for the signed-in user at the start of the route's
transaction, by inserting it into `form_submissions` (the key is the primary key), and stores
the route's outcome in the same row before the one commit. So the record and the key commit
together or not at all:

- a repeated post of a key that committed does not run the route again: it is redirected to
  where the first one went (303), or, if the first answered with a page rather than a
  redirect, gets a 409 page saying the form was already submitted, with a link back;
- two identical posts at once: the second's insert waits, in the database itself, on the
  first's uncommitted key (PostgreSQL's unique index; SQLite's write lock, taken by BEGIN
  IMMEDIATE), holding nothing else; once the first commits it fails on the key, rolls back,
  and reads the first's outcome. If the first rolled back, the second simply runs;
- a refusal (a 4xx page, a refused request) keeps no key, so the corrected form may be sent.

Keys are per user: a key stored for someone else is refused (409) without saying where it
went. Requests without a key (the JSON API, which has Idempotency-Key; tests; old pages)
run as before, and so do requests with no signed-in user (sign-in itself).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.responses import RedirectResponse, Response

from ketaflow.db import Base, utcnow

FIELD = "submission_key"
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_STATE = "ketaflow_submission"
_PATH_LENGTH = 300
_LOCATION_LENGTH = 500
ALREADY_SUBMITTED = "This form was already submitted; it was recorded once."
# How long a used key is remembered. A key only has to outlive a double click, a reload or a
# form re-sent from the browser's history; a month covers a page left open over a holiday
# while keeping the table small (one row per form post).
KEEP_KEYS = timedelta(days=30)


class FormSubmission(Base):
    """A form submission key that has been acted on, with where its answer sent the user."""

    __tablename__ = "form_submissions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    path: Mapped[str] = mapped_column(String(_PATH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    location: Mapped[str | None] = mapped_column(String(_LOCATION_LENGTH))


def new_key() -> str:
    """A fresh key for one rendering of a form (a template global)."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Posted:
    """A form post's key, read before the route runs (the principal is not known yet)."""

    key: str
    path: str
    back: str  # where the 409 page links: the page the form was on, if it is ours
    request: Request


@dataclass(frozen=True)
class Claim:
    key: str
    user_id: int
    path: str
    back: str
    request: Request


async def note_key(request: Request) -> None:
    """Read the submitted key of a form post (the guard calls this once the CSRF token
    passed; Starlette caches the parsed form, so the route reads the same one)."""
    if request.method != "POST" or "form" not in request.headers.get("content-type", ""):
        return
    value = (await request.form()).get(FIELD, "")
    if not isinstance(value, str) or not _KEY.match(value):
        return
    referer = request.headers.get("referer", "")
    own = f"{request.url.scheme}://{request.url.netloc}/"
    back = "/" + referer[len(own):] if referer.startswith(own) else "/"
    if back.startswith("//") or "\\" in back:  # never a link off the site
        back = "/"
    setattr(request.state, _STATE,
            Posted(value, request.url.path[:_PATH_LENGTH], back, request))


def pending(state: dict[str, Any] | None) -> tuple[Claim, Session] | None:
    """The request's claim and session: a keyed form post by a signed-in user (not an API
    token, not half signed in) whose route uses the database."""
    if state is None:
        return None
    posted = state.get(_STATE)
    db = state.get("db")
    principal = state.get("principal")
    if (not isinstance(posted, Posted) or not isinstance(db, Session) or principal is None
            or principal.via_token or principal.mfa_pending):
        return None
    return Claim(posted.key, principal.user_id, posted.path, posted.back, posted.request), db


def claim(db: Session, claim: Claim) -> Response | None:
    """Claim the key in the request's transaction; if it was already used, roll back and
    return the first submission's answer instead (None: go ahead)."""
    db.add(FormSubmission(key=claim.key, user_id=claim.user_id, path=claim.path))
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
    else:
        return None
    earlier = db.scalars(select(FormSubmission).where(FormSubmission.key == claim.key)).first()
    db.rollback()
    return replay(claim, earlier)


def replay(claim: Claim, earlier: FormSubmission | None) -> Response:
    if (earlier is not None and earlier.user_id == claim.user_id
            and earlier.path == claim.path and earlier.location):
        return RedirectResponse(earlier.location, status_code=303)
    from ketaflow.web.templating import render

    link = claim.back if earlier is not None and earlier.user_id == claim.user_id else "/"
    return render(claim.request, "error.html",
                  {"title": "Already submitted", "detail": ALREADY_SUBMITTED, "status": 409,
                   "link": link, "link_text": "See the result"}, status_code=409)


def record(db: Session, claim: Claim, result: object) -> None:
    """Store the route's answer with the key; a refusal keeps no key."""
    status = result.status_code if isinstance(result, Response) else 200
    if status >= 400:
        release(db, claim)
        return
    location = result.headers.get("location") if isinstance(result, Response) else None
    row = db.get(FormSubmission, claim.key)
    if row is None:  # the route rolled its own transaction back: claim again
        row = FormSubmission(key=claim.key, user_id=claim.user_id, path=claim.path)
        db.add(row)
    row.status_code = status
    row.location = location if location and len(location) <= _LOCATION_LENGTH else None
    db.flush()


def release(db: Session, claim: Claim) -> None:
    db.execute(delete(FormSubmission).where(FormSubmission.key == claim.key))


def purge_expired(db: Session, *, now: datetime | None = None) -> int:
    """Forget keys used longer ago than KEEP_KEYS (the background round calls this); returns
    how many went."""
    cutoff = (now or utcnow()) - KEEP_KEYS
    result = db.execute(delete(FormSubmission).where(FormSubmission.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
