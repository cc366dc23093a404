"""Clinic settings in force at a moment, and the admin's changes to them.

Every threshold is a field of one of five frozen dataclasses declared with
`ketaflow.sourced.setting` (default, source, label, bounds, entry in docs/clinical-sources.md).
A change is a row of `setting_changes`: a value, the moment it takes effect and a reason. Rows are
only added, never altered, so `settings_in_force(db, at)` rebuilds exactly what applied at any
moment: a record made then (an alert, an eligibility verdict, a discharge) keeps its basis however
the settings change later. The dataclasses' own checks (`__post_init__`) run on every combination
a change creates, so a clinic cannot save settings that contradict each other.

The blood-pressure gate is one group applied to both the screening baseline and the chair-side
pre-check, so they can never disagree about the same reading.

Services never commit; the route's unit of work does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import Field, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.clinical.bp_gate import DEFAULT_BP_GATE, BpGateSettings
from ketaflow.clinical.dates import PLANNING_HORIZON_DAYS
from ketaflow.clinical.eligibility import DEFAULT_SETTINGS as DEFAULT_ELIGIBILITY
from ketaflow.clinical.eligibility import EligibilitySettings
from ketaflow.db import utcnow
from ketaflow.dosing.limits import DEFAULT_LIMITS, DosingLimits
from ketaflow.errors import ValidationFailed
from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS as DEFAULT_INFUSION
from ketaflow.infusions.rules.settings import InfusionSettings
from ketaflow.mood.settings import DEFAULT_MOOD_SETTINGS, MoodSettings
from ketaflow.outcomes.settings import DEFAULT_OUTCOME_SETTINGS, OutcomeSettings
from ketaflow.scales.thresholds import DEFAULT_THRESHOLDS, ScaleThresholds
from ketaflow.settings.models import SettingChange
from ketaflow.sourced import SettingInfo, describe
from ketaflow.textcheck import CONTROLS_IN_TEXT, FORBIDDEN_IN_NAMES

ENTITY = "clinic_setting"
# A change may take effect a little in the past (the time typed while the form was open);
# anything earlier would rewrite what records made since then were based on.
EFFECTIVE_FROM_GRACE = timedelta(minutes=5)
REASON_MAX_LENGTH = 500
_CACHE_KEY = "ketaflow.settings.changes"
_BAD_TEXT = re.compile(f"[{CONTROLS_IN_TEXT}{''.join(sorted(FORBIDDEN_IN_NAMES))}]")


@dataclass(frozen=True)
class ClinicSettings:
    """The settings groups as they were (or will be) in force at one moment."""

    scales: ScaleThresholds
    bp_gate: BpGateSettings
    eligibility: EligibilitySettings
    infusion: InfusionSettings
    dosing: DosingLimits
    mood: MoodSettings
    outcomes: OutcomeSettings


DEFAULTS = ClinicSettings(DEFAULT_THRESHOLDS, DEFAULT_BP_GATE, DEFAULT_ELIGIBILITY,
                          DEFAULT_INFUSION, DEFAULT_LIMITS, DEFAULT_MOOD_SETTINGS,
                          DEFAULT_OUTCOME_SETTINGS)


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    purpose: str


# In the order a clinician looks for them; the keys are stored in setting_changes.group_key.
GROUPS: tuple[Group, ...] = (
    Group("scales", "Rating scales", "Flags, response, remission, relapse, switch and "
          "suicidality signals, discharge scores."),
    Group("bp_gate", "Pre-infusion blood pressure", "Applied at screening and again before "
          "every infusion."),
    Group("eligibility", "Screening", "Baseline checks for eligibility."),
    Group("infusion", "Infusion session", "Vital-sign alerts, monitoring schedule and "
          "observation."),
    Group("dosing", "Dosing limits", "Soft limits warn and need a prescriber's reason; hard "
          "limits are refused."),
    Group("mood", "Between visits", "Early warnings from the daily mood chart: personal "
          "baselines, switch, relapse and disengagement."),
    Group("outcomes", "Outcomes dashboard", "When the end of induction is, and the smallest "
          "count a researcher sees."),
)
GROUPS_BY_KEY = {group.key: group for group in GROUPS}


@dataclass(frozen=True)
class SettingsGroup:
    """One group as the settings page shows it."""

    key: str
    title: str
    purpose: str
    settings: tuple[SettingInfo, ...]


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    group_title: str
    setting_name: str
    label: str
    old_value: float
    new_value: float
    is_reset: bool
    effective_from: datetime
    changed_at: datetime
    changed_by: str
    reason: str
    scheduled: bool  # takes effect later than now


@dataclass(frozen=True)
class _Row:
    id: int
    group_key: str
    setting_name: str
    value: float
    effective_from: datetime


# ---------------------------------------------------------------- in force


def _changes(db: Session) -> tuple[_Row, ...]:
    """Every change, by effective time (then by id: the later of two at one moment wins).
    Loaded once per transaction (a request, a vitals batch, a CLI command) and dropped when a
    change is made; a commit or rollback starts afresh."""
    transaction = db.get_transaction()
    cached: tuple[object, tuple[_Row, ...]] | None = db.info.get(_CACHE_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    query = select(SettingChange.id, SettingChange.group_key, SettingChange.setting_name,
                   SettingChange.value, SettingChange.effective_from
                   ).order_by(SettingChange.effective_from, SettingChange.id)
    rows = tuple(_Row(*row) for row in db.execute(query))
    db.info[_CACHE_KEY] = (db.get_transaction(), rows)
    return rows


def forget_cached(db: Session) -> None:
    """Drop the cached changes (after a change)."""
    db.info.pop(_CACHE_KEY, None)


def _overrides(rows: Sequence[_Row], at: datetime) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {group.key: {} for group in GROUPS}
    for row in rows:
        if row.effective_from > at:
            break
        if row.group_key in found:
            found[row.group_key][row.setting_name] = row.value
    return found


def _typed(group: str, values: dict[str, float]) -> dict[str, Any]:
    specs = _setting_fields(group)
    return {name: int(value) if _is_integer(specs[name]) else float(value)
            for name, value in values.items() if name in specs}


def _build(overrides: dict[str, dict[str, float]]) -> ClinicSettings:
    """The dataclasses with the overrides applied; their own validation runs (ValueError)."""
    bp_gate = replace(DEFAULT_BP_GATE, **_typed("bp_gate", overrides["bp_gate"]))
    return ClinicSettings(
        scales=replace(DEFAULT_THRESHOLDS, **_typed("scales", overrides["scales"])),
        bp_gate=bp_gate,
        eligibility=replace(DEFAULT_ELIGIBILITY, bp_gate=bp_gate,
                            **_typed("eligibility", overrides["eligibility"])),
        infusion=replace(DEFAULT_INFUSION, bp_gate=bp_gate,
                         **_typed("infusion", overrides["infusion"])),
        dosing=replace(DEFAULT_LIMITS, **_typed("dosing", overrides["dosing"])),
        mood=replace(DEFAULT_MOOD_SETTINGS, **_typed("mood", overrides["mood"])),
        outcomes=replace(DEFAULT_OUTCOME_SETTINGS, **_typed("outcomes", overrides["outcomes"])),
    )


def settings_in_force(db: Session, at: datetime) -> ClinicSettings:
    """The clinic's settings as they applied at `at` (timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("settings_in_force needs a timezone-aware moment")
    rows = _changes(db)
    if not rows or rows[0].effective_from > at:
        return DEFAULTS
    return _build(_overrides(rows, at))


def _group_instance(settings: ClinicSettings, group: str) -> Any:
    return getattr(settings, group)


def settings_groups(db: Session, at: datetime) -> tuple[SettingsGroup, ...]:
    """Every group with each setting's value in force at `at`, its default, bounds and source."""
    in_force = settings_in_force(db, at)
    return tuple(SettingsGroup(group.key, group.title, group.purpose,
                               describe(_group_instance(in_force, group.key)))
                 for group in GROUPS)


# ---------------------------------------------------------------- changes


def _setting_fields(group: str) -> dict[str, Field[Any]]:
    return {spec.name: spec for spec in fields(_group_instance(DEFAULTS, group))
            if "source" in spec.metadata}


def _default(spec: Field[Any]) -> float:
    return float(spec.default)  # type: ignore[arg-type]  # setting() always gives one


def _is_integer(spec: Field[Any]) -> bool:
    return isinstance(spec.default, int) and not isinstance(spec.default, bool)


def _find(group: str, name: str) -> Field[Any]:
    if group not in GROUPS_BY_KEY:
        raise ValidationFailed("choose a setting from the settings page", field="setting")
    spec = _setting_fields(group).get(name)
    if spec is None:
        raise ValidationFailed("choose a setting from the settings page", field="setting")
    return spec


def _label(spec: Field[Any]) -> str:
    return f"{spec.metadata['label']} ({spec.name})"


def _fmt(value: float) -> str:
    return f"{value:g}"


def bounds_text(info: SettingInfo) -> str:
    """The inclusive bounds an admin may set: "60-240", or "-5 to -2" where a hyphen would
    read as a minus sign."""
    joiner = " to " if info.minimum < 0 or info.maximum < 0 else "-"
    return f"{_fmt(info.minimum)}{joiner}{_fmt(info.maximum)}"


def _check_value(spec: Field[Any], value: object) -> float:
    label = _label(spec)
    minimum, maximum = spec.metadata["minimum"], spec.metadata["maximum"]
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value):
        raise ValidationFailed(f"{label} must be a number", field="value")
    if _is_integer(spec) and value != int(value):
        raise ValidationFailed(f"{label} must be a whole number", field="value")
    if not minimum <= value <= maximum:
        raise ValidationFailed(f"{label} must be from {_fmt(minimum)} to {_fmt(maximum)} "
                               f"(got {_fmt(value)})", field="value")
    return float(value)


def _check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("reason is required: say why the setting changes",
                               field="reason")
    if len(text) > REASON_MAX_LENGTH:
        raise ValidationFailed(f"reason must be at most {REASON_MAX_LENGTH} characters",
                               field="reason")
    if _BAD_TEXT.search(text):
        raise ValidationFailed("reason must not contain control, invisible or text-direction "
                               "characters", field="reason")
    return text


def _check_effective_from(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed("effective from needs a time zone", field="effective_from")
    if value < now - EFFECTIVE_FROM_GRACE:
        raise ValidationFailed(
            "effective from cannot be in the past: records already made keep the settings "
            "they were made with", field="effective_from")
    if value > now + timedelta(days=PLANNING_HORIZON_DAYS):
        raise ValidationFailed(f"effective from must be within {PLANNING_HORIZON_DAYS} days",
                               field="effective_from")
    return value


def _check_combinations(db: Session, candidate: _Row, spec: Field[Any]) -> None:
    """The settings must construct at the new change's moment and at every change scheduled
    after it (their cross-field checks), else the change is refused naming the field."""
    rows = sorted((*_changes(db), candidate), key=lambda r: (r.effective_from, r.id))
    moments = {candidate.effective_from} | {r.effective_from for r in rows
                                            if r.effective_from > candidate.effective_from}
    for moment in sorted(moments):
        try:
            _build(_overrides(rows, moment))
        except ValueError as error:
            raise ValidationFailed(
                f"{_label(spec)} cannot be {_fmt(candidate.value)}: {error}",
                field="value") from None


def _value_before(db: Session, group: str, name: str, at: datetime) -> float:
    return float(getattr(_group_instance(settings_in_force(db, at), group), name))


def change_setting(
    db: Session,
    ctx: AuditContext,
    *,
    group: str,
    name: str,
    value: object,
    reason: str | None,
    effective_from: datetime | None = None,
    now: datetime | None = None,
) -> SettingChange:
    """Record a new value for one setting from `effective_from` (default: now). Refusals name
    the field (setting, value, effective_from, reason) and change nothing."""
    return _record(db, ctx, group=group, name=name, value=value, reason=reason,
                   effective_from=effective_from, now=now, is_reset=False)


def reset_setting(
    db: Session,
    ctx: AuditContext,
    *,
    group: str,
    name: str,
    reason: str | None,
    effective_from: datetime | None = None,
    now: datetime | None = None,
) -> SettingChange:
    """Put one setting back to its shipped default: a change like any other (with a reason)."""
    spec = _find(group, name)
    return _record(db, ctx, group=group, name=name, value=spec.default, reason=reason,
                   effective_from=effective_from, now=now, is_reset=True)


def _record(db: Session, ctx: AuditContext, *, group: str, name: str, value: object,
            reason: str | None, effective_from: datetime | None, now: datetime | None,
            is_reset: bool) -> SettingChange:
    spec = _find(group, name)
    number = _check_value(spec, value)
    text = _check_reason(reason)
    moment = now or utcnow()
    starts = _check_effective_from(effective_from, moment)
    # A candidate id after every stored one: it wins a tie at the same moment, as it will.
    _check_combinations(db, _Row(2**62, group, name, number, starts), spec)
    previous = _value_before(db, group, name, starts)
    change = SettingChange(group_key=group, setting_name=name, value=number, is_reset=is_reset,
                           effective_from=starts, reason=text,
                           changed_by_user_id=ctx.actor_user_id, changed_at=moment)
    db.add(change)
    db.flush()
    forget_cached(db)
    record_event(db, ctx, action="settings.reset" if is_reset else "settings.change",
                 entity_type=ENTITY, entity_id=change.id,
                 detail={"group": group, "setting": name, "from": previous, "to": number,
                         "effective_from": starts.isoformat(), "reason": text})
    return change


# ---------------------------------------------------------------- history


def setting_history(db: Session, *, now: datetime | None = None) -> list[HistoryEntry]:
    """Every change, newest first, with who made it, from when, old -> new and the reason.
    "Old" is the value in force just before the change took effect."""
    moment = now or utcnow()
    query = (select(SettingChange, StaffUser.full_name)
             .outerjoin(StaffUser, StaffUser.id == SettingChange.changed_by_user_id)
             .order_by(SettingChange.effective_from, SettingChange.id))
    rows = db.execute(query).all()
    current: dict[tuple[str, str], float] = {}
    entries = []
    for change, full_name in rows:
        key = (change.group_key, change.setting_name)
        group = GROUPS_BY_KEY.get(change.group_key)
        spec = _setting_fields(change.group_key).get(change.setting_name) if group else None
        default = _default(spec) if spec is not None else change.value
        old = current.get(key, default)
        current[key] = change.value
        entries.append(HistoryEntry(
            id=change.id, group_title=group.title if group else change.group_key,
            setting_name=change.setting_name,
            label=spec.metadata["label"] if spec is not None else change.setting_name,
            old_value=old, new_value=change.value, is_reset=change.is_reset,
            effective_from=change.effective_from, changed_at=change.changed_at,
            changed_by=full_name or "system", reason=change.reason,
            scheduled=change.effective_from > moment))
    entries.sort(key=lambda e: (e.changed_at, e.id), reverse=True)
    return entries
