"""Demo data for `make run`: staff accounts, patients; later domains add sessions here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments.demo import seed_assessments
from ketaflow.audit.models import AuditEvent
from ketaflow.audit.service import AuditContext
from ketaflow.auth import service as auth_service
from ketaflow.auth.models import DemoCredential, StaffUser
from ketaflow.booking.demo import seed_calendar
from ketaflow.clinic.demo import seed_clinic_profile
from ketaflow.config import Role, Settings
from ketaflow.courses.demo import seed_active_courses, seed_courses, seed_maintenance
from ketaflow.demo_data.service import GENERATE_ACTION
from ketaflow.fhir.smart.demo import seed_fhir_client
from ketaflow.infusions.demo import CLINIC_DAY, seed_clinic_day, seed_sessions
from ketaflow.moodchart.demo import seed_mood
from ketaflow.outcomes.demo import seed_outcomes
from ketaflow.patients.demo import seed_day_patients, seed_patients
from ketaflow.reminders.demo import seed_reminders
from ketaflow.screening.demo import seed_ready_screenings, seed_screenings
from ketaflow.settings.demo import seed_settings


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: Role
    password: str = ""


# Passwords are generated afresh by each seed (never fixed in code, so no published password
# opens any clinic's database) and kept in demo_credentials for `ketaflow demo accounts`.
DEMO_ACCOUNTS = (
    DemoAccount("admin", "Ada Okafor", Role.ADMIN),
    DemoAccount("prescriber", "Dr Priya Raman", Role.PRESCRIBER),
    DemoAccount("nurse", "Noah Lindqvist RN", Role.NURSE),
    DemoAccount("frontdesk", "Fatima Haddad", Role.FRONT_DESK),
    DemoAccount("researcher", "Dr Rui Santos", Role.RESEARCHER),
)
DEMO_USERNAMES = frozenset(account.username for account in DEMO_ACCOUNTS)


def _new_password(role: Role) -> str:
    return f"demo-{role.value.replace('_', '')}-{secrets.token_urlsafe(9)}"


def seed_demo(session: Session, ctx: AuditContext, *, settings: Settings | None = None
              ) -> list[DemoAccount]:
    """Create the demo accounts if the database has no staff yet; return those created.
    With settings, reminders are planned too (their links need the public address)."""
    if auth_service.count_users(session):
        return []
    created = []
    for template in DEMO_ACCOUNTS:
        account = DemoAccount(template.username, template.full_name, template.role,
                              _new_password(template.role))
        auth_service.create_user(
            session,
            ctx,
            username=account.username,
            full_name=account.full_name,
            role=account.role,
            password=account.password,
        )
        session.add(DemoCredential(username=account.username, password=account.password))
        created.append(account)
    seed_clinic_profile(session, ctx)
    # Screenings, consents and courses (planned, active, one not eligible) for those patients.
    patients = seed_patients(session, ctx)
    seed_screenings(session, ctx, patients)
    courses = seed_courses(session, ctx, patients)
    # Infusion sessions go on active courses, so this stays after the courses are seeded.
    seed_sessions(session, ctx)
    # The full clinic day: a session in each state today (one overrunning, one stopped early),
    # each on its own patient's course; after `seed_sessions`, whose lot it draws from.
    day_patients = seed_day_patients(session, ctx, count=len(CLINIC_DAY))
    seed_ready_screenings(session, ctx, day_patients)
    day_courses = seed_active_courses(session, ctx, day_patients)
    seed_clinic_day(session, ctx, day_courses)
    # Rating histories (and open suicidality alerts) for the patients with courses.
    seed_assessments(session, ctx, patients)
    # Daily mood charts between visits (a switch warning on the active course).
    seed_mood(session, ctx, patients)
    # Maintenance: a stable course with a booster today, and a relapse that moved one earlier.
    keepers = seed_day_patients(session, ctx, count=2, skip=len(CLINIC_DAY))
    seed_ready_screenings(session, ctx, keepers, consented_days_ago=30)
    seed_maintenance(session, ctx, keepers)
    # Finished inductions with MADRS before and after, for the outcomes dashboard.
    seed_outcomes(session, ctx)
    # Two sites' calendars: the courses' series booked, today's list for the clinic day.
    seed_calendar(session, ctx, planned=courses, day_courses=day_courses)
    # Reminder plans and two days of reminders (after the mood entries, which stop repeats).
    seed_reminders(session, ctx, patients, settings)
    if settings is not None:  # its private key goes to the var folder
        seed_fhir_client(session, ctx, settings)
    # Last: a settings change effective now leaves everything seeded above as it was.
    seed_settings(session, ctx)
    return created


def demo_accounts(session: Session) -> list[DemoAccount]:
    """The demo accounts with the passwords their seed generated."""
    rows = session.execute(select(StaffUser, DemoCredential.password)
                           .join(DemoCredential, DemoCredential.username == StaffUser.username)
                           .order_by(StaffUser.id)).all()
    return [DemoAccount(user.username, user.full_name, user.role, password)
            for user, password in rows]


def demo_data_problem(session: Session) -> str | None:
    """Why this database must not be used in production, if it holds demo data."""
    if session.scalar(select(DemoCredential.username).limit(1)) is not None:
        return "the database holds demo data (seeded by ketaflow demo seed)"
    if session.scalar(select(AuditEvent.id).where(AuditEvent.action == GENERATE_ACTION)
                      .limit(1)) is not None:
        return "the database holds generated data (made by ketaflow demo generate)"
    if session.scalar(select(StaffUser.username).where(
            StaffUser.username.in_(DEMO_USERNAMES), StaffUser.is_active).limit(1)):
        return ("the database has active accounts named like the demo accounts "
                f"({', '.join(sorted(DEMO_USERNAMES))}); deactivate or rename them")
    return None
