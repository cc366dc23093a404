"""Helpers shared by the infusion use cases: loading a session with everything on it, auditing,
and turning rule refusals into `ketaflow.errors`.

Error messages and audit details name fields, ids and codes only, never patient values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.auth.permissions import Permission, role_has
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.dosing import DosingError, DosingLimits
from ketaflow.errors import Conflict, FieldProblem, NotFound, PermissionDenied, ValidationFailed
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import OPEN_ALERT_FIELD, InfusionSettings, RuleError
from ketaflow.infusions.rules.labels import label, worded
from ketaflow.scales.thresholds import ScaleThresholds
from ketaflow.settings.service import settings_in_force

ENTITY = "infusion_session"
T = TypeVar("T")


# The demo seeder replays whole sessions at past times; everything else uses the real clock.
_clock: ContextVar[datetime | None] = ContextVar("infusion_clock", default=None)


def now() -> datetime:
    return _clock.get() or utcnow()


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run use cases as if it were `moment` (demo data only)."""
    token = _clock.set(moment)
    try:
        yield
    finally:
        _clock.reset(token)


def clinic_settings(db: Session, at: datetime) -> InfusionSettings:
    """The clinic's infusion settings in force at `at` (the admin's changes applied to the
    defaults, `ketaflow.settings.service`; sources in docs/clinical-sources.md)."""
    return settings_in_force(db, at).infusion


def clinic_thresholds(db: Session, at: datetime) -> ScaleThresholds:
    """The rating-scale thresholds in force at `at` (discharge scores)."""
    return settings_in_force(db, at).scales


def clinic_limits(db: Session, at: datetime) -> DosingLimits:
    """The dosing limits in force at `at`."""
    return settings_in_force(db, at).dosing


def load_session(db: Session, session_id: int) -> InfusionSession:
    """The session with orders, vitals, alerts, events, discharge and notes eager-loaded."""
    query = (
        select(InfusionSession)
        .where(InfusionSession.id == session_id)
        .options(
            selectinload(InfusionSession.orders),
            selectinload(InfusionSession.vitals),
            selectinload(InfusionSession.alerts),
            selectinload(InfusionSession.events),
            selectinload(InfusionSession.discharge),
            selectinload(InfusionSession.notes),
        )
        .execution_options(populate_existing=True)
    )
    found = db.scalar(query)
    if found is None:
        raise NotFound("no such infusion session")
    return found


def staff_names(db: Session, record: InfusionSession) -> dict[int, str]:
    """Everyone who signed or charted on the session, as "Full Name (role)" by user id: the
    summary, the note and the order history name staff, never their ids."""
    ids: set[int | None] = {o.signed_by_user_id for o in record.orders}
    ids |= {e.recorded_by_user_id for e in record.events}
    ids |= {n.signed_by_user_id for n in record.notes} | {n.created_by_user_id
                                                          for n in record.notes}
    if record.discharge is not None:
        ids.add(record.discharge.recorded_by_user_id)
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.execute(select(StaffUser.id, StaffUser.full_name, StaffUser.role)
                      .where(StaffUser.id.in_(wanted)))
    return {user_id: f"{name} ({role.value})" for user_id, name, role in rows}


def audit(db: Session, ctx: AuditContext, action: str, session_id: int,
          **detail: object) -> None:
    record_event(db, ctx, action=action, entity_type=ENTITY, entity_id=session_id, detail=detail)


# The state machine refuses actions under field "action", and the rate rules an increase or a
# resume under an open HOLD or STOP alert under "open_alert": the session is in the wrong
# state for it (409), not given bad input (422).
STATE_FIELDS = frozenset({"action", OPEN_ALERT_FIELD})


@contextmanager
def rule_errors() -> Iterator[None]:
    """Rule and dosing refusals become 422s naming the field; state-machine refusals 409s."""
    try:
        yield
    except RuleError as error:
        if error.field in STATE_FIELDS:
            raise Conflict(worded(error.message), field=error.field) from error
        raise ValidationFailed(worded(error.message), field=error.field, problems=[
            FieldProblem(p.field, worded(p.message)) for p in error.problems]) from error
    except DosingError as error:
        # The dosing core names its inputs as the CLI does; a page names them by label.
        raise ValidationFailed(worded(str(error)), field=error.field) from error


def checked(call: Callable[[], T]) -> T:
    with rule_errors():
        return call()


def require_prescriber(ctx: AuditContext, what: str) -> None:
    if ctx.actor_role != Role.PRESCRIBER.value:
        raise PermissionDenied(f"only a prescriber may {what}")


def may(ctx: AuditContext, permission: Permission) -> bool:
    """Whether the acting role holds `permission` (system and anonymous contexts do not)."""
    try:
        return role_has(Role(ctx.actor_role), permission)
    except ValueError:
        return False


def positive(value: float | None, field: str) -> float:
    if value is None or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValidationFailed(f"{label(field)} must be a positive number", field=field)
    return float(value)


def required_text(value: str | None, field: str, *, max_length: int = 2000) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(f"{label(field)} is required", field=field)
    if len(text) > max_length:
        raise ValidationFailed(f"{label(field)} must be at most {max_length} characters",
                               field=field)
    return text


def optional_text(value: str | None, field: str, *, max_length: int = 2000) -> str | None:
    return required_text(value, field, max_length=max_length) if (value or "").strip() else None
