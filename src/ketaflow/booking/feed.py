"""The staff calendar feed of a site: a secret URL a calendar app subscribes to. The token is
the credential (only its SHA-256 is stored; issuing a new one revokes the old). The feed names
no patient: calendar apps sync to third-party clouds. Each event says chair, visit and nurse."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.booking import ical
from ketaflow.booking.models import Appointment, AppointmentState, Chair, Site
from ketaflow.booking.sites import get_site
from ketaflow.db import utcnow
from ketaflow.errors import NotFound

PAST_DAYS, AHEAD_DAYS = 7, 90


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_feed_token(db: Session, ctx: AuditContext, *, site_id: int) -> str:
    """A new secret for the site's feed (shown once); the previous URL stops working."""
    site = get_site(db, site_id)
    token = secrets.token_urlsafe(32)
    site.feed_token_sha256 = _hash(token)
    db.flush()
    record_event(db, ctx, action="site.feed_token", entity_type="site", entity_id=site.id)
    return token


def feed_text(db: Session, *, token: str) -> str:
    """The site's booked appointments from a week ago to 90 days ahead, as iCalendar."""
    site = db.scalar(select(Site).where(Site.feed_token_sha256 == _hash(token)))
    if site is None:
        raise NotFound("no such calendar feed")
    now = utcnow()
    rows = list(db.scalars(select(Appointment).where(
        Appointment.site_id == site.id, Appointment.state == AppointmentState.BOOKED,
        Appointment.starts_at >= now - timedelta(days=PAST_DAYS),
        Appointment.starts_at < now + timedelta(days=AHEAD_DAYS))
        .order_by(Appointment.starts_at)))
    chairs = {c.id: c.number for c in db.scalars(select(Chair).where(Chair.site_id == site.id))}
    nurses = dict(db.execute(select(StaffUser.id, StaffUser.full_name).where(
        StaffUser.id.in_({r.staff_user_id for r in rows if r.staff_user_id}))).tuples().all())
    items = [ical.CalendarItem(
        f"appointment-{r.id}@ketaflow", r.starts_at, r.minutes, site.timezone,
        f"Chair {chairs.get(r.chair_id or 0, '-')}: {r.kind.value}"
        + (f" {r.infusion_number}" if r.infusion_number else ""), site.name,
        f"Nurse: {nurses.get(r.staff_user_id or 0, 'not assigned')}. Names are on the "
        "day's list in ketaflow.") for r in rows]
    return ical.calendar_text(items, stamp=now, method="PUBLISH", name=f"{site.name} chairs")
