"""Prior treatment trials, and the ISBD 2025 treatment-resistance evaluation over them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.clinical import drug_names, resistance
from ketaflow.errors import ValidationFailed
from ketaflow.patients import medication_catalogue as catalogue
from ketaflow.patients.models import Diagnosis, TreatmentTrial, TrialResponse
from ketaflow.patients.service._common import (
    audit,
    clean_text,
    current_demographics,
    get_patient,
    in_range,
    past_day,
    required_text,
)

MAX_DOSE_MG_PER_DAY = 10_000.0
MAX_DURATION_WEEKS = 520.0  # ten years


@dataclass(frozen=True)
class TrialInput:
    drug_name: str
    dose_mg_per_day: float
    duration_weeks: float
    adherence_verified: bool
    response: TrialResponse
    start_date: date | None = None
    partner_drug_name: str | None = None
    partner_dose_mg_per_day: float | None = None
    serum_level_mmol_per_l: float | None = None
    note: str | None = None


def add_treatment_trial(
    session: Session, ctx: AuditContext, *, patient_id: int, trial: TrialInput
) -> TreatmentTrial:
    get_patient(session, patient_id)
    t = trial
    name = _drug(t.drug_name, "drug_name", required=True)
    partner = _drug(t.partner_drug_name, "partner_drug_name", required=False)
    if partner is None and t.partner_dose_mg_per_day is not None:
        # A fixed-dose combination (Symbyax) carries its second component's dose without a
        # second name: file it under that component.
        components = drug_names.COMBINATIONS.get(drug_names.generic_or_typed(name or ""))
        partner = components[1] if components else None
    _dose(t.dose_mg_per_day, "dose_mg_per_day")
    if (partner is None) != (t.partner_dose_mg_per_day is None):
        raise ValidationFailed(
            "a combination needs both the second drug and its dose",
            field="partner_drug_name" if partner is None else "partner_dose_mg_per_day",
        )
    if t.partner_dose_mg_per_day is not None:
        _dose(t.partner_dose_mg_per_day, "partner_dose_mg_per_day")
    if not 0 < t.duration_weeks <= MAX_DURATION_WEEKS:
        raise ValidationFailed(
            f"duration must be more than 0 and at most {MAX_DURATION_WEEKS:g} weeks",
            field="duration_weeks",
        )
    in_range(t.serum_level_mmol_per_l, 0.1, 5.0, "serum_level_mmol_per_l", "serum level", "mmol/L")
    birth = current_demographics(session, patient_id).date_of_birth
    past_day(t.start_date, "start_date", "start date", born=birth)
    row = TreatmentTrial(
        patient_id=patient_id,
        drug_name=name,
        dose_mg_per_day=t.dose_mg_per_day,
        partner_drug_name=partner,
        partner_dose_mg_per_day=t.partner_dose_mg_per_day,
        duration_weeks=t.duration_weeks,
        serum_level_mmol_per_l=t.serum_level_mmol_per_l,
        start_date=t.start_date,
        adherence_verified=t.adherence_verified,
        response=TrialResponse(t.response),
        note=clean_text(t.note, "note", "note", max_length=1000),
        recorded_by_user_id=ctx.actor_user_id,
    )
    session.add(row)
    session.flush()
    audit(session, ctx, "patient.trial.add", patient_id, trial_id=row.id)
    return row


def _drug(value: str | None, field: str, *, required: bool) -> str | None:
    text = (
        required_text(value, field, "Drug", max_length=120)
        if required
        else clean_text(value, field, "second drug", max_length=120)
    )
    drug = catalogue.lookup(text) if text else None
    return drug.name if drug else text


def _dose(value: float, field: str) -> None:
    if not 0 < value <= MAX_DOSE_MG_PER_DAY:
        raise ValidationFailed(
            f"dose must be more than 0 and at most {MAX_DOSE_MG_PER_DAY:g} mg/day", field=field
        )


def list_trials(session: Session, *, patient_id: int) -> list[TreatmentTrial]:
    query = (
        select(TreatmentTrial)
        .where(TreatmentTrial.patient_id == patient_id)
        .order_by(TreatmentTrial.start_date.is_(None), TreatmentTrial.start_date, TreatmentTrial.id)
    )
    return list(session.scalars(query))


def evaluate_resistance(
    diagnosis: Diagnosis | None, trials: list[TreatmentTrial]
) -> resistance.ResistanceEvaluation | None:
    """The ISBD 2025 evaluation (ketaflow.clinical.resistance), or None without a diagnosis:
    adequacy depends on whether the patient has bipolar I or II."""
    if diagnosis is None:
        return None
    inputs = [
        resistance.TrialInput(
            drugs=_drugs(t),
            duration_weeks=t.duration_weeks,
            adherence_verified=t.adherence_verified,
            response=resistance.TrialResponse(t.response.value),
            serum_level_mmol_per_l=t.serum_level_mmol_per_l,
        )
        for t in trials
    ]
    return resistance.evaluate_resistance(
        resistance.BipolarType(diagnosis.bipolar_type.value), inputs
    )


def _drugs(trial: TreatmentTrial) -> tuple[tuple[str, float], ...]:
    if trial.partner_drug_name and trial.partner_dose_mg_per_day is not None:
        return (
            (trial.drug_name, trial.dose_mg_per_day),
            (trial.partner_drug_name, trial.partner_dose_mg_per_day),
        )
    return ((trial.drug_name, trial.dose_mg_per_day),)
