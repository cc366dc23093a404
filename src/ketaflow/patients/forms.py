"""Turning submitted HTML form fields (all strings) into service inputs.

Every problem raises ValidationFailed naming the field, so the form re-renders with the message
next to it and everything else the user typed kept.
"""

from __future__ import annotations

from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.medication_catalogue import DoseUnit, DrugClass
from ketaflow.patients.models import Adherence, Sex, SubstanceUse, TrialResponse
from ketaflow.patients.service import Demographics, DiagnosisInput, MedicationInput, TrialInput
from ketaflow.web.forms import (
    Form,
    choice,
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
    return Demographics(
        given_name=form.get("given_name", ""),
        family_name=form.get("family_name", ""),
        date_of_birth=required_date(form, "date_of_birth", "date of birth"),
        sex=choice(form, "sex", Sex, "a sex"),
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
    return MedicationInput(
        drug_name=form.get("drug_name", ""),
        dose_amount=required_number(form, "dose_amount", "dose"),
        dose_unit=choice(form, "dose_unit", DoseUnit, "a dose unit"),
        adherence=optional_choice(form, "adherence", Adherence, "adherence") or Adherence.UNKNOWN,
        drug_class=optional_choice(form, "drug_class", DrugClass, "class"),
        start_date=optional_date(form, "start_date", "start date"),
        stop_date=optional_date(form, "stop_date", "stop date"),
        lithium_level_mmol_per_l=optional_number(form, "lithium_level_mmol_per_l", "lithium level"),
        lithium_level_date=optional_date(form, "lithium_level_date", "lithium level date"),
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
