"""The clinic profile over the JSON API: every staff member reads it; an admin saves a new
version (the same rules and audit as the page)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.clinic import service
from ketaflow.clinic.schemas import ProfileIn, ProfileOut
from ketaflow.config import Settings
from ketaflow.web.deps import audit_context, get_db, get_settings
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["clinic"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
SETTINGS = Annotated[Settings, Depends(get_settings)]


def _out(db: Session, settings: Settings) -> ProfileOut:
    profile = service.get_profile(db)
    entry = service.current_entry(db) or service.ProfileEntry(name="")
    return ProfileOut(
        version=None if profile is None else profile.id,
        **{**asdict(entry), "name": entry.name or None},
        timezone_in_force=service.effective_timezone(db, settings),
        crisis_lines_configured=service.crisis_lines(db).configured,
        saved_at=None if profile is None else profile.saved_at,
        saved_by_user_id=None if profile is None else profile.saved_by_user_id)


@router.get("/clinic/profile", response_model=ProfileOut)
@requires(Permission.HOME_VIEW)
def read_profile(db: DB, settings: SETTINGS) -> ProfileOut:
    return _out(db, settings)


@router.put("/clinic/profile", response_model=ProfileOut,
            responses=problem(422, "A field is refused (named in `field`); nothing changed."))
@requires(Permission.CLINIC_PROFILE_EDIT)
def save_profile(request: Request, db: DB, settings: SETTINGS, body: ProfileIn) -> ProfileOut:
    service.update_profile(db, audit_context(request),
                           entry=service.ProfileEntry(**body.model_dump()),
                           production=service.is_production(settings))
    return _out(db, settings)
