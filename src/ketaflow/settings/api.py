"""Clinic settings over the JSON API: the settings in force, their history, and a change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.db import utcnow
from ketaflow.settings import service
from ketaflow.settings.schemas import (
    HistoryEntryOut,
    SettingChangeIn,
    SettingChangeOut,
    SettingsGroupOut,
    SettingsInForceOut,
)
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(tags=["settings"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]


@router.get("/settings/clinical", response_model=SettingsInForceOut)
@requires(Permission.HOME_VIEW)
def settings_in_force(db: DB) -> SettingsInForceOut:
    """Every clinic setting in force now, by group, with its default, bounds and source."""
    moment = utcnow()
    return SettingsInForceOut(at=moment, groups=[
        SettingsGroupOut.of(group) for group in service.settings_groups(db, moment)])


@router.get("/settings/clinical/history", response_model=list[HistoryEntryOut])
@requires(Permission.HOME_VIEW)
def setting_history(db: DB) -> list[HistoryEntryOut]:
    """Every change, newest first (old -> new is the value in force just before it)."""
    return [HistoryEntryOut.of(entry) for entry in service.setting_history(db)]


@router.post("/settings/clinical/changes", response_model=SettingChangeOut, status_code=201)
@requires(Permission.SETTINGS_EDIT)
def change_setting(request: Request, db: DB, body: SettingChangeIn) -> SettingChangeOut:
    """Change one setting (or reset it to its default) from `effective_from`, with a reason.
    Refusals are 422 problems naming the field (`setting`, `value`, `effective_from`,
    `reason`); nothing is changed."""
    ctx = audit_context(request)
    if body.reset:
        change = service.reset_setting(db, ctx, group=body.group, name=body.name,
                                       reason=body.reason, effective_from=body.effective_from)
    else:
        change = service.change_setting(db, ctx, group=body.group, name=body.name,
                                        value=body.value, reason=body.reason,
                                        effective_from=body.effective_from)
    return SettingChangeOut.of(change)
