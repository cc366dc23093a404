"""Turning submitted HTML form fields (all strings) into service inputs.

Every problem raises ValidationFailed naming the field by its label, so the form re-renders
with the message next to it and everything else the user typed kept. Each form is read inside
`collect_errors()`: one submission reports every bad field at once.
"""

from __future__ import annotations

from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.medication_catalogue import DoseUnit, DrugClass
from ketaflow.patients.models import Adherence, Sex, SubstanceUse, TrialResponse
from ketaflow.patients.service import Demographics, DiagnosisInput, MedicationInput, TrialInput
from ketaflow.web.forms import (
    Form,
    choice,
    collect_errors,
    optional_choice,
    optional_date,
    optional_number,
    required_date,
    required_number,
    text,
    whole_number,
    yes_no,
)


def demographics(form: Form) -> Demographics:
    with collect_errors() as check:
        return Demographics(
            given_name=check.require(form, "given_name", "Given name"),
            family_name=check.require(form, "family_name", "Family name"),
            date_of_birth=check(required_date, form, "date_of_birth", "Date of birth"),
            sex=check(choice, form, "sex", Sex, "a sex"),
            phone=text(form, "phone"),
            email=text(form, "email"),
            address=text(form, "address"),
            emergency_contact_name=text(form, "emergency_contact_name"),
            emergency_contact_phone=text(form, "emergency_contact_phone"),
            referring_clinician=text(form, "referring_clinician"),
        )


def diagnosis(form: Form) -> DiagnosisInput:
    return DiagnosisInput(
        bipolar_type=choice(form, "bipolar_type", BipolarType, "bipolar I or II"),
        current_episode=choice(form, "current_episode", Episode, "the current episode"),
        severity=optional_choice(form, "severity", Severity, "severity"),
        psychosis_history=yes_no(form, "psychosis_history", "history of psychosis"),
        substance_use=choice(form, "substance_use", SubstanceUse, "substance use"),
        substance_use_note=text(form, "substance_use_note"),
        suicide_attempts=whole_number(form, "suicide_attempts", "suicide attempts"),
        last_suicide_attempt_date=optional_date(
            form, "last_suicide_attempt_date", "most recent attempt date"
        ),
        onset_date=optional_date(form, "onset_date", "onset date"),
        episode_start_date=optional_date(form, "episode_start_date", "episode start date"),
    )


def medication(form: Form) -> MedicationInput:
    with collect_errors() as check:
        return MedicationInput(
            drug_name=check.require(form, "drug_name", "Drug"),
            dose_amount=check(required_number, form, "dose_amount", "Dose"),
            dose_unit=check(choice, form, "dose_unit", DoseUnit, "a dose unit"),
            adherence=check(optional_choice, form, "adherence", Adherence, "Adherence")
            or Adherence.UNKNOWN,
            drug_class=check(optional_choice, form, "drug_class", DrugClass,
                             "Class (unlisted drugs)"),
            start_date=check(optional_date, form, "start_date", "Start date"),
            stop_date=check(optional_date, form, "stop_date", "Stop date"),
            lithium_level_mmol_per_l=check(optional_number, form, "lithium_level_mmol_per_l",
                                           "Lithium level (mmol/L)"),
            lithium_level_date=check(optional_date, form, "lithium_level_date",
                                     "Lithium level taken on"),
            note=text(form, "note"),
            confirm_above_max_daily_dose=form.get("confirm_above_max_daily_dose") == "yes",
            above_max_daily_dose_reason=text(form, "above_max_daily_dose_reason"),
        )


def trial(form: Form) -> TrialInput:
    return TrialInput(
        drug_name=form.get("drug_name", ""),
        dose_mg_per_day=required_number(form, "dose_mg_per_day", "dose"),
        duration_weeks=required_number(form, "duration_weeks", "duration"),
        adherence_verified=yes_no(form, "adherence_verified", "adherence verified"),
        response=choice(form, "response", TrialResponse, "the response"),
        start_date=optional_date(form, "start_date", "start date"),
        partner_drug_name=text(form, "partner_drug_name"),
        partner_dose_mg_per_day=optional_number(form, "partner_dose_mg_per_day", "second dose"),
        serum_level_mmol_per_l=optional_number(form, "serum_level_mmol_per_l", "serum level"),
        note=text(form, "note"),
    )
