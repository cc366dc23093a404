"""From a stored screening to the clinical cores' inputs, and back to what the pages show."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ketaflow.clinical.eligibility import (
    CHECKLIST,
    BaselineVitals,
    ChecklistItem,
    EligibilityResult,
    EligibilitySettings,
    ScreeningInput,
    checklist_signed_with,
    evaluate_eligibility,
)
from ketaflow.clinical.maudsley import MaudsleyInput, MaudsleyScore, score_maudsley
from ketaflow.clinical.resistance import ResistanceEvaluation
from ketaflow.db import utcnow
from ketaflow.patients.service import trials as patient_trials
from ketaflow.patients.service.diagnosis import current_diagnosis
from ketaflow.screening.models import Screening
from ketaflow.settings.service import ClinicSettings, settings_in_force


@dataclass(frozen=True)
class ScreeningEvaluation:
    eligibility: EligibilityResult
    # None when the patient has no recorded diagnosis (adequacy depends on bipolar I or II).
    resistance: ResistanceEvaluation | None
    # None until every Maudsley input is entered (the score is informational).
    maudsley: MaudsleyScore | None
    # The checklist items asked: the current ones, or those a signed screening was signed with.
    checklist: tuple[ChecklistItem, ...] = CHECKLIST


def evaluate_resistance(session: Session, *, patient_id: int) -> ResistanceEvaluation | None:
    """The ISBD 2025 evaluation of the trials recorded on the patient's record (read live)."""
    diagnosis = current_diagnosis(session, patient_id=patient_id)
    trials = patient_trials.list_trials(session, patient_id=patient_id)
    return patient_trials.evaluate_resistance(diagnosis, trials)


def settings_for(session: Session, row: Screening | None) -> ClinicSettings:
    """The clinic settings a screening is judged by: those in force when it was signed (so a
    later change never rewrites a signed verdict), or now while it is a draft."""
    signed_at = None if row is None else row.signed_at
    return settings_in_force(session, signed_at or utcnow())


def eligibility_settings(session: Session, row: Screening | None = None) -> EligibilitySettings:
    """The eligibility settings `settings_for` gives (for the pages' wording)."""
    return settings_for(session, row).eligibility


def evaluate_row(session: Session, row: Screening) -> ScreeningEvaluation:
    """Evaluate a screening whose answers are loaded.

    A signed screening keeps the resistance verdict it was signed with, so a trial added to the
    record later cannot change a signed outcome; the live evaluation is still returned for display.
    It is also judged against the checklist it was signed with, so items added since neither
    leave it "unanswered" nor change its verdict (the stored `row.outcome` stays the record).
    """
    resistance = evaluate_resistance(session, patient_id=row.patient_id)
    if row.is_signed:
        meets = row.resistance_meets
        checklist = checklist_signed_with({a.item_key for a in row.answers})
    else:
        meets = resistance.meets if resistance is not None else None
        checklist = CHECKLIST
    settings = settings_for(session, row)
    eligibility = evaluate_eligibility(
        screening_input(row, resistance_meets=meets, checklist=checklist),
        settings=settings.eligibility, limits=settings.dosing)
    return ScreeningEvaluation(eligibility, resistance, maudsley_score(row), checklist)


def screening_input(row: Screening, *, resistance_meets: bool | None,
                    checklist: tuple[ChecklistItem, ...] = CHECKLIST) -> ScreeningInput:
    return ScreeningInput(
        answers={a.item_key: a.answer for a in row.answers},
        vitals=baseline_vitals(row),
        ymrs_total=row.ymrs_total,
        ymrs_override_reason=row.ymrs_override_reason,
        pregnancy=row.pregnancy_status,
        pregnancy_test_on=row.pregnancy_test_on,
        resistance_meets=resistance_meets,
        checklist=checklist,
    )


def baseline_vitals(row: Screening) -> BaselineVitals | None:
    """All five readings, or None: a partial set counts as not yet answered."""
    values = (row.systolic_mmhg, row.diastolic_mmhg, row.heart_rate_bpm, row.spo2_pct,
              row.weight_kg)
    if any(v is None for v in values):
        return None
    assert row.systolic_mmhg is not None and row.diastolic_mmhg is not None
    assert row.heart_rate_bpm is not None and row.spo2_pct is not None
    assert row.weight_kg is not None
    return BaselineVitals(row.systolic_mmhg, row.diastolic_mmhg, row.heart_rate_bpm,
                          row.spo2_pct, row.weight_kg)


def maudsley_score(row: Screening) -> MaudsleyScore | None:
    if (row.maudsley_episode_months is None or row.maudsley_severity is None
            or row.maudsley_failed_antidepressants is None
            or row.maudsley_augmentation_used is None or row.maudsley_ect_used is None):
        return None
    return score_maudsley(MaudsleyInput(
        row.maudsley_episode_months, row.maudsley_severity, row.maudsley_failed_antidepressants,
        row.maudsley_augmentation_used, row.maudsley_ect_used))
