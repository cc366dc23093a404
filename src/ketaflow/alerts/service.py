"""Raising alerts from ratings, listing them, and acknowledging them. Services never commit.

Signals come from `ketaflow.scales.longitudinal.safety_signals`, so the rules (and the clinic's
thresholds) live in one place. An alert stays open until a prescriber acknowledges it with a note
saying what was done; alerts are never deleted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ketaflow.alerts.models import Alert, AlertKind, AlertSeverity
from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.auth.permissions import Permission, role_has
from ketaflow.db import utcnow
from ketaflow.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ketaflow.patients.models import Patient
from ketaflow.patients.service.identity import PatientIdentity, patient_identities
from ketaflow.scales import DEFAULT_THRESHOLDS, ScaleThresholds, ScoreResult
from ketaflow.scales.longitudinal import Rating, safety_signals

ENTITY = "alert"
NOTE_MIN_LENGTH = 5
NOTE_MAX_LENGTH = 1000

SEVERITY: dict[AlertKind, AlertSeverity] = {
    AlertKind.CSSRS_HIGH: AlertSeverity.URGENT,
    AlertKind.SUICIDALITY_URGENT: AlertSeverity.URGENT,
    AlertKind.CSSRS_MODERATE: AlertSeverity.URGENT,
    AlertKind.SAME_DAY_REVIEW: AlertSeverity.URGENT,
    AlertKind.PROBABLE_MANIA: AlertSeverity.HIGH,
    AlertKind.CSSRS_SCREEN: AlertSeverity.HIGH,
    AlertKind.POSSIBLE_SWITCH: AlertSeverity.MODERATE,
    AlertKind.MOOD_SWITCH: AlertSeverity.HIGH,
    AlertKind.MOOD_RELAPSE: AlertSeverity.HIGH,
    AlertKind.MOOD_DISENGAGEMENT: AlertSeverity.MODERATE,
}
# Kinds by what they signal; the pre-infusion check waits for both to be acknowledged.
SUICIDALITY_KINDS = frozenset({AlertKind.CSSRS_HIGH, AlertKind.SUICIDALITY_URGENT,
                               AlertKind.CSSRS_MODERATE, AlertKind.SAME_DAY_REVIEW,
                               AlertKind.CSSRS_SCREEN})
SWITCH_KINDS = frozenset({AlertKind.PROBABLE_MANIA, AlertKind.POSSIBLE_SWITCH,
                          AlertKind.MOOD_SWITCH})
MOOD_KINDS = frozenset({AlertKind.MOOD_SWITCH, AlertKind.MOOD_RELAPSE,
                        AlertKind.MOOD_DISENGAGEMENT})
_SEVERITY_ORDER = {AlertSeverity.URGENT: 0, AlertSeverity.HIGH: 1, AlertSeverity.MODERATE: 2}

TITLES: dict[AlertKind, str] = {
    AlertKind.CSSRS_HIGH: "C-SSRS high risk: notify prescriber, show emergency pathway",
    AlertKind.SUICIDALITY_URGENT: "Suicidality item on the urgent pathway: notify prescriber now, "
                                  "crisis content shown",
    AlertKind.CSSRS_MODERATE: "C-SSRS moderate risk: same-day prescriber review",
    AlertKind.SAME_DAY_REVIEW: "Same-day clinician review (MADRS item 10)",
    AlertKind.CSSRS_SCREEN: "Suicidality item positive: C-SSRS screen needed",
    AlertKind.PROBABLE_MANIA: "Probable mania",
    AlertKind.POSSIBLE_SWITCH: "Possible switch to (hypo)mania",
    AlertKind.MOOD_SWITCH: "Mood chart: possible switch to (hypo)mania, review before the "
                           "next infusion",
    AlertKind.MOOD_RELAPSE: "Mood chart: possible depressive relapse, consider an earlier "
                            "booster",
    AlertKind.MOOD_DISENGAGEMENT: "Mood chart: no entries, contact the patient",
}


@dataclass(frozen=True)
class AlertRow:
    """An alert with what a list shows beside it: the patient's name, date of birth and MRN,
    the instrument (None for a mood-chart alert, which shows its reason instead)."""

    alert: Alert
    patient: PatientIdentity
    instrument_id: str | None

    @property
    def title(self) -> str:
        return TITLES[self.alert.kind]


def raise_alerts(
    session: Session,
    ctx: AuditContext,
    *,
    patient_id: int,
    assessment_id: int,
    rated_at: datetime,
    result: ScoreResult,
    thresholds: ScaleThresholds = DEFAULT_THRESHOLDS,
) -> list[Alert]:
    """Create one alert per signal kind of this rating that has no alert yet."""
    existing = set(session.scalars(
        select(Alert.kind).where(Alert.source_assessment_id == assessment_id)))
    created = []
    for signal in safety_signals([Rating(rated_at, result)], thresholds):
        kind = AlertKind(str(signal.kind))
        if kind in existing:
            continue
        existing.add(kind)
        alert = Alert(
            patient_id=patient_id,
            kind=kind,
            severity=SEVERITY[kind],
            source_assessment_id=assessment_id,
            actions=",".join(str(action) for action in signal.actions),
            created_at=utcnow(),
        )
        session.add(alert)
        session.flush()
        record_event(session, ctx, action="alert.create", entity_type=ENTITY, entity_id=alert.id,
                     detail={"patient_id": patient_id, "assessment_id": assessment_id,
                             "kind": str(kind)})
        created.append(alert)
    return created


def _rows(session: Session, alerts: Sequence[Alert]) -> list[AlertRow]:
    who = patient_identities(session, (alert.patient_id for alert in alerts))
    return [AlertRow(alert=alert, patient=who[alert.patient_id],
                     instrument_id=None if alert.source is None else alert.source.instrument_id)
            for alert in alerts]


def _sorted(alerts: Sequence[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (_SEVERITY_ORDER[a.severity], -a.created_at.timestamp(),
                                         -a.id))


def list_open_alerts(session: Session, ctx: AuditContext) -> list[AlertRow]:
    """Every open alert across patients, most severe and newest first (the clinic's worklist)."""
    alerts = session.scalars(
        select(Alert).where(Alert.acknowledged_at.is_(None))
        .options(selectinload(Alert.source), selectinload(Alert.acknowledged_by)))
    rows = _rows(session, _sorted(list(alerts)))
    record_event(session, ctx, action="alert.list", entity_type=ENTITY,
                 detail={"scope": "open", "count": len(rows),
                         "patient_ids": sorted({row.alert.patient_id for row in rows})})
    return rows


def list_patient_alerts(session: Session, ctx: AuditContext, *, patient_id: int
                        ) -> list[AlertRow]:
    """A patient's alerts, open ones first, then acknowledged ones (newest first)."""
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    alerts = list(session.scalars(
        select(Alert).where(Alert.patient_id == patient_id)
        .options(selectinload(Alert.source), selectinload(Alert.acknowledged_by))))
    ordered = sorted(_sorted(alerts), key=lambda a: not a.is_open)
    record_event(session, ctx, action="alert.list", entity_type=ENTITY,
                 detail={"scope": "patient", "patient_id": patient_id, "count": len(ordered)})
    return _rows(session, ordered)


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.scalar(
        select(Alert).where(Alert.id == alert_id)
        .options(selectinload(Alert.source), selectinload(Alert.acknowledged_by))
        .execution_options(populate_existing=True))
    if alert is None:
        raise NotFound("no such alert")
    return alert


def acknowledge_alert(
    session: Session,
    ctx: AuditContext,
    *,
    alert_id: int,
    user_id: int,
    note: str,
) -> Alert:
    """Close an alert: only a role holding ALERTS_ACKNOWLEDGE (prescribers), with a note."""
    user = session.get(StaffUser, user_id)
    if user is None or not user.is_active or not role_has(user.role,
                                                           Permission.ALERTS_ACKNOWLEDGE):
        raise PermissionDenied("only a prescriber can acknowledge an alert")
    alert = get_alert(session, alert_id)
    if not alert.is_open:
        raise Conflict("this alert has already been acknowledged")
    cleaned = (note or "").strip()
    if len(cleaned) < NOTE_MIN_LENGTH:
        raise ValidationFailed("say briefly what was done (at least 5 characters)",
                               field="note")
    if len(cleaned) > NOTE_MAX_LENGTH:
        raise ValidationFailed(f"the note must be at most {NOTE_MAX_LENGTH} characters",
                               field="note")
    alert.acknowledged_by_user_id = user.id
    alert.acknowledged_at = utcnow()
    alert.action_note = cleaned
    session.flush()
    record_event(session, ctx, action="alert.acknowledge", entity_type=ENTITY,
                 entity_id=alert.id, detail={"patient_id": alert.patient_id,
                                             "kind": str(alert.kind)})
    return get_alert(session, alert.id)


def open_alert_count(session: Session, *, patient_id: int) -> int:
    return len(list(session.scalars(
        select(Alert.id).where(Alert.patient_id == patient_id,
                               Alert.acknowledged_at.is_(None)))))


def open_patient_alerts(session: Session, *, patient_id: int,
                        kinds: Collection[AlertKind] = SUICIDALITY_KINDS | SWITCH_KINDS
                        ) -> list[Alert]:
    """A patient's open alerts of the given kinds, oldest first. Not audited: callers audit
    what they show."""
    return list(session.scalars(
        select(Alert).where(Alert.patient_id == patient_id, Alert.acknowledged_at.is_(None),
                            Alert.kind.in_(list(kinds)))
        .order_by(Alert.created_at, Alert.id)))
