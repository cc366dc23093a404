"""Sites, chairs, closures and staff shifts: the calendar's fixed parts. Services never commit;
every change is audited (ids only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.booking.models import Chair, Site, SiteClosure, StaffShift
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, FieldProblem, NotFound, ValidationFailed

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHIFT_ROLES = frozenset({Role.NURSE, Role.PRESCRIBER})
MAX_CHAIRS, MAX_RATIO = 40, 6
_CODE = re.compile(r"[A-Za-z0-9-]{1,16}")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class SiteEntry:
    code: str
    name: str
    timezone: str
    opening_hours: dict[str, tuple[str, str]]  # weekday -> (opens, closes), site-local HH:MM
    chairs: int
    nurse_ratio: int = 2
    prescriber_required: bool = True


def _site_problems(entry: SiteEntry) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if not _CODE.fullmatch(entry.code):
        problems.append(FieldProblem("code", "Code must be 1 to 16 letters, digits or dashes"))
    if not entry.name.strip():
        problems.append(FieldProblem("name", "Name is required"))
    try:
        ZoneInfo(entry.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(FieldProblem("timezone", "Time zone must be an IANA zone such as "
                                     "America/New_York"))
    for day, (opens, closes) in entry.opening_hours.items():
        if day not in WEEKDAYS:
            problems.append(FieldProblem("opening_hours", f"Unknown weekday {day!r}"))
        elif not (_HHMM.fullmatch(opens) and _HHMM.fullmatch(closes)) or opens >= closes:
            problems.append(FieldProblem(f"open_{day}", f"Opening hours on {day} must be "
                                         "HH:MM to a later HH:MM"))
    if not 1 <= entry.chairs <= MAX_CHAIRS:
        problems.append(FieldProblem("chairs", f"Chairs must be 1 to {MAX_CHAIRS}"))
    if not 1 <= entry.nurse_ratio <= MAX_RATIO:
        problems.append(FieldProblem("nurse_ratio", "Infusing patients per nurse must be 1 to "
                                     f"{MAX_RATIO}"))
    return problems


def create_site(db: Session, ctx: AuditContext, *, entry: SiteEntry) -> Site:
    """A site with its chairs numbered 1..n."""
    problems = _site_problems(entry)
    if problems:
        raise ValidationFailed.of(problems)
    if db.scalar(select(Site.id).where(Site.code == entry.code)) is not None:
        raise Conflict(f"a site with code {entry.code} exists", field="code")
    site = Site(code=entry.code, name=entry.name.strip(), timezone=entry.timezone,
                opening_hours={d: list(h) for d, h in entry.opening_hours.items()},
                nurse_ratio=entry.nurse_ratio, prescriber_required=entry.prescriber_required)
    db.add(site)
    db.flush()
    db.add_all(Chair(site_id=site.id, number=n) for n in range(1, entry.chairs + 1))
    record_event(db, ctx, action="site.create", entity_type="site", entity_id=site.id,
                 detail={"chairs": entry.chairs, "nurse_ratio": entry.nurse_ratio})
    return site


def calendar_changed(db: Session, site_id: int) -> None:
    """Options proposed before this change are stale: booking them is refused (service.py)."""
    db.execute(update(Site).where(Site.id == site_id)
               .values(booking_version=Site.booking_version + 1)
               .execution_options(synchronize_session=False))


def sites(db: Session) -> list[Site]:
    return list(db.scalars(select(Site).order_by(Site.code)))


def get_site(db: Session, site_id: int) -> Site:
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound("no such site")
    return site


def chairs(db: Session, site_id: int) -> list[Chair]:
    return list(db.scalars(select(Chair).where(Chair.site_id == site_id,
                                                Chair.retired_at.is_(None))
                           .order_by(Chair.number)))


def add_closure(db: Session, ctx: AuditContext, *, site_id: int, on: date,
                reason: str) -> SiteClosure:
    get_site(db, site_id)
    if not reason.strip():
        raise ValidationFailed("Reason is required", field="reason")
    closure = SiteClosure(site_id=site_id, on=on, reason=reason.strip()[:200])
    db.add(closure)
    calendar_changed(db, site_id)
    db.flush()
    record_event(db, ctx, action="site.closure", entity_type="site", entity_id=site_id,
                 detail={"closure_id": closure.id, "on": on.isoformat()})
    return closure


def closures(db: Session, site_id: int, start: date, end: date) -> list[SiteClosure]:
    return list(db.scalars(select(SiteClosure).where(
        SiteClosure.site_id == site_id, SiteClosure.on >= start, SiteClosure.on <= end)))


def opening(site: Site, on: date) -> tuple[time, time] | None:
    """The site's local opening hours on a day, or None when it does not open that weekday."""
    hours = site.opening_hours.get(WEEKDAYS[on.weekday()])
    if not hours:
        return None
    return time.fromisoformat(hours[0]), time.fromisoformat(hours[1])


def add_shift(db: Session, ctx: AuditContext, *, staff_user_id: int, site_id: int, on: date,
              starts: time, ends: time) -> StaffShift:
    """A shift inside the site's opening hours that overlaps none of the person's others."""
    site = get_site(db, site_id)
    staff = db.get(StaffUser, staff_user_id)
    if staff is None or staff.role not in SHIFT_ROLES:
        raise ValidationFailed("Staff must be a nurse or a prescriber", field="staff_user_id")
    if ends <= starts:
        raise ValidationFailed("Shift end must be after its start", field="ends")
    hours = opening(site, on)
    if hours is None or any(c.on == on for c in closures(db, site_id, on, on)):
        raise ValidationFailed(f"{site.name} is closed on {on:%a %d %b %Y}", field="on")
    if starts < hours[0] or ends > hours[1]:
        raise ValidationFailed(f"Shift must be inside opening hours {hours[0]:%H:%M} to "
                               f"{hours[1]:%H:%M}", field="starts")
    for other in _shifts_of(db, staff_user_id, on):
        if starts < other.ends and other.starts < ends:
            raise ValidationFailed(f"Shift overlaps {staff.full_name}'s shift "
                                   f"{other.starts:%H:%M} to {other.ends:%H:%M}", field="starts")
    shift = StaffShift(staff_user_id=staff_user_id, site_id=site_id, on=on, starts=starts,
                       ends=ends)
    db.add(shift)
    calendar_changed(db, site_id)
    db.flush()
    record_event(db, ctx, action="shift.create", entity_type="staff_shift", entity_id=shift.id,
                 detail={"site_id": site_id, "staff_user_id": staff_user_id})
    return shift


def _shifts_of(db: Session, staff_user_id: int, on: date) -> list[StaffShift]:
    return list(db.scalars(select(StaffShift).where(
        StaffShift.staff_user_id == staff_user_id, StaffShift.on == on,
        StaffShift.cancelled_at.is_(None))))


def cancel_shift(db: Session, ctx: AuditContext, *, shift_id: int, reason: str) -> StaffShift:
    """Leave or a change of rota: the shift is kept, marked cancelled with its reason."""
    shift = get_shift(db, shift_id)
    if not reason.strip():
        raise ValidationFailed("Reason is required", field="reason")
    if shift.cancelled_at is None:
        shift.cancelled_at, shift.cancel_reason = utcnow(), reason.strip()[:200]
        calendar_changed(db, shift.site_id)
        db.flush()
        record_event(db, ctx, action="shift.cancel", entity_type="staff_shift",
                     entity_id=shift.id, detail={"site_id": shift.site_id})
    return shift


def shifts(db: Session, site_id: int, start: date, end: date) -> list[StaffShift]:
    """Shifts in force at the site over the days, in day and start order."""
    return list(db.scalars(select(StaffShift).where(
        StaffShift.site_id == site_id, StaffShift.on >= start, StaffShift.on <= end,
        StaffShift.cancelled_at.is_(None)).order_by(StaffShift.on, StaffShift.starts)))


def local_today(site: Site) -> date:
    return utcnow().astimezone(ZoneInfo(site.timezone)).date()


def local_start(site: Site, on: date, at: time) -> datetime:
    return datetime.combine(on, at, tzinfo=ZoneInfo(site.timezone))


def get_shift(db: Session, shift_id: int) -> StaffShift:
    shift = db.get(StaffShift, shift_id)
    if shift is None:
        raise NotFound("no such shift")
    return shift


def shift_staff(db: Session) -> list[StaffUser]:
    """Who can take a shift (active nurses and prescribers), by name."""
    return list(db.scalars(select(StaffUser).where(StaffUser.role.in_(SHIFT_ROLES),
                                                   StaffUser.is_active.is_(True))
                           .order_by(StaffUser.full_name)))


def chair_counts(db: Session) -> dict[int, int]:
    """Chairs in service per site id."""
    rows = db.execute(select(Chair.site_id, func.count()).where(Chair.retired_at.is_(None))
                      .group_by(Chair.site_id)).tuples().all()
    return dict(rows)
