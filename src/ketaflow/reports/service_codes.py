"""The clinic's service codes: listed, added and retired by an admin. Services never commit.

Every change is audited (ids only). A code is never edited or deleted: retiring keeps the row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.reports.models import ServiceCode

ENTITY = "service_code"
# Field -> (label as the form shows it, most characters allowed).
FIELDS: dict[str, tuple[str, int]] = {
    "code_system": ("Code system", 40),
    "code": ("Code", 20),
    "label": ("Label", 200),
}


@dataclass(frozen=True)
class ServiceCodeEntry:
    code_system: str
    code: str
    label: str


def list_service_codes(session: Session, *, include_retired: bool = False) -> list[ServiceCode]:
    """The clinic's codes in the order they were added (retired ones only when asked)."""
    query = select(ServiceCode).order_by(ServiceCode.id)
    if not include_retired:
        query = query.where(ServiceCode.retired_at.is_(None))
    return list(session.scalars(query))


def _cleaned(entry: ServiceCodeEntry) -> ServiceCodeEntry:
    values = {}
    for name, (label, limit) in FIELDS.items():
        text = " ".join((getattr(entry, name) or "").split())
        if not text:
            raise ValidationFailed(f"{label} is required", field=name)
        if len(text) > limit:
            raise ValidationFailed(f"{label} must be at most {limit} characters "
                                   f"({len(text)} given)", field=name)
        values[name] = text
    return ServiceCodeEntry(**values)


def add_service_code(session: Session, ctx: AuditContext, *, entry: ServiceCodeEntry
                     ) -> ServiceCode:
    """Add one code; the same system and code twice (among codes in use) is refused."""
    clean = _cleaned(entry)
    for row in list_service_codes(session):
        if (row.code_system.casefold(), row.code.casefold()) == (
                clean.code_system.casefold(), clean.code.casefold()):
            raise Conflict(f"{clean.code_system} {clean.code} is already listed: retire it "
                           "first to change its label", field="code")
    row = ServiceCode(code_system=clean.code_system, code=clean.code, label=clean.label,
                      added_at=utcnow(), added_by_user_id=ctx.actor_user_id)
    session.add(row)
    session.flush()
    record_event(session, ctx, action="service_code.add", entity_type=ENTITY, entity_id=row.id)
    return row


def retire_service_code(session: Session, ctx: AuditContext, *, code_id: int) -> ServiceCode:
    row = session.get(ServiceCode, code_id)
    if row is None:
        raise NotFound("no such service code")
    if row.retired_at is not None:
        raise Conflict("this service code is already retired")
    row.retired_at, row.retired_by_user_id = utcnow(), ctx.actor_user_id
    session.flush()
    record_event(session, ctx, action="service_code.retire", entity_type=ENTITY,
                 entity_id=row.id)
    return row
