"""Treatment-course pages: the patient-page section, planning a course, the course page with its
planned dates, state buttons and baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from ketaflow.assessments.history import course_baselines
from ketaflow.auth.permissions import Permission, requires
from ketaflow.clinical import course_plan
from ketaflow.clinical.course_plan import CourseState, Frequency
from ketaflow.courses import maintenance, service
from ketaflow.db import utcnow
from ketaflow.errors import KetaflowError, ValidationFailed
from ketaflow.patients import sections
from ketaflow.patients import service as patients
from ketaflow.patients.service.identity import staff_labels
from ketaflow.scales.longitudinal import FALLBACK_LABELS, BaselineFallback
from ketaflow.web import forms as web_forms
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
FORM = Annotated[web_forms.Form, Depends(web_forms.form_fields)]

sections.register_section(
    "courses/_patient_section.html", Permission.PATIENTS_CLINICAL_READ, order=30)

NOTICES = {
    "planned": "Course planned.",
    "state": "Course state changed.",
    "baseline": "Course baseline updated.",
    "fallback": "Baseline choice saved.",
    "maintenance": "Maintenance planned: confirm each booster's date.",
    "booster": "Booster confirmed: it is on the day's list on its date.",
    "booster-cancelled": "Booster cancelled: it is off the day's list and the life chart.",
}
# Short enough for a select on a tablet; the course page shows the full labels.
SHORT_FREQUENCY_LABELS = {
    Frequency.MON_WED_FRI: "Mon/Wed/Fri",
    Frequency.MON_THU: "Mon/Thu",
    Frequency.EVERY_2_DAYS: "Every 2 days",
    Frequency.EVERY_3_DAYS: "Every 3 days",
}
STATE_LABELS = {
    CourseState.ACTIVE: "Start or resume",
    CourseState.MAINTENANCE: "Move to maintenance",
    CourseState.PAUSED: "Pause",
    CourseState.COMPLETED: "Complete",
    CourseState.STOPPED: "Stop",
}


@router.get("/patients/{patient_id}/courses/_summary")
@requires(Permission.PATIENTS_CLINICAL_READ)
def summary_fragment(request: Request, db: DB, patient_id: int) -> Response:
    summary = service.course_summary(db, audit_context(request), patient_id=patient_id)
    return render(request, "courses/_summary.html", {"summary": summary, "patient_id": patient_id})


def _plan_page(
    request: Request, db: Session, patient_id: int, status_code: int = 200, **context: object
) -> Response:
    record = patients.read_patient(db, audit_context(request), patient_id=patient_id,
                                   clinical=False)
    readiness = service.course_readiness(db, patient_id=patient_id)
    return render(request, "courses/form.html", {
        "record": record, "readiness": readiness, "frequencies": list(Frequency),
        "frequency_labels": SHORT_FREQUENCY_LABELS,
        "limits": service.dosing_limits(db, utcnow()), "source": course_plan.SOURCE_INDUCTION,
        **context,
    }, status_code=status_code)


@router.get("/patients/{patient_id}/courses/new")
@requires(Permission.COURSES_MANAGE)
def plan_page(request: Request, db: DB, patient_id: int) -> Response:
    soft_max_mg = service.dosing_limits(db, utcnow()).soft_max_mg
    defaults = {"infusion_count": "6", "frequency": Frequency.MON_WED_FRI.value,
                "dose_mg_per_kg": "0.5", "max_dose_mg": f"{soft_max_mg:g}",
                "skip_weekends": "yes"}
    return _plan_page(request, db, patient_id, form=defaults)


@router.post("/patients/{patient_id}/courses")
@requires(Permission.COURSES_MANAGE)
def plan_course(request: Request, db: DB, patient_id: int, form: FORM) -> Response:
    try:
        course = service.plan_course(db, audit_context(request), patient_id=patient_id,
                                     entry=_course_entry(form))
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _plan_page(request, db, patient_id, status_code=exc.status_code, form=form,
                          error=exc.detail, error_field=exc.field)
    return RedirectResponse(f"/courses/{course.id}?notice=planned", status_code=303)


def _course_entry(form: web_forms.Form) -> service.CourseEntry:
    count = web_forms.optional_int(form, "infusion_count", "Number of infusions")
    dose = web_forms.optional_number(form, "dose_mg_per_kg", "Dose")
    cap = web_forms.optional_number(form, "max_dose_mg", "Maximum dose")
    frequency = web_forms.optional_choice(form, "frequency", Frequency, "frequency")
    if count is None or dose is None or cap is None or frequency is None:
        missing = next(name for name, value in (("infusion_count", count), ("frequency", frequency),
                                                ("dose_mg_per_kg", dose), ("max_dose_mg", cap))
                       if value is None)
        raise ValidationFailed("this field is required", field=missing)
    return service.CourseEntry(
        start_on=web_forms.required_date(form, "start_on", "First infusion date"),
        infusion_count=count, frequency=frequency, skip_weekends=form.get("skip_weekends") == "yes",
        dose_mg_per_kg=dose, max_dose_mg=cap,
        baseline_on=web_forms.optional_date(form, "baseline_on", "Baseline date"))


def _course_page(
    request: Request, db: Session, course_id: int, status_code: int = 200, **context: object
) -> Response:
    ctx = audit_context(request)
    view = service.read_course(db, ctx, course_id=course_id)
    record = patients.read_patient(db, ctx, patient_id=view.course.patient_id, clinical=False)
    return render(request, "courses/view.html", {
        "view": view, "record": record, "state_labels": STATE_LABELS,
        "reason_required": course_plan.REASON_REQUIRED,
        "baselines": course_baselines(db, ctx, course=view.course),
        "fallback_labels": FALLBACK_LABELS,
        "staff": staff_labels(db, [u for b in view.boosters
                                   for u in (b.confirmed_by_user_id, b.cancelled_by_user_id)]),
        **context,
    }, status_code=status_code)


def _on_course(request: Request, db: Session, course_id: int, act: Callable[[], None],
               notice: str) -> Response:
    """Run one change to the course and show it with `notice`; a refusal re-renders the page
    with its message (a missing course or booster stays a 404)."""
    try:
        act()
    except KetaflowError as exc:
        if exc.status_code == 404:
            raise
        return _course_page(request, db, course_id, status_code=exc.status_code,
                            error=exc.detail, error_field=exc.field)
    return RedirectResponse(f"/courses/{course_id}?notice={notice}", status_code=303)


@router.get("/courses/{course_id}")
@requires(Permission.PATIENTS_CLINICAL_READ)
def course_page(request: Request, db: DB, course_id: int, notice: str = "") -> Response:
    return _course_page(request, db, course_id, notice=NOTICES.get(notice))


@router.post("/courses/{course_id}/state")
@requires(Permission.COURSES_MANAGE)
def change_state(request: Request, db: DB, course_id: int, form: FORM) -> Response:
    def act() -> None:
        target = web_forms.optional_choice(form, "state", CourseState, "course state")
        if target is None:
            raise ValidationFailed("choose a course state", field="state")
        service.change_course_state(db, audit_context(request), course_id=course_id,
                                    target=target, reason=form.get("reason"))

    return _on_course(request, db, course_id, act, "state")


@router.post("/courses/{course_id}/baseline")
@requires(Permission.COURSES_MANAGE)
def set_baseline(request: Request, db: DB, course_id: int, form: FORM) -> Response:
    def act() -> None:
        service.set_course_baseline(
            db, audit_context(request), course_id=course_id,
            baseline_on=web_forms.required_date(form, "baseline_on", "Baseline date"))

    return _on_course(request, db, course_id, act, "baseline")


@router.post("/courses/{course_id}/baseline-fallback")
@requires(Permission.COURSES_MANAGE)
def set_baseline_fallback(request: Request, db: DB, course_id: int, form: FORM) -> Response:
    def act() -> None:
        fallback = web_forms.optional_choice(form, "baseline_fallback", BaselineFallback,
                                             "baseline fallback")
        service.set_baseline_fallback(db, audit_context(request), course_id=course_id,
                                      fallback=fallback)

    return _on_course(request, db, course_id, act, "fallback")


@router.post("/courses/{course_id}/maintenance")
@requires(Permission.COURSES_MANAGE)
def plan_maintenance(request: Request, db: DB, course_id: int) -> Response:
    def act() -> None:
        maintenance.plan_maintenance(db, audit_context(request), course_id=course_id)

    return _on_course(request, db, course_id, act, "maintenance#maintenance")


@router.post("/courses/{course_id}/boosters/{booster_id}/confirm")
@requires(Permission.COURSES_MANAGE)
def confirm_booster(request: Request, db: DB, course_id: int, booster_id: int, form: FORM
                    ) -> Response:
    def act() -> None:
        choice = form.get("choice", "")
        if choice not in ("earlier", "planned"):
            raise ValidationFailed("choose the earlier date or the planned date", field="choice")
        maintenance.confirm_booster(
            db, audit_context(request), booster_id=booster_id, course_id=course_id,
            user_id=require_principal(request).user_id, take_earlier=choice == "earlier",
            zone=web_forms.clinic_zone(request))

    return _on_course(request, db, course_id, act, "booster#maintenance")


@router.post("/courses/{course_id}/boosters/cancel")
@requires(Permission.COURSES_MANAGE)
def cancel_booster(request: Request, db: DB, course_id: int, form: FORM) -> Response:
    def act() -> None:
        booster_id = web_forms.whole_number(form, "booster_id", "Booster")
        maintenance.cancel_booster(
            db, audit_context(request), booster_id=booster_id, course_id=course_id,
            user_id=require_principal(request).user_id, reason=form.get("cancel_reason", ""))

    return _on_course(request, db, course_id, act, "booster-cancelled#maintenance")
