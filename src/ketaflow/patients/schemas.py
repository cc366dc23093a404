"""What crosses the JSON API boundary for patients. Not a mirror of the ORM: front desk gets the
patient without the `clinical` key at all, and the clinical summary is assembled, not dumped."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ketaflow.clinical.resistance import ResistanceEvaluation
from ketaflow.inputs import (
    Name,
    PlausibleDate,
    PlausibleMoment,
    RequiredName,
    RequiredText,
    shown,
    within,
)
from ketaflow.patients import units
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.medication_catalogue import DoseUnit, DrugClass
from ketaflow.patients.models import (
    Adherence,
    AllergySeverity,
    Sex,
    SubstanceUse,
    TrialResponse,
)
from ketaflow.patients.service import (
    AllergyStatus,
    ClinicalRecord,
    Demographics,
    DiagnosisInput,
    MedicationInput,
    PatientRecord,
    TrialInput,
)
from ketaflow.patients.service.diagnosis import MAX_SUICIDE_ATTEMPTS
from ketaflow.patients.service.medications import LITHIUM_LEVEL_MAX_MMOL_PER_L, MAX_DOSE_AMOUNT
from ketaflow.patients.service.trials import MAX_DOSE_MG_PER_DAY, MAX_DURATION_WEEKS
from ketaflow.textcheck import CONTROLS_IN_TEXT

_IN = ConfigDict(extra="forbid")
_OUT = ConfigDict(from_attributes=True)
# `ketaflow.patients.service.registry`: a phone is digits, spaces and + ( ) . / - with at
# least six digits; an address has one @ and a dot after it; an entered MRN is 1-32 letters,
# digits, '.', '/' or '-' (upper-cased), never KF- and digits (generated numbers).
PHONE_PATTERN = r"^\+?([ ()./-]*[0-9]){6}[0-9 ()./-]*$"
_NO_AT = f"[^@\\s{CONTROLS_IN_TEXT}]+"
EMAIL_PATTERN = f"^{_NO_AT}@{_NO_AT}\\.{_NO_AT}$"
MRN_PATTERN = r"^(?![Kk][Ff]-[0-9]+$)[A-Za-z0-9][A-Za-z0-9./-]{0,31}$"
# Either unit's human range (`ketaflow.patients.units`), rounded inwards; which one applies
# depends on the unit given with the value.
_WEIGHT_MIN = units.WEIGHT_MIN_KG
_WEIGHT_MAX = math.floor(units.WEIGHT_MAX_KG / units.KG_PER_LB * 10) / 10
_HEIGHT_MIN = math.ceil(units.HEIGHT_MIN_CM / units.CM_PER_IN * 100) / 100
_HEIGHT_MAX = units.HEIGHT_MAX_CM
# mmol/L: a lithium level, or a prior trial's serum level.
Serum = Annotated[float, within(0.1, LITHIUM_LEVEL_MAX_MMOL_PER_L)]
Phone = Annotated[str, shown(pattern=PHONE_PATTERN)]


class DemographicsIn(BaseModel):
    model_config = _IN

    given_name: RequiredName = Field(max_length=100)
    family_name: RequiredName = Field(max_length=100)
    date_of_birth: PlausibleDate = Field(description="not in the future")
    sex: Sex
    phone: Phone | None = Field(default=None, max_length=40)
    email: Annotated[str, shown(pattern=EMAIL_PATTERN)] | None = Field(default=None,
                                                                       max_length=254)
    address: str | None = Field(default=None, max_length=1000)
    emergency_contact_name: Name | None = Field(default=None, max_length=200)
    emergency_contact_phone: Phone | None = Field(default=None, max_length=40)
    referring_clinician: Name | None = Field(default=None, max_length=200)

    def to_service(self) -> Demographics:
        return Demographics(**self.model_dump(include=set(Demographics.__dataclass_fields__)))


class PatientCreate(DemographicsIn):
    mrn: Annotated[str, shown(pattern=MRN_PATTERN, maxLength=32)] | None = Field(
        default=None, max_length=40, description="none: generate KF-000123")
    confirm_same_person: bool = Field(
        default=False, description="true: a patient with the same name and date of birth "
        "exists and this is a different person (otherwise 409)")


class DemographicsAmend(DemographicsIn):
    reason: RequiredText = Field(max_length=500,
                                 description="why the previous version was wrong")


class DemographicsOut(BaseModel):
    model_config = _OUT

    version: int
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    phone: str | None
    email: str | None
    address: str | None
    emergency_contact_name: str | None
    emergency_contact_phone: str | None
    referring_clinician: str | None
    amendment_reason: str | None
    recorded_at: datetime
    superseded_at: datetime | None


class PatientListItem(BaseModel):
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex


class MeasurementIn(BaseModel):
    model_config = _IN

    weight: Annotated[float, within(_WEIGHT_MIN, _WEIGHT_MAX)] | None = Field(
        default=None, description="20-350 kg or 44.1-771.6 lb")
    weight_unit: Literal["kg", "lb"] | None = Field(default=None,
                                                    description="required with weight")
    height: Annotated[float, within(_HEIGHT_MIN, _HEIGHT_MAX)] | None = Field(
        default=None, description="100-250 cm or 39.38-98.42 in")
    height_unit: Literal["cm", "in"] | None = Field(default=None,
                                                    description="required with height")
    measured_at: PlausibleMoment | None = Field(default=None, description="default: now")
    confirm_weight_change: bool = Field(
        default=False, description="must be true to store a weight that differs from the "
        "previous one by more than the clinic's threshold (default 10%); otherwise 422 naming "
        "this field")


class EnteredInError(BaseModel):
    """Why an entry was made in error (required); the entry is kept, marked."""

    model_config = _IN

    reason: RequiredText = Field(max_length=500)


class _Marked(BaseModel):
    entered_in_error_at: datetime | None = None
    entered_in_error_by_user_id: int | None = None
    entered_in_error_reason: str | None = None


class MeasurementOut(_Marked):
    model_config = _OUT

    id: int
    measured_at: datetime
    weight_kg: float | None
    height_cm: float | None
    weight_entered: float | None
    weight_entered_unit: str | None
    height_entered: float | None
    height_entered_unit: str | None
    recorded_at: datetime
    confirmed_weight_change_percent: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Literal["final", "entered-in-error"]:
        """The FHIR Observation status: entries marked entered in error are kept, not removed."""
        return "entered-in-error" if self.entered_in_error_at else "final"


class AllergyIn(BaseModel):
    model_config = _IN

    substance: RequiredText = Field(max_length=200)
    reaction: str | None = Field(default=None, max_length=500)
    severity: AllergySeverity = AllergySeverity.UNKNOWN


class AllergyOut(BaseModel):
    model_config = _OUT

    id: int
    substance: str
    reaction: str | None
    severity: AllergySeverity
    recorded_at: datetime


class NoKnownAllergiesOut(BaseModel):
    model_config = _OUT

    id: int
    recorded_at: datetime
    recorded_by_user_id: int | None
    superseded_at: datetime | None


class DiagnosisIn(BaseModel):
    model_config = _IN

    bipolar_type: BipolarType
    current_episode: Episode
    severity: Severity | None = None
    psychosis_history: bool
    substance_use: SubstanceUse
    substance_use_note: str | None = Field(default=None, max_length=1000)
    suicide_attempts: Annotated[int, within(0, MAX_SUICIDE_ATTEMPTS)] = 0
    last_suicide_attempt_date: PlausibleDate | None = None
    onset_date: PlausibleDate | None = None
    episode_start_date: PlausibleDate | None = None
    reason: str | None = Field(default=None, max_length=500,
                               description="required when revising a diagnosis")

    def to_service(self) -> DiagnosisInput:
        return DiagnosisInput(**self.model_dump(exclude={"reason"}))


class DiagnosisOut(BaseModel):
    model_config = _OUT

    id: int
    bipolar_type: BipolarType
    current_episode: Episode
    severity: Severity | None
    icd10_code: str
    snomed_code: str
    onset_date: date | None
    episode_start_date: date | None
    psychosis_history: bool
    substance_use: SubstanceUse
    substance_use_note: str | None
    suicide_attempts: int
    last_suicide_attempt_date: date | None
    amendment_reason: str | None
    recorded_at: datetime
    superseded_at: datetime | None


class MedicationIn(BaseModel):
    model_config = _IN

    drug_name: RequiredText = Field(max_length=120)
    dose_amount: Annotated[float, within(0, MAX_DOSE_AMOUNT, above=True)]
    dose_unit: DoseUnit
    adherence: Adherence = Adherence.UNKNOWN
    drug_class: DrugClass | None = Field(
        default=None, description="required for a drug not in the catalogue")
    start_date: PlausibleDate | None = None
    stop_date: PlausibleDate | None = None
    lithium_level_mmol_per_l: Serum | None = None
    lithium_level_date: PlausibleDate | None = None
    note: str | None = Field(default=None, max_length=1000)
    confirm_above_max_daily_dose: bool = Field(
        default=False, description="must be true, with a reason, to store a daily dose above the "
        "catalogue's label maximum for the drug")
    above_max_daily_dose_reason: str | None = Field(default=None, max_length=500)

    def to_service(self) -> MedicationInput:
        return MedicationInput(**self.model_dump())


class MedicationStop(BaseModel):
    model_config = _IN

    stop_date: PlausibleDate


class MedicationOut(_Marked):
    model_config = _OUT

    id: int
    drug_name: str
    drug_class: DrugClass
    dose_amount: float
    dose_unit: DoseUnit
    start_date: date | None
    stop_date: date | None
    adherence: Adherence
    lithium_level_mmol_per_l: float | None
    lithium_level_date: date | None
    note: str | None
    recorded_at: datetime
    current: bool | None = None
    diazepam_equivalent_mg_per_day: float | None = None
    above_max_daily_dose_reason: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Literal["active", "completed", "entered-in-error"]:
        """The FHIR MedicationStatement status (a stop date today or later is still active)."""
        if self.entered_in_error_at:
            return "entered-in-error"
        if self.stop_date is not None and self.stop_date <= datetime.now(UTC).date():
            return "completed"
        return "active"


class TrialIn(BaseModel):
    model_config = _IN

    drug_name: RequiredText = Field(max_length=120)
    dose_mg_per_day: Annotated[float, within(0, MAX_DOSE_MG_PER_DAY, above=True)]
    duration_weeks: Annotated[float, within(0, MAX_DURATION_WEEKS, above=True)]
    adherence_verified: bool
    response: TrialResponse
    start_date: PlausibleDate | None = None
    partner_drug_name: str | None = Field(default=None, max_length=120)
    partner_dose_mg_per_day: Annotated[
        float, within(0, MAX_DOSE_MG_PER_DAY, above=True)] | None = None
    serum_level_mmol_per_l: Serum | None = None
    note: str | None = Field(default=None, max_length=1000)

    def to_service(self) -> TrialInput:
        return TrialInput(**self.model_dump())


class TrialOut(BaseModel):
    model_config = _OUT

    id: int
    drug_name: str
    dose_mg_per_day: float
    partner_drug_name: str | None
    partner_dose_mg_per_day: float | None
    duration_weeks: float
    serum_level_mmol_per_l: float | None
    start_date: date | None
    adherence_verified: bool
    response: TrialResponse
    note: str | None
    recorded_at: datetime


class BenzodiazepineLoadOut(BaseModel):
    total_diazepam_mg_per_day: float
    flagged: bool
    threshold_mg_per_day: float
    flag_text: str
    source: str
    flag_source: str
    unconverted: list[str]


class InteractionNoteOut(BaseModel):
    kind: str
    severity: str
    text: str
    source: str
    drugs: list[str]


class TrialJudgementOut(BaseModel):
    index: int
    counts: bool
    reasons: list[str]


class ResistanceOut(BaseModel):
    meets: bool
    verdict: str
    adequate_failed_count: int
    required_count: int
    source: str
    trials: list[TrialJudgementOut]


class ClinicalOut(BaseModel):
    diagnosis: DiagnosisOut | None
    latest_weight_kg: float | None
    latest_height_cm: float | None
    allergy_status: AllergyStatus
    no_known_allergies: list[NoKnownAllergiesOut]
    allergies: list[AllergyOut]
    medications: list[MedicationOut]
    benzodiazepine_load: BenzodiazepineLoadOut | None
    interaction_notes: list[InteractionNoteOut]
    trials: list[TrialOut]
    resistance: ResistanceOut | None


class PatientOut(BaseModel):
    id: int
    mrn: str
    created_at: datetime
    demographics: DemographicsOut
    # Present only for roles that may read clinical data; front desk never gets the key (the
    # routes serialise with exclude_unset, and the field is set only for clinical readers).
    clinical: ClinicalOut | None = None


def patient_out(record: PatientRecord) -> PatientOut:
    base = {
        "id": record.patient.id,
        "mrn": record.patient.mrn,
        "created_at": record.patient.created_at,
        "demographics": DemographicsOut.model_validate(record.demographics),
    }
    if record.clinical is None:
        return PatientOut(**base)
    return PatientOut(**base, clinical=clinical_out(record.clinical))


def medications_out(clinical: ClinicalRecord) -> list[MedicationOut]:
    views = [v for g in clinical.medication_overview.groups
             for v in (*g.current, *g.past, *g.in_error)]
    return [
        MedicationOut(
            **MedicationOut.model_validate(v.medication).model_dump(
                exclude={"current", "diazepam_equivalent_mg_per_day", "status"}
            ),
            current=v.current,
            diazepam_equivalent_mg_per_day=v.diazepam_equivalent_mg_per_day,
        )
        for v in views
    ]


def resistance_out(evaluation: ResistanceEvaluation | None) -> ResistanceOut | None:
    if evaluation is None:
        return None
    return ResistanceOut(
        meets=evaluation.meets,
        verdict=evaluation.verdict,
        adequate_failed_count=evaluation.adequate_failed_count,
        required_count=evaluation.required_count,
        source=evaluation.source,
        trials=[
            TrialJudgementOut(index=t.index, counts=t.counts, reasons=list(t.reasons))
            for t in evaluation.trials
        ],
    )


def clinical_out(clinical: ClinicalRecord) -> ClinicalOut:
    weight, height = clinical.latest_weight, clinical.latest_height
    overview = clinical.medication_overview
    load = overview.benzodiazepine_load
    return ClinicalOut(
        diagnosis=DiagnosisOut.model_validate(clinical.diagnosis) if clinical.diagnosis else None,
        latest_weight_kg=weight.weight_kg if weight else None,
        latest_height_cm=height.height_cm if height else None,
        allergy_status=clinical.allergy_status,
        no_known_allergies=[NoKnownAllergiesOut.model_validate(n)
                            for n in clinical.no_known_allergies],
        allergies=[AllergyOut.model_validate(a) for a in clinical.allergies],
        medications=medications_out(clinical),
        benzodiazepine_load=(
            BenzodiazepineLoadOut(
                total_diazepam_mg_per_day=load.total_diazepam_mg_per_day,
                flagged=load.flagged,
                threshold_mg_per_day=load.threshold_mg_per_day,
                flag_text=load.flag_text,
                source=load.source,
                flag_source=load.flag_source,
                unconverted=list(load.unconverted),
            )
            if load
            else None
        ),
        interaction_notes=[
            InteractionNoteOut(
                kind=note.kind.value,
                severity=note.severity,
                text=note.text,
                source=note.source,
                drugs=drugs,
            )
            for note, drugs in overview.notes
        ],
        trials=[TrialOut.model_validate(t) for t in clinical.trials],
        resistance=resistance_out(clinical.resistance),
    )
