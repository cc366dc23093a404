"""Demo data for `make run`: staff accounts, patients; later domains add sessions here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ketaflow.assessments.demo import seed_assessments
from ketaflow.audit.service import AuditContext
from ketaflow.auth import service as auth_service
from ketaflow.config import Role
from ketaflow.courses.demo import seed_courses
from ketaflow.infusions.demo import seed_sessions
from ketaflow.patients.demo import seed_patients
from ketaflow.screening.demo import seed_screenings


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: Role
    password: str


# Fixed, printed passwords: demo databases only (seeding refuses production mode).
DEMO_ACCOUNTS = (
    DemoAccount("admin", "Ada Okafor", Role.ADMIN, "demo-admin-2026"),
    DemoAccount("prescriber", "Dr Priya Raman", Role.PRESCRIBER, "demo-prescriber-2026"),
    DemoAccount("nurse", "Noah Lindqvist RN", Role.NURSE, "demo-nurse-2026"),
    DemoAccount("frontdesk", "Fatima Haddad", Role.FRONT_DESK, "demo-frontdesk-2026"),
    DemoAccount("researcher", "Dr Rui Santos", Role.RESEARCHER, "demo-researcher-2026"),
)


def seed_demo(session: Session, ctx: AuditContext) -> list[DemoAccount]:
    """Create the demo accounts if the database has no staff yet; return those created."""
    if auth_service.count_users(session):
        return []
    for account in DEMO_ACCOUNTS:
        auth_service.create_user(
            session,
            ctx,
            username=account.username,
            full_name=account.full_name,
            role=account.role,
            password=account.password,
        )
    # Screenings, consents and courses (planned, active, one not eligible) for those patients.
    patients = seed_patients(session, ctx)
    seed_screenings(session, ctx, patients)
    seed_courses(session, ctx, patients)
    # Infusion sessions go on active courses, so this stays after the courses are seeded.
    seed_sessions(session, ctx)
    # Rating histories (and one open alert) for the patients with courses.
    seed_assessments(session, ctx, patients)
    return list(DEMO_ACCOUNTS)
