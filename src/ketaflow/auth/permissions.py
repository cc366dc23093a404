"""Permissions, the roles that hold them, and the decorators routes use to declare them.

Every route declares exactly one permission (or `public`); `ketaflow.web.guard` checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Final, TypeVar

from ketaflow.config import Role


class Permission(StrEnum):
    # Finish or abandon signing in (second factor, sign-out); allowed before MFA completes.
    SESSION = "session:own"
    HOME_VIEW = "home:view"
    ACCOUNT_SELF = "account:self"
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    # Change the clinic's clinical settings (thresholds, limits); viewing them is HOME_VIEW.
    SETTINGS_EDIT = "settings:edit"
    # The clinic profile (name, time zone, crisis lines): every role reads it (home:view).
    CLINIC_PROFILE_EDIT = "clinic:profile:edit"
    # Patient record. Front desk sees and edits demographics only; clinical data is for the
    # clinical roles; researchers see de-identified data only; admins run the system, not care.
    PATIENTS_REGISTER = "patients:register"
    PATIENTS_DEMOGRAPHICS = "patients:demographics"
    PATIENTS_CLINICAL_READ = "patients:clinical:read"
    PATIENTS_CLINICAL_WRITE = "patients:clinical:write"
    SCREENING_SIGN = "screening:sign"
    COURSES_MANAGE = "courses:manage"
    ASSESSMENTS_WRITE = "assessments:write"
    ALERTS_ACKNOWLEDGE = "alerts:acknowledge"
    RESEARCH_READ = "research:read"
    # The de-identified row-level export (docs/research-export.md): researchers only, since
    # prescribers hold research:read for the outcome aggregates but care for the patients.
    RESEARCH_EXPORT = "research:export"
    # Infusion sessions at the chair; signing orders and notes; the controlled-substance log.
    INFUSIONS_RUN = "infusions:run"
    ORDERS_SIGN = "orders:sign"
    CONTROLLED_SUBSTANCES = "controlled:substances"
    # The clinic calendar: a site's day (names on it), booking and moving appointments, and
    # the sites' fixed parts (chairs, opening hours, closures, staff shifts).
    CALENDAR_VIEW = "calendar:view"
    APPOINTMENTS_BOOK = "appointments:book"
    SITES_MANAGE = "sites:manage"
    # The outcomes dashboard (aggregates only). Seeing counts below the small-cell minimum is a
    # separate permission: the researcher sees them suppressed.
    OUTCOMES_VIEW = "outcomes:view"
    OUTCOMES_SMALL_CELLS = "outcomes:small-cells"
    # FHIR Bulk Data `$export` of the whole record (every patient): the system's data
    # handed to another system, an administrator's act, not care (docs/fhir.md).
    FHIR_BULK_EXPORT = "fhir:export"


class _Public:
    """Marker for routes anyone may call (sign-in page, health check)."""

    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC: Final = _Public()
PERMISSION_ATTR = "__ketaflow_permission__"

_EVERY_ROLE = frozenset({Permission.SESSION, Permission.HOME_VIEW, Permission.ACCOUNT_SELF})

_CLINICAL = frozenset(
    {
        Permission.PATIENTS_REGISTER,
        Permission.PATIENTS_DEMOGRAPHICS,
        Permission.PATIENTS_CLINICAL_READ,
        Permission.PATIENTS_CLINICAL_WRITE,
        Permission.ASSESSMENTS_WRITE,
        Permission.INFUSIONS_RUN,
        Permission.CONTROLLED_SUBSTANCES,
        Permission.CALENDAR_VIEW,
        Permission.APPOINTMENTS_BOOK,
    }
)

ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.ADMIN: _EVERY_ROLE
    | {Permission.USERS_MANAGE, Permission.AUDIT_READ, Permission.SETTINGS_EDIT,
       Permission.CLINIC_PROFILE_EDIT, Permission.SITES_MANAGE, Permission.OUTCOMES_VIEW,
       Permission.OUTCOMES_SMALL_CELLS, Permission.FHIR_BULK_EXPORT},
    Role.PRESCRIBER: _EVERY_ROLE
    | _CLINICAL
    | {
        Permission.SCREENING_SIGN,
        Permission.ORDERS_SIGN,
        Permission.COURSES_MANAGE,
        Permission.ALERTS_ACKNOWLEDGE,
        Permission.RESEARCH_READ,
        Permission.OUTCOMES_VIEW,
        Permission.OUTCOMES_SMALL_CELLS,
    },
    Role.NURSE: _EVERY_ROLE | _CLINICAL,
    Role.FRONT_DESK: _EVERY_ROLE | {Permission.PATIENTS_REGISTER, Permission.PATIENTS_DEMOGRAPHICS,
                                    Permission.CALENDAR_VIEW, Permission.APPOINTMENTS_BOOK,
                                    Permission.SITES_MANAGE},
    Role.RESEARCHER: _EVERY_ROLE | {Permission.RESEARCH_READ, Permission.OUTCOMES_VIEW,
                                   Permission.RESEARCH_EXPORT},
}


def role_has(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


F = TypeVar("F", bound=Callable[..., object])


def requires(permission: Permission) -> Callable[[F], F]:
    def mark(endpoint: F) -> F:
        setattr(endpoint, PERMISSION_ATTR, permission)
        return endpoint

    return mark


def public(endpoint: F) -> F:
    setattr(endpoint, PERMISSION_ATTR, PUBLIC)
    return endpoint


def declared_permission(endpoint: Callable[..., object]) -> Permission | _Public | None:
    value = getattr(endpoint, PERMISSION_ATTR, None)
    return value if isinstance(value, Permission | _Public) else None
