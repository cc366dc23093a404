"""Medication history grouped by class, with benzodiazepine load and ketamine-relevant notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.errors import Conflict, NotFound, ValidationFailed
from ketaflow.patients import medication_catalogue as catalogue
from ketaflow.patients.medication_catalogue import DoseUnit, DrugClass
from ketaflow.patients.models import Adherence, Medication
from ketaflow.patients.service._common import (
    audit,
    birth_date,
    clean_text,
    current_demographics,
    get_patient,
    in_range,
    mark_entered_in_error,
    not_before,
    past_day,
    required_text,
    today,
)

MAX_DOSE_AMOUNT = 100_000.0
LITHIUM_LEVEL_MAX_MMOL_PER_L = 5.0


@dataclass(frozen=True)
class MedicationInput:
    drug_name: str
    dose_amount: float
    dose_unit: DoseUnit
    adherence: Adherence = Adherence.UNKNOWN
    # Needed only for drugs not in the catalogue; for listed drugs it must agree.
    drug_class: DrugClass | None = None
    start_date: date | None = None
    stop_date: date | None = None
    lithium_level_mmol_per_l: float | None = None
    lithium_level_date: date | None = None
    note: str | None = None
    # A daily dose above the catalogue's label maximum needs both (clinical-sources.md
    # #daily-dose-maximum).
    confirm_above_max_daily_dose: bool = False
    above_max_daily_dose_reason: str | None = None


CONFIRM_ABOVE_MAX_LABEL = "Confirm dose above the maximum"
ABOVE_MAX_REASON_LABEL = "Reason for a dose above the maximum"


def add_medication(
    session: Session, ctx: AuditContext, *, patient_id: int, medication: MedicationInput
) -> Medication:
    get_patient(session, patient_id)
    m = medication
    raw_name = required_text(m.drug_name, "drug_name", "Drug", max_length=120)
    drug = catalogue.lookup(raw_name)
    drug_class = _drug_class(drug, m.drug_class)
    if not 0 < m.dose_amount <= MAX_DOSE_AMOUNT:
        raise ValidationFailed(
            f"Dose must be more than 0 and at most {MAX_DOSE_AMOUNT:g}", field="dose_amount"
        )
    birth = current_demographics(session, patient_id).date_of_birth
    _check_dates(m.start_date, m.stop_date, birth)
    _check_lithium(drug, m, birth)
    above_max_reason = _check_daily_maximum(drug, m)
    row = Medication(
        patient_id=patient_id,
        # Catalogue drugs are stored by generic name, so brand and generic entries group together.
        drug_name=drug.name if drug else raw_name,
        drug_class=drug_class,
        dose_amount=m.dose_amount,
        dose_unit=DoseUnit(m.dose_unit),
        start_date=m.start_date,
        stop_date=m.stop_date,
        adherence=Adherence(m.adherence),
        lithium_level_mmol_per_l=m.lithium_level_mmol_per_l,
        lithium_level_date=m.lithium_level_date,
        note=clean_text(m.note, "note", "note", max_length=1000),
        above_max_daily_dose_reason=above_max_reason,
        recorded_by_user_id=ctx.actor_user_id,
    )
    session.add(row)
    session.flush()
    audit(session, ctx, "patient.medication.add", patient_id, medication_id=row.id,
          above_max_daily_dose=above_max_reason is not None)
    return row


def _check_daily_maximum(drug: catalogue.Drug | None, m: MedicationInput) -> str | None:
    """The reason to store when the daily dose is above the catalogue's maximum (refused without
    a confirmation and a reason); None when there is no maximum or the dose is within it."""
    if drug is None:
        return None
    maximum = catalogue.max_daily_dose_exceeded(drug.name, m.dose_amount, DoseUnit(m.dose_unit))
    if maximum is None:
        return None
    if not m.confirm_above_max_daily_dose:
        raise ValidationFailed(
            f"Dose is above the label maximum for {drug.name} of {maximum:g} mg/day: check it, "
            f"or tick \u201c{CONFIRM_ABOVE_MAX_LABEL}\u201d and give a reason",
            field="dose_amount",
        )
    return required_text(m.above_max_daily_dose_reason, "above_max_daily_dose_reason",
                         ABOVE_MAX_REASON_LABEL, max_length=500)


def _drug_class(drug: catalogue.Drug | None, chosen: DrugClass | None) -> DrugClass:
    if drug is None:
        if chosen is None:
            raise ValidationFailed(
                "this drug is not in the catalogue: choose its class", field="drug_class"
            )
        return DrugClass(chosen)
    if chosen is not None and chosen != drug.drug_class:
        raise ValidationFailed(
            f"the catalogue lists this drug as {drug.drug_class.value.replace('_', ' ')}: "
            "leave the class empty or choose that",
            field="drug_class",
        )
    return drug.drug_class


def _check_dates(start: date | None, stop: date | None, birth: date) -> None:
    past_day(start, "start_date", "start date", born=birth)
    past_day(stop, "stop_date", "stop date", born=birth)
    not_before(stop, start, "stop_date", "stop date cannot be before the start date")


def _check_lithium(drug: catalogue.Drug | None, m: MedicationInput, birth: date) -> None:
    has_level = m.lithium_level_mmol_per_l is not None or m.lithium_level_date is not None
    if not has_level:
        return
    if drug is None or drug.name != "lithium":
        raise ValidationFailed(
            "a serum level is recorded for lithium only", field="lithium_level_mmol_per_l"
        )
    if m.lithium_level_mmol_per_l is None or m.lithium_level_date is None:
        raise ValidationFailed(
            "give both the lithium level and the date it was taken",
            field="lithium_level_mmol_per_l",
        )
    in_range(
        m.lithium_level_mmol_per_l,
        0.1,
        LITHIUM_LEVEL_MAX_MMOL_PER_L,
        "lithium_level_mmol_per_l",
        "lithium level",
        "mmol/L",
    )
    past_day(m.lithium_level_date, "lithium_level_date", "lithium level date", born=birth)


def stop_medication(
    session: Session, ctx: AuditContext, *, patient_id: int, medication_id: int, stop_date: date
) -> Medication:
    """Record that a current medication was stopped (the only change a medication row takes)."""
    row = _medication(session, patient_id, medication_id)
    if row.entered_in_error:
        raise Conflict("this medication is marked entered in error", field="stop_date")
    if row.stop_date is not None:
        raise Conflict("this medication already has a stop date", field="stop_date")
    past_day(stop_date, "stop_date", "stop date", born=birth_date(session, patient_id))
    not_before(stop_date, row.start_date, "stop_date", "stop date cannot be before the start date")
    row.stop_date = stop_date
    audit(session, ctx, "patient.medication.stop", patient_id, medication_id=row.id)
    return row


def mark_medication_entered_in_error(
    session: Session, ctx: AuditContext, *, patient_id: int, medication_id: int,
    reason: str | None,
) -> Medication:
    """Keep the entry, marked entered in error with the reason; it leaves the current list, the
    benzodiazepine load, the interaction notes and the screening prefill."""
    row = _medication(session, patient_id, medication_id)
    mark_entered_in_error(row, ctx, reason)
    audit(session, ctx, "patient.medication.entered_in_error", patient_id,
          medication_id=row.id)
    return row


def get_medication(session: Session, *, patient_id: int, medication_id: int) -> Medication:
    return _medication(session, patient_id, medication_id)


def _medication(session: Session, patient_id: int, medication_id: int) -> Medication:
    # Both ids in the query: a medication id from another patient's record is simply not found.
    row = session.scalar(
        select(Medication).where(
            Medication.id == medication_id, Medication.patient_id == patient_id
        )
    )
    if row is None:
        raise NotFound("no such medication for this patient")
    return row


def list_medications(session: Session, *, patient_id: int) -> list[Medication]:
    query = (
        select(Medication)
        .where(Medication.patient_id == patient_id)
        .order_by(Medication.drug_class, Medication.drug_name, Medication.id)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class MedicationView:
    medication: Medication
    current: bool
    diazepam_equivalent_mg_per_day: float | None


@dataclass(frozen=True)
class ClassGroup:
    drug_class: DrugClass
    label: str
    current: list[MedicationView]
    past: list[MedicationView]
    # Kept and shown struck through; counted nowhere.
    in_error: list[MedicationView]


@dataclass(frozen=True)
class MedicationOverview:
    groups: list[ClassGroup]
    benzodiazepine_load: catalogue.BenzodiazepineLoad | None
    notes: list[tuple[catalogue.InteractionNote, list[str]]]


def counts_toward_load(medication: Medication) -> bool:
    """A benzodiazepine (as filed) or a catalogue Z-drug: both go into the diazepam-equivalent
    load (docs/clinical-sources.md#benzodiazepine-load)."""
    drug = catalogue.lookup(medication.drug_name)
    return medication.drug_class is DrugClass.BENZODIAZEPINE or (
        drug is not None and drug.counts_toward_load)


def is_current(medication: Medication, on: date | None = None) -> bool:
    """Taken on `on` (today): not stopped by then, and not an entry made in error."""
    if medication.entered_in_error:
        return False
    return medication.stop_date is None or medication.stop_date > (on or today())


def medication_overview(
    medications: list[Medication], on: date | None = None
) -> MedicationOverview:
    """Group by class; total the current benzodiazepine and Z-drug load; list notes for current
    drugs."""
    views = [
        MedicationView(
            m,
            is_current(m, on),
            catalogue.diazepam_equivalent_mg_per_day(m.drug_name, m.dose_amount, m.dose_unit),
        )
        for m in medications
    ]
    groups = [
        ClassGroup(
            kind,
            catalogue.CLASS_LABELS[kind],
            [v for v in views if v.medication.drug_class is kind and v.current],
            [v for v in views if v.medication.drug_class is kind and not v.current
             and not v.medication.entered_in_error],
            [v for v in views if v.medication.drug_class is kind and v.medication.entered_in_error],
        )
        for kind in DrugClass
    ]
    current = [v.medication for v in views if v.current]
    benzos = [m for m in current if counts_toward_load(m)]
    load = (
        catalogue.benzodiazepine_load((m.drug_name, m.dose_amount, m.dose_unit) for m in benzos)
        if benzos
        else None
    )
    return MedicationOverview(
        groups=[g for g in groups if g.current or g.past or g.in_error],
        benzodiazepine_load=load,
        notes=catalogue.interaction_notes(m.drug_name for m in current),
    )
