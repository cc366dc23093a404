"""Reading and changing the clinic profile. Services never commit.

The profile is kept as versions (each save adds one; the newest is in force). Reads are not
audited (it holds no patient data); every save is, with the names of the fields that changed.

Which time zone wins: the profile's when it is set, else the KETAFLOW_CLINIC_TIMEZONE setting
(`effective_timezone`), everywhere a clinic time is read or shown.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.clinic.crisis_lines import NATIONAL_LINES, CrisisLines
from ketaflow.clinic.models import ClinicProfile
from ketaflow.config import Mode, Settings
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed

ENTITY = "clinic_profile"
PROFILE_PAGE = "/settings/clinic"
_PHONE = re.compile(r"[0-9 +().\-/]+")
_LIMITS = {"name": 200, "address": 1000, "phone": 40, "timezone": 64, "crisis_line": 200,
           "national_line_custom": 200, "after_hours": 1000}
LABELS = {
    "name": "Clinic name", "address": "Address", "phone": "Phone",
    "timezone": "Time zone", "crisis_line": "The clinic's crisis line",
    "national_line_country": "National crisis line", "national_line_custom":
    "National crisis line (typed)", "after_hours": "After-hours instructions",
}


@dataclass(frozen=True)
class ProfileEntry:
    """The profile as entered; blank optional fields are None."""

    name: str
    address: str | None = None
    phone: str | None = None
    timezone: str | None = None
    crisis_line: str | None = None
    national_line_country: str | None = None
    national_line_custom: str | None = None
    after_hours: str | None = None


def is_production(settings: Settings) -> bool:
    return settings.mode is Mode.PRODUCTION


def get_profile(session: Session) -> ClinicProfile | None:
    """The profile in force (the newest version), or None before one is first saved."""
    return session.scalar(select(ClinicProfile).order_by(ClinicProfile.id.desc()).limit(1))


def current_entry(session: Session) -> ProfileEntry | None:
    profile = get_profile(session)
    if profile is None:
        return None
    return ProfileEntry(**{spec.name: getattr(profile, spec.name) for spec in fields(ProfileEntry)})


def effective_timezone(session: Session, settings: Settings) -> str:
    """The clinic's IANA time zone: the profile's when set, else KETAFLOW_CLINIC_TIMEZONE."""
    profile = get_profile(session)
    return profile.timezone if profile is not None and profile.timezone else (
        settings.clinic_timezone)


def service_timezone(session: Session) -> str:
    """`effective_timezone` where no request carries the app's settings (services, the mood
    sweep): the profile's zone, else KETAFLOW_CLINIC_TIMEZONE read from the environment."""
    return effective_timezone(session, Settings())


def crisis_lines(session: Session) -> CrisisLines:
    """The crisis lines a patient is told to call (empty before the profile is set)."""
    profile = get_profile(session)
    if profile is None:
        return CrisisLines()
    listed = NATIONAL_LINES.get(profile.national_line_country or "")
    national = listed.text if listed is not None else profile.national_line_custom
    return CrisisLines(clinic_line=profile.crisis_line, national_line=national,
                       national_always_open=listed is not None, after_hours=profile.after_hours)


def clinic_name(session: Session) -> str | None:
    profile = get_profile(session)
    return profile.name if profile is not None and profile.name else None


def crisis_line_problem(session: Session) -> str | None:
    """Why production must not start: no crisis line on the clinic profile (or None)."""
    if crisis_lines(session).configured:
        return None
    return ("the clinic profile has no crisis line (clinic profile: crisis line or national "
            f"crisis line; set it on {PROFILE_PAGE} or with `ketaflow clinic set "
            "--crisis-line ...`)")


def _blank_is_none(value: str | None) -> str | None:
    return (value or "").strip() or None


def _clean(entry: ProfileEntry) -> ProfileEntry:
    country = _blank_is_none(entry.national_line_country)
    return ProfileEntry(
        name=(entry.name or "").strip(), address=_blank_is_none(entry.address),
        phone=_blank_is_none(entry.phone), timezone=_blank_is_none(entry.timezone),
        crisis_line=_blank_is_none(entry.crisis_line),
        national_line_country=None if country is None else country.upper(),
        national_line_custom=_blank_is_none(entry.national_line_custom),
        after_hours=_blank_is_none(entry.after_hours))


def check_timezone(zone: str, *, field: str = "timezone") -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{LABELS['timezone']}: {zone[:64]!r} is not an IANA time zone "
                               "name (such as Europe/London or America/New_York)",
                               field=field) from None
    return zone


def _validate(entry: ProfileEntry, *, production: bool) -> None:
    if not entry.name:
        raise ValidationFailed(f"{LABELS['name']} is required", field="name")
    for name, limit in _LIMITS.items():
        value = getattr(entry, name)
        if value is not None and len(value) > limit:
            raise ValidationFailed(f"{LABELS[name]} must be at most {limit} characters",
                                   field=name)
    if entry.phone is not None and (not _PHONE.fullmatch(entry.phone)
                                    or sum(c.isdigit() for c in entry.phone) < 6):
        raise ValidationFailed(f"{LABELS['phone']}: digits, spaces and + ( ) . / - only, at "
                               "least 6 digits", field="phone")
    for name in ("crisis_line", "national_line_custom"):
        value = getattr(entry, name)
        if value is not None and sum(c.isdigit() for c in value) < 3:
            raise ValidationFailed(f"{LABELS[name]} must include the number to call (at least "
                                   "3 digits)", field=name)
    if entry.timezone is not None:
        check_timezone(entry.timezone)
    if entry.national_line_country is not None:
        if entry.national_line_country not in NATIONAL_LINES:
            raise ValidationFailed(
                f"{LABELS['national_line_country']}: choose one of "
                f"{', '.join(NATIONAL_LINES)} or type the clinic's own",
                field="national_line_country")
        if entry.national_line_custom is not None:
            raise ValidationFailed("choose a listed national line or type your own, not both",
                                   field="national_line_custom")
    if production and not (entry.crisis_line or entry.national_line_country
                           or entry.national_line_custom):
        raise ValidationFailed("in production a crisis line is required: enter the clinic's "
                               "crisis line or choose a national crisis line",
                               field="crisis_line")


def update_profile(session: Session, ctx: AuditContext, *, entry: ProfileEntry,
                   production: bool) -> ClinicProfile:
    """Create or change the profile; refuses (nothing changed) with a message naming the field.
    In production (`production`, from `is_production(settings)`) a crisis line is required."""
    cleaned = _clean(entry)
    _validate(cleaned, production=production)
    previous = get_profile(session)
    changed = [name for name, value in asdict(cleaned).items()
               if previous is None or getattr(previous, name) != value]
    profile = ClinicProfile(**asdict(cleaned), saved_at=utcnow(),
                            saved_by_user_id=ctx.actor_user_id)
    session.add(profile)
    session.flush()
    record_event(session, ctx, action="clinic_profile.create" if previous is None else
                 "clinic_profile.update", entity_type=ENTITY, entity_id=profile.id,
                 detail={"changed": changed,
                         "previous_version": None if previous is None else previous.id})
    return profile


def merged_entry(session: Session, **changes: str | None) -> ProfileEntry:
    """The current profile (or an empty one) with some fields changed (for the CLI)."""
    base = current_entry(session) or ProfileEntry(name="")
    return replace(base, **{k: v for k, v in changes.items() if v is not None})
