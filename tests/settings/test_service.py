"""Clinic settings through the service, on both databases: bounds, reasons, effective times,
resets, the history, audit events, and what is in force at a moment."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.audit.service import AuditContext
from ketaflow.config import Role
from ketaflow.errors import ValidationFailed
from ketaflow.settings import service
from ketaflow.settings.models import SettingChange
from tests.support.factories import make_user

HOLD = {"group": "infusion", "name": "hold_sbp_min_mmhg"}


def admin(db: Session) -> AuditContext:
    user = make_user(db, role=Role.ADMIN, full_name="Ada Admin")
    return AuditContext(user.id, user.username, user.role.value, "127.0.0.1", "test")


def events(db: Session) -> list[tuple[str, dict[str, Any]]]:
    rows = db.execute(select(AuditEvent.action, AuditEvent.detail)
                      .where(AuditEvent.entity_type == service.ENTITY)
                      .order_by(AuditEvent.id)).all()
    return [(action, json.loads(detail)) for action, detail in rows]


def change_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(SettingChange)) or 0


def test_nothing_changed_means_the_defaults(db: Session) -> None:
    in_force = service.settings_in_force(db, datetime.now(UTC))
    assert in_force == service.DEFAULTS
    assert in_force.infusion.hold_sbp_min_mmhg == 180
    assert service.setting_history(db) == []


def test_a_change_applies_from_its_effective_time_and_is_audited(db: Session) -> None:
    ctx = admin(db)
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    change = service.change_setting(db, ctx, **HOLD, value=170, effective_from=later,
                                    reason="clinic protocol v2", now=now)
    assert (change.value, change.is_reset, change.changed_by_user_id) == (170, False,
                                                                         ctx.actor_user_id)
    assert service.settings_in_force(db, now).infusion.hold_sbp_min_mmhg == 180
    assert service.settings_in_force(db, later - timedelta(seconds=1)
                                     ).infusion.hold_sbp_min_mmhg == 180
    at_later = service.settings_in_force(db, later).infusion
    assert at_later.hold_sbp_min_mmhg == 170 and isinstance(at_later.hold_sbp_min_mmhg, int)
    assert service.settings_in_force(db, later + timedelta(days=9)
                                     ).infusion.hold_sbp_min_mmhg == 170
    [entry] = service.setting_history(db, now=now)
    assert (entry.old_value, entry.new_value, entry.changed_by, entry.reason) == (
        180, 170, "Ada Admin", "clinic protocol v2")
    assert entry.scheduled and entry.effective_from == later
    assert entry.group_title == "Infusion session" and "SBP" in entry.label
    [(action, detail)] = events(db)
    assert action == "settings.change"
    assert detail == {"group": "infusion", "setting": "hold_sbp_min_mmhg", "from": 180.0,
                      "to": 170.0, "effective_from": later.isoformat(),
                      "reason": "clinic protocol v2"}


def test_the_blood_pressure_gate_is_one_setting_for_screening_and_the_chair(db: Session
                                                                              ) -> None:
    service.change_setting(db, admin(db), group="bp_gate", name="review_sbp_above_mmhg",
                           value=150, reason="local protocol")
    in_force = service.settings_in_force(db, datetime.now(UTC) + timedelta(seconds=1))
    assert in_force.bp_gate.review_sbp_above_mmhg == 150
    assert in_force.eligibility.bp_gate.review_sbp_above_mmhg == 150
    assert in_force.infusion.bp_gate.review_sbp_above_mmhg == 150


def test_bounds_are_inclusive(db: Session) -> None:
    ctx = admin(db)
    for value in (160, 200, 190.0):
        service.change_setting(db, ctx, **HOLD, value=value, reason="edge")
    assert change_count(db) == 3


def test_reset_puts_the_default_back_with_a_reason(db: Session) -> None:
    ctx = admin(db)
    now = datetime.now(UTC)
    service.change_setting(db, ctx, **HOLD, value=170, reason="trial", now=now)
    with pytest.raises(ValidationFailed) as error:
        service.reset_setting(db, ctx, **HOLD, reason="  ")
    assert error.value.field == "reason"
    reset = service.reset_setting(db, ctx, **HOLD, reason="trial over",
                                  effective_from=now + timedelta(minutes=1),
                                  now=now + timedelta(seconds=1))
    assert reset.is_reset and reset.value == 180
    at = now + timedelta(minutes=2)
    assert service.settings_in_force(db, at).infusion.hold_sbp_min_mmhg == 180
    newest, oldest = service.setting_history(db, now=at)
    assert (newest.old_value, newest.new_value, newest.is_reset) == (170, 180, True)
    assert (oldest.old_value, oldest.new_value, oldest.is_reset) == (180, 170, False)
    assert [action for action, _ in events(db)] == ["settings.change", "settings.reset"]


def test_history_lists_every_change_newest_first(db: Session) -> None:
    ctx = admin(db)
    now = datetime.now(UTC)
    for minutes, value in ((0, 175), (1, 170), (2, 165)):
        service.change_setting(db, ctx, **HOLD, value=value, reason=f"step {value}",
                               now=now + timedelta(minutes=minutes))
    history = service.setting_history(db, now=now + timedelta(minutes=3))
    assert [(h.old_value, h.new_value) for h in history] == [(170, 165), (175, 170),
                                                             (180, 175)]


def test_a_change_scheduled_before_a_later_one_changes_the_old_value_shown(db: Session
                                                                            ) -> None:
    ctx = admin(db)
    now = datetime.now(UTC)
    service.change_setting(db, ctx, **HOLD, value=170, reason="from tomorrow",
                           effective_from=now + timedelta(days=1), now=now)
    service.change_setting(db, ctx, **HOLD, value=175, reason="from now", now=now)
    newest, oldest = service.setting_history(db, now=now)
    # Timeline: 180 -> 175 (now) -> 170 (tomorrow); the stored rows are untouched.
    assert (newest.reason, newest.old_value, newest.new_value) == ("from now", 180, 175)
    assert (oldest.reason, oldest.old_value, oldest.new_value) == ("from tomorrow", 175, 170)


REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    ({"group": "infusion", "name": "no_such_setting"}, "setting", "choose a setting"),
    ({"group": "nowhere", "name": "hold_sbp_min_mmhg"}, "setting", "choose a setting"),
    ({"value": 159}, "value", "from 160 to 200 (got 159)"),
    ({"value": 201}, "value", "from 160 to 200 (got 201)"),
    ({"value": 170.5}, "value", "must be a whole number"),
    ({"value": math.nan}, "value", "must be a number"),
    ({"value": math.inf}, "value", "must be a number"),
    ({"value": True}, "value", "must be a number"),
    ({"value": "170"}, "value", "must be a number"),
    ({"reason": None}, "reason", "reason is required"),
    ({"reason": "   "}, "reason", "reason is required"),
    ({"reason": "x" * 501}, "reason", "at most 500 characters"),
    ({"reason": "bad\u0000reason"}, "reason", "control"),
    ({"reason": "evil\u202etext"}, "reason", "text-direction"),
    ({"effective_from": "past"}, "effective_from", "cannot be in the past"),
    ({"effective_from": "naive"}, "effective_from", "needs a time zone"),
    ({"effective_from": "far"}, "effective_from", "within 730 days"),
    # The gate's own check: review must stay below defer (160).
    ({"group": "bp_gate", "name": "review_sbp_above_mmhg", "value": 160}, "value",
     "review_sbp_above_mmhg < defer_sbp_min_mmhg"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), REFUSALS,
                         ids=[f"{f}-{m[:20]}" for _, f, m in REFUSALS])
def test_refusals_name_the_field_and_change_nothing(
    db: Session, overrides: dict[str, Any], field: str, message: str
) -> None:
    ctx = admin(db)
    now = datetime.now(UTC)
    moments = {"past": now - timedelta(minutes=10), "naive": now.replace(tzinfo=None),
               "far": now + timedelta(days=731)}
    arguments: dict[str, Any] = {**HOLD, "value": 170, "reason": "because", **overrides}
    if isinstance(arguments.get("effective_from"), str):
        arguments["effective_from"] = moments[arguments["effective_from"]]
    with pytest.raises(ValidationFailed) as error:
        service.change_setting(db, ctx, now=now, **arguments)
    assert error.value.field == field
    assert message in error.value.detail
    assert change_count(db) == 0 and events(db) == []
    assert service.settings_in_force(db, now + timedelta(days=1)) == service.DEFAULTS


def test_a_time_a_few_minutes_back_is_still_now(db: Session) -> None:
    now = datetime.now(UTC)
    change = service.change_setting(db, admin(db), **HOLD, value=170, reason="typed late",
                                    effective_from=now - timedelta(minutes=3), now=now)
    assert change.effective_from == now - timedelta(minutes=3)


def test_the_settings_page_groups_show_bounds_and_refs(db: Session) -> None:
    groups = {g.key: g for g in service.settings_groups(db, datetime.now(UTC))}
    assert list(groups) == ["scales", "bp_gate", "eligibility", "infusion", "dosing", "mood",
                           "outcomes"]
    hold = {s.name: s for s in groups["infusion"].settings}["hold_sbp_min_mmhg"]
    assert service.bounds_text(hold) == "160-200" and hold.ref == "vital-sign-criteria"
    rass = {s.name: s for s in groups["infusion"].settings}["stop_rass_max"]
    assert service.bounds_text(rass) == "-5 to -2"


def test_a_rolled_back_change_is_not_in_force(db: Session) -> None:
    ctx = admin(db)
    db.commit()
    service.change_setting(db, ctx, **HOLD, value=170, reason="undone")
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert service.settings_in_force(db, later).infusion.hold_sbp_min_mmhg == 170
    db.rollback()
    assert service.settings_in_force(db, later).infusion.hold_sbp_min_mmhg == 180


def test_a_stored_change_is_never_rewritten(db: Session) -> None:
    from ketaflow.settings.models import SettingChangeImmutableError

    change = service.change_setting(db, admin(db), **HOLD, value=170, reason="kept")
    change.value = 150
    with pytest.raises(SettingChangeImmutableError):
        db.flush()
    db.rollback()
    stored = db.scalars(select(SettingChange)).one_or_none()
    assert stored is None or stored.value == 170
