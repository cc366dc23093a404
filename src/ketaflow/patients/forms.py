"""Turning submitted HTML form fields (all strings) into service inputs.

Every problem raises ValidationFailed naming the field, so the form re-renders with the message
next to it and everything else the user typed kept.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import TypeVar

from fastapi import Request

from ketaflow.errors import ValidationFailed
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.medication_catalogue import DoseUnit, DrugClass
from ketaflow.patients.models import Adherence, Sex, SubstanceUse, TrialResponse
from ketaflow.patients.service import Demographics, DiagnosisInput, MedicationInput, TrialInput

Form = dict[str, str]
E = TypeVar("E", bound=StrEnum)


async def form_fields(request: Request) -> Form:
    """The submitted fields as strings (a dependency; Starlette caches the parsed form)."""
    form = await request.form()
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


def text(form: Form, name: str) -> str | None:
    return form.get(name) or None


def optional_date(form: Form, name: str, label: str) -> date | None:
    raw = form.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{label} must be a date (YYYY-MM-DD)", field=name) from None


def required_date(form: Form, name: str, label: str) -> date:
    value = optional_date(form, name, label)
    if value is None:
        raise ValidationFailed(f"{label} is required", field=name)
    return value


def optional_number(form: Form, name: str, label: str) -> float | None:
    raw = form.get(name, "").replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed(f"{label} must be a number", field=name) from None
    if not math.isfinite(value):
        raise ValidationFailed(f"{label} must be a number", field=name)
    return value


def required_number(form: Form, name: str, label: str) -> float:
    value = optional_number(form, name, label)
    if value is None:
        raise ValidationFailed(f"{label} is required", field=name)
    return value


def whole_number(form: Form, name: str, label: str, default: int = 0) -> int:
    raw = form.get(name, "")
    if not raw:
        return default
    if not raw.lstrip("-").isdigit():
        raise ValidationFailed(f"{label} must be a whole number", field=name)
    return int(raw)


def optional_choice(form: Form, name: str, kind: type[E], label: str) -> E | None:
    raw = form.get(name, "")
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ValidationFailed(f"choose a valid {label}", field=name) from None


def choice(form: Form, name: str, kind: type[E], label: str) -> E:
    value = optional_choice(form, name, kind, label)
    if value is None:
        raise ValidationFailed(f"choose {label}", field=name)
    return value


def yes_no(form: Form, name: str, label: str) -> bool:
    raw = form.get(name, "")
    if raw not in ("yes", "no"):
        raise ValidationFailed(f"answer yes or no: {label}", field=name)
    return raw == "yes"


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
