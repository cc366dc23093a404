"""Clinical forms of the patient record: measurements, allergies, diagnosis, medications, trials.

Each form is its own page (large targets on a tablet); a refused entry re-renders the form with
the message next to its field (422) and everything typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.errors import KetaflowError, NotFound
from ketaflow.patients import forms, service
from ketaflow.patients import medication_catalogue as catalogue
from ketaflow.patients.diagnosis_codes import SEVERITY_LABELS, BipolarType, Episode
from ketaflow.patients.models import (
    Adherence,
    AllergySeverity,
    SubstanceUse,
    TrialResponse,
)
from ketaflow.patients.routes import render_patient_page
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(prefix="/patients/{patient_id}", include_in_schema=False,
                   route_class=UnitOfWorkRoute)

DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]

CHOICES = {
    "severities": SEVERITY_LABELS,
    "bipolar_types": list(BipolarType),
    "episodes": list(Episode),
    "substance_uses": list(SubstanceUse),
    "adherences": list(Adherence),
    "allergy_severities": list(AllergySeverity),
    "responses": list(TrialResponse),
    "dose_units": list(catalogue.DoseUnit),
    "drug_classes": catalogue.CLASS_LABELS,
    "drug_names": catalogue.drug_names(),
    "confirm_weight_change_label": service.CONFIRM_WEIGHT_CHANGE_LABEL,
    "confirm_above_max_label": service.CONFIRM_ABOVE_MAX_LABEL,
    "above_max_reason_label": service.ABOVE_MAX_REASON_LABEL,
    "max_daily_dose_source": catalogue.MAX_DAILY_DOSE_SOURCE,
}


def _form_page(
    request: Request, db: Session, patient_id: int, template: str, **context: object
) -> Response:
    record = service.read_patient(db, audit_context(request), patient_id=patient_id, clinical=True)
    status = 422 if context.get("error") else 200
    context.setdefault("form", {})
    return render(
        request,
        f"patients/{template}.html",
        {
            "record": record,
            "clinic_timezone": web_forms.clinic_zone(request),
            **CHOICES,
            **context,
        },
        status_code=status,
    )


def _submit(
    request: Request,
    db: Session,
    patient_id: int,
    template: str,
    form: web_forms.Form,
    use_case: Callable[[], object],
    notice: str,
) -> Response:
    try:
        use_case()
    except NotFound:
        raise
    except KetaflowError as exc:
        return _form_page(
            request, db, patient_id, template, **web_forms.error_context(exc), form=form
        )
    return RedirectResponse(f"/patients/{patient_id}?notice={notice}", status_code=303)


# ---------------------------------------------------------------- measurements


@router.get("/measurements/new")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def measurement_page(request: Request, db: DB, patient_id: int) -> Response:
    return _measurement_page(request, db, patient_id)


def _measurement_page(request: Request, db: Session, patient_id: int, **context: object
                      ) -> Response:
    return _form_page(request, db, patient_id, "measurement_form",
                      weight_change_threshold=service.weight_change_threshold_percent(db),
                      **context)


@router.post("/measurements")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_measurement(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    def use_case() -> object:
        with web_forms.collect_errors() as check:
            weight = check(web_forms.optional_number, form, "weight", "Weight")
            height = check(web_forms.optional_number, form, "height", "Height")
            measured_at = check(web_forms.optional_datetime, form, "measured_at", "Measured at",
                                web_forms.clinic_zone(request))
        return service.record_measurement(
            db,
            audit_context(request),
            patient_id=patient_id,
            weight=weight,
            weight_unit=web_forms.text(form, "weight_unit"),
            height=height,
            height_unit=web_forms.text(form, "height_unit"),
            measured_at=measured_at,
            confirm_weight_change=form.get(service.CONFIRM_WEIGHT_CHANGE_FIELD) == "yes",
        )

    try:
        use_case()
    except NotFound:
        raise
    except KetaflowError as exc:
        return _measurement_page(request, db, patient_id, **web_forms.error_context(exc),
                                 form=form)
    return RedirectResponse(f"/patients/{patient_id}?notice=measurement", status_code=303)


# ---------------------------------------------------------------- entered in error

KINDS = {"measurements": "measurement", "medications": "medication"}


def _entry(db: Session, kind: str, patient_id: int, entry_id: int) -> object:
    if kind == "measurements":
        return service.get_measurement(db, patient_id=patient_id, measurement_id=entry_id)
    return service.get_medication(db, patient_id=patient_id, medication_id=entry_id)


def _in_error_page(request: Request, db: Session, patient_id: int, kind: str, entry_id: int,
                   **context: object) -> Response:
    return _form_page(request, db, patient_id, "entered_in_error", kind=KINDS[kind],
                      kind_path=kind, entry=_entry(db, kind, patient_id, entry_id), **context)


@router.get("/measurements/{measurement_id}/entered-in-error")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def measurement_in_error_page(request: Request, db: DB, patient_id: int,
                              measurement_id: int) -> Response:
    return _in_error_page(request, db, patient_id, "measurements", measurement_id)


@router.post("/measurements/{measurement_id}/entered-in-error")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def mark_measurement_in_error(request: Request, db: DB, patient_id: int, measurement_id: int,
                              form: FORM) -> Response:
    """Mark a measurement entered in error (kept, struck through, audited)."""
    return _mark_in_error(request, db, patient_id, "measurements", measurement_id, form)


@router.get("/medications/{medication_id}/entered-in-error")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def medication_in_error_page(request: Request, db: DB, patient_id: int,
                             medication_id: int) -> Response:
    return _in_error_page(request, db, patient_id, "medications", medication_id)


@router.post("/medications/{medication_id}/entered-in-error")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def mark_medication_in_error(request: Request, db: DB, patient_id: int, medication_id: int,
                             form: FORM) -> Response:
    """Mark a medication entry entered in error (kept, struck through, audited)."""
    return _mark_in_error(request, db, patient_id, "medications", medication_id, form)


def _mark_in_error(request: Request, db: Session, patient_id: int, kind: str, entry_id: int,
                   form: web_forms.Form) -> Response:
    ctx, reason = audit_context(request), web_forms.text(form, "reason")
    try:
        if kind == "measurements":
            service.mark_measurement_entered_in_error(
                db, ctx, patient_id=patient_id, measurement_id=entry_id, reason=reason)
        else:
            service.mark_medication_entered_in_error(
                db, ctx, patient_id=patient_id, medication_id=entry_id, reason=reason)
    except NotFound:
        raise
    except KetaflowError as exc:
        return _in_error_page(request, db, patient_id, kind, entry_id, error=exc.detail,
                              error_field=exc.field, form=form)
    return RedirectResponse(f"/patients/{patient_id}?notice=entered_in_error",
                            status_code=303)


# ---------------------------------------------------------------- allergies


@router.get("/allergies/new")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def allergy_page(request: Request, db: DB, patient_id: int) -> Response:
    return _form_page(request, db, patient_id, "allergy_form")


@router.post("/allergies")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_allergy(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    def use_case() -> object:
        with web_forms.collect_errors() as check:
            substance = check.require(form, "substance", "Substance")
            severity = check(web_forms.choice, form, "severity", AllergySeverity, "a severity")
        return service.record_allergy(
            db,
            audit_context(request),
            patient_id=patient_id,
            substance=substance,
            reaction=web_forms.text(form, "reaction"),
            severity=severity,
        )

    return _submit(request, db, patient_id, "allergy_form", form, use_case, "allergy")


@router.post("/allergies/none")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def no_known_allergies(request: Request, db: DB, patient_id: int) -> Response:
    """Record "no known allergies" (asked, none): refused while allergies are listed."""
    try:
        service.record_no_known_allergies(db, audit_context(request), patient_id=patient_id)
    except NotFound:
        raise
    except KetaflowError as exc:
        return render_patient_page(request, db, patient_id, error=exc.detail)
    return RedirectResponse(f"/patients/{patient_id}?notice=no_known_allergies",
                            status_code=303)


# ---------------------------------------------------------------- diagnosis


@router.get("/diagnosis/new")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def diagnosis_page(request: Request, db: DB, patient_id: int) -> Response:
    return _form_page(request, db, patient_id, "diagnosis_form")


@router.post("/diagnosis")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_diagnosis(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    def use_case() -> object:
        return service.record_diagnosis(
            db,
            audit_context(request),
            patient_id=patient_id,
            diagnosis=forms.diagnosis(form),
            reason=web_forms.text(form, "reason"),
        )

    return _submit(request, db, patient_id, "diagnosis_form", form, use_case, "diagnosis")


# ---------------------------------------------------------------- medications


@router.get("/medications/new")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def medication_page(request: Request, db: DB, patient_id: int) -> Response:
    return _form_page(request, db, patient_id, "medication_form")


@router.post("/medications")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_medication(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    def use_case() -> object:
        return service.add_medication(
            db, audit_context(request), patient_id=patient_id, medication=forms.medication(form)
        )

    return _submit(request, db, patient_id, "medication_form", form, use_case, "medication")


@router.post("/medications/{medication_id}/stop")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def stop_medication(
    request: Request, db: DB, patient_id: int, medication_id: int, form: FORM
) -> Response:
    try:
        service.stop_medication(
            db,
            audit_context(request),
            patient_id=patient_id,
            medication_id=medication_id,
            stop_date=web_forms.required_date(form, "stop_date", "stop date"),
        )
    except NotFound:
        raise
    except KetaflowError as exc:
        return render_patient_page(
            request, db, patient_id, error=exc.detail, stop_error_id=medication_id
        )
    return RedirectResponse(f"/patients/{patient_id}?notice=stopped", status_code=303)


# ---------------------------------------------------------------- prior treatment trials


@router.get("/trials/new")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def trial_page(request: Request, db: DB, patient_id: int) -> Response:
    return _form_page(request, db, patient_id, "trial_form")


@router.post("/trials")
@requires(Permission.PATIENTS_CLINICAL_WRITE)
def add_trial(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    def use_case() -> object:
        return service.add_treatment_trial(
            db, audit_context(request), patient_id=patient_id, trial=forms.trial(form)
        )

    return _submit(request, db, patient_id, "trial_form", form, use_case, "trial")
