"""A later change of a setting never rewrites a record made before it: alerts and verdicts keep
the basis they were made with, and what comes after uses the new value (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.clinical.eligibility import Outcome
from ketaflow.config import Role
from ketaflow.infusions import service as infusions
from ketaflow.infusions.models import SessionAlert
from ketaflow.infusions.rules import AlertLevel, SessionAction, VitalsReading
from ketaflow.screening import service as screening
from ketaflow.settings import service
from tests.infusions.factories import ctx_for, make_clinic, ready_to_start
from tests.screening.factories import make_patient, prescriber, signed_screening
from tests.support.factories import SYSTEM, make_user


def test_vitals_alerts_keep_the_threshold_in_force_when_they_were_raised(db: Session) -> None:
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    infusions.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.START)

    def reading(sbp: int) -> infusions.VitalsOutcome:
        return infusions.record_vitals(db, clinic.nurse_ctx, session_id=record.id,
                                       reading=VitalsReading(datetime.now(UTC), sbp_mmhg=sbp,
                                                             dbp_mmhg=95, hr_bpm=80))

    before = reading(175)
    # Below the default hold (180): a prescriber review, against 160/100.
    assert [(a.level, a.code) for a in before.alerts] == [(AlertLevel.REVIEW, "bp-high")]
    before_id, before_message = before.alerts[0].id, before.alerts[0].message
    changed_at = datetime.now(UTC)
    admin = ctx_for(make_user(db, role=Role.ADMIN))
    service.change_setting(db, admin, group="infusion", name="hold_sbp_min_mmhg", value=170,
                           reason="clinic protocol v2", effective_from=changed_at,
                           now=changed_at)

    after = reading(175)
    # The new hold (170): this reading and the one before are both at or above it.
    assert [(a.level, a.code) for a in after.alerts] == [(AlertLevel.HOLD, "bp-severe-repeat")]
    assert "170/110" in after.alerts[0].message
    db.expire_all()
    kept = db.scalars(select(SessionAlert).where(SessionAlert.id == before_id)).one()
    assert (kept.level, kept.code, kept.message) == (AlertLevel.REVIEW, "bp-high",
                                                     before_message)
    assert service.settings_in_force(db, before.vitals.taken_at
                                     ).infusion.hold_sbp_min_mmhg == 180
    assert service.settings_in_force(db, after.vitals.taken_at
                                     ).infusion.hold_sbp_min_mmhg == 170
    chair = infusions.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    shown = {s.name: s.value for s in chair.settings}
    assert shown["hold_sbp_min_mmhg"] == 170


def test_a_signed_screening_keeps_the_blood_pressure_gate_it_was_signed_with(db: Session
                                                                              ) -> None:
    doctor = prescriber(db)
    signed = signed_screening(db, make_patient(db, adequate_trials=2), doctor,
                              systolic_mmhg=145)
    assert signed.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS
    admin = ctx_for(make_user(db, role=Role.ADMIN))
    service.change_setting(db, admin, group="bp_gate", name="review_sbp_above_mmhg", value=150,
                           reason="local protocol", effective_from=datetime.now(UTC))

    view = screening.read_screening(db, SYSTEM, screening_id=signed.id)
    assert view.evaluation.eligibility.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS
    assert [f.key for f in view.evaluation.eligibility.findings] == ["baseline_bp"]
    draft = screening.start_screening(db, SYSTEM, patient_id=make_patient(db, adequate_trials=2).id,
                                      entry=screening_entry(systolic_mmhg=145))
    assert draft.outcome is Outcome.ELIGIBLE
    assert screening.eligibility_settings(db).bp_gate.review_sbp_above_mmhg == 150
    assert screening.eligibility_settings(db, signed).bp_gate.review_sbp_above_mmhg == 140


def screening_entry(**overrides: object) -> screening.ScreeningEntry:
    from tests.screening.factories import entry

    return entry(**overrides)
