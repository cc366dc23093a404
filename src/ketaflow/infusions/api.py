"""Infusion sessions over the JSON API. Writes honour an `Idempotency-Key` header: a retried
request (same key, same body) gets the stored response and is not applied twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import Permission, requires
from ketaflow.errors import KetaflowError, NotFound, ValidationFailed
from ketaflow.infusions import service
from ketaflow.infusions.models import InfusionSession, Seriousness
from ketaflow.infusions.rules import SessionStatus, VitalsReading
from ketaflow.infusions.schemas import (
    AcknowledgeIn,
    ActionIn,
    AddendumIn,
    AlertOut,
    DayListOut,
    DischargeIn,
    EventIn,
    EventOut,
    NoteOut,
    OrderIn,
    OrderOut,
    PrechecksIn,
    SelfReportOverrideIn,
    SessionCreate,
    SessionOut,
    VitalsIn,
    VitalsOut,
    VitalsResult,
    day_list_out,
    session_out,
)
from ketaflow.infusions.service import StoredResponse
from ketaflow.infusions.service._common import clinic_settings, now
from ketaflow.infusions.service.idempotency import MAX_KEY_LENGTH
from ketaflow.web.deps import audit_context, get_db, require_principal
from ketaflow.web.forms import clinic_zone
from ketaflow.web.group_commit import GroupCommit
from ketaflow.web.openapi import problem
from ketaflow.web.routing import UnitOfWorkRoute

router = APIRouter(prefix="/infusions", tags=["infusions"], route_class=UnitOfWorkRoute)
DB = Annotated[Session, Depends(get_db)]
# Printable ASCII without spaces at either end (HTTP would strip them), e.g. a UUID.
IDEMPOTENCY = {"parameters": [{
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Retrying a write with the same key returns the stored answer; a key is "
                   "the sender's own and is kept with the request it first came with.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
               "pattern": "^[!-~]([ -~]*[!-~])?$"}}]}
_PRECHECKS_ONLY = "Pre-checks can be changed only during pre-checks."
_CHARTING_ONLY = "Nothing can be charted on a session that has not started or has ended."


def idempotent(request: Request, db: Session, body: BaseModel | None, status_code: int,
               call: Callable[[], BaseModel]) -> JSONResponse:
    """Run the write once per Idempotency-Key and answer with the stored response."""
    principal = require_principal(request)
    payload = None if body is None else body.model_dump(mode="json")
    return _answer(service.run_once(
        db, user_id=principal.user_id, key=request.headers.get("Idempotency-Key"),
        request_fingerprint=service.fingerprint(request.method, request.url.path, payload),
        status_code=status_code, call=lambda: call().model_dump(mode="json")))


def _answer(stored: StoredResponse | KetaflowError) -> JSONResponse:
    if isinstance(stored, KetaflowError):
        raise stored
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


def _out(db: Session, request: Request, record: InfusionSession) -> SessionOut:
    """The session as the API shows it, with the pre-check facts before the start."""
    pre_start = record.status in (SessionStatus.PLANNED, SessionStatus.PRECHECKS)
    status = service.precheck_status(db, audit_context(request), record) if pre_start else None
    moment = now()
    return session_out(record, moment, clinic_settings(db, moment), status)


def _session(db: Session, request: Request, session_id: int) -> SessionOut:
    """The session after a write, as the API shows it (the write itself is audited)."""
    return _out(db, request, service.load_session(db, session_id))


@router.post("/sessions", response_model=SessionOut, status_code=201, openapi_extra=IDEMPOTENCY,
             responses=problem(409, "The course is not active, or a session is already open on "
                                    "it."))
@requires(Permission.INFUSIONS_RUN)
def open_session(request: Request, db: DB, body: SessionCreate) -> JSONResponse:
    def call() -> SessionOut:
        try:
            record = service.open_session(db, audit_context(request), course_id=body.course_id)
        except NotFound as error:
            # The course is named in the body, not the path: a missing one is invalid input.
            raise ValidationFailed(error.detail, field="course_id") from None
        return _session(db, request, record.id)
    return idempotent(request, db, body, 201, call)


@router.get("/day", response_model=DayListOut)
@requires(Permission.INFUSIONS_RUN)
def day_list(request: Request, db: DB) -> DayListOut:
    """The day's list, as at `/infusions`: today's sessions and due infusions."""
    return day_list_out(service.day_list(db, audit_context(request), zone=clinic_zone(request)))


@router.post("/courses/{course_id}/next-session", response_model=SessionOut,
             openapi_extra=IDEMPOTENCY,
             responses=problem(409, "The course is not active or its course plan is done."))
@requires(Permission.INFUSIONS_RUN)
def open_next_session(request: Request, db: DB, course_id: int) -> JSONResponse:
    """The day list's one button: the course's open session, opened now if there is none
    (200 either way; repeating it never makes a second session)."""
    def call() -> SessionOut:
        record = service.open_next_session(db, audit_context(request), course_id=course_id)
        return _session(db, request, record.id)
    return idempotent(request, db, None, 200, call)


@router.get("/sessions/{session_id}", response_model=SessionOut)
@requires(Permission.INFUSIONS_RUN)
def read_session(request: Request, db: DB, session_id: int) -> SessionOut:
    record = service.get_session(db, audit_context(request), session_id=session_id)
    return _out(db, request, record)


@router.post("/sessions/{session_id}/actions", response_model=SessionOut,
             openapi_extra=IDEMPOTENCY,
             responses=problem(409, "The session's state does not allow the action, or another "
                                    "session of the patient is in progress."))
@requires(Permission.INFUSIONS_RUN)
def session_action(request: Request, db: DB, session_id: int, body: ActionIn) -> JSONResponse:
    def call() -> SessionOut:
        service.apply_action(db, audit_context(request), session_id=session_id,
                             action=body.action, reason=body.reason,
                             rate_ml_per_h=body.rate_ml_per_h)
        return _session(db, request, session_id)
    return idempotent(request, db, body, 200, call)


@router.post("/sessions/{session_id}/prechecks", response_model=SessionOut,
             openapi_extra=IDEMPOTENCY, responses=problem(409, _PRECHECKS_ONLY))
@requires(Permission.INFUSIONS_RUN)
def update_prechecks(request: Request, db: DB, session_id: int,
                     body: PrechecksIn) -> JSONResponse:
    def call() -> SessionOut:
        service.update_prechecks(db, audit_context(request), session_id=session_id,
                                 changes=service.PrecheckChanges(**body.model_dump()))
        return _session(db, request, session_id)
    return idempotent(request, db, body, 200, call)


@router.post("/sessions/{session_id}/prechecks/self-report-override", response_model=SessionOut,
             openapi_extra=IDEMPOTENCY, responses=problem(409, _PRECHECKS_ONLY))
@requires(Permission.INFUSIONS_RUN)
def override_self_report(request: Request, db: DB, session_id: int,
                         body: SelfReportOverrideIn) -> JSONResponse:
    """Go ahead without a self-report rated today, saying why (kept on the session's record)."""
    def call() -> SessionOut:
        service.override_self_report(db, audit_context(request), session_id=session_id,
                                     reason=body.reason)
        return _session(db, request, session_id)
    return idempotent(request, db, body, 200, call)


@router.post("/sessions/{session_id}/order", response_model=OrderOut, status_code=201,
             openapi_extra=IDEMPOTENCY,
             responses=problem(409, "The order can be written only before or during the "
                                    "infusion."))
@requires(Permission.ORDERS_SIGN)
def sign_order(request: Request, db: DB, session_id: int, body: OrderIn) -> JSONResponse:
    def call() -> OrderOut:
        order = service.sign_order(db, audit_context(request), session_id=session_id,
                                   order=service.OrderInput(**body.model_dump()))
        return OrderOut.model_validate(order)
    return idempotent(request, db, body, 201, call)


@dataclass(frozen=True)
class VitalsWrite:
    """One API request to chart a reading, waiting for its batch (`vitals_writes`)."""

    keyed: service.KeyedRequest
    entry: service.VitalsEntry


def write_vitals(db: Session, writes: list[VitalsWrite]) -> list[StoredResponse | KetaflowError]:
    """Chart a batch of API readings with their idempotency keys, in the caller's transaction."""
    def chart(positions: list[int]) -> list[dict[str, Any] | KetaflowError]:
        outcomes = service.record_vitals_batch(db, [writes[p].entry for p in positions])
        return [outcome if isinstance(outcome, KetaflowError) else VitalsResult(
                    vitals=VitalsOut.model_validate(outcome.vitals),
                    alerts=[AlertOut.model_validate(a) for a in outcome.alerts],
                ).model_dump(mode="json") for outcome in outcomes]
    return service.run_many(db, [write.keyed for write in writes], 201, chart)


VitalsWrites = GroupCommit[VitalsWrite, StoredResponse | KetaflowError]


@router.post("/sessions/{session_id}/vitals", response_model=VitalsResult, status_code=201,
             openapi_extra=IDEMPOTENCY, responses=problem(409, _CHARTING_ONLY))
@requires(Permission.INFUSIONS_RUN)
async def record_vitals(request: Request, session_id: int, body: VitalsIn) -> JSONResponse:
    """Monitors post readings many at a time: concurrent requests are written together in one
    transaction (group commit, `ketaflow.web.group_commit`), each answered once committed."""
    principal = require_principal(request)
    reading = VitalsReading(taken_at=body.taken_at or now(),
                            **body.model_dump(exclude={"taken_at"}))
    write = VitalsWrite(
        service.KeyedRequest(principal.user_id, request.headers.get("Idempotency-Key"),
                             service.fingerprint(request.method, request.url.path,
                                                 body.model_dump(mode="json"))),
        service.VitalsEntry(audit_context(request), session_id, reading))
    writes: VitalsWrites = request.app.state.vitals_writes
    return _answer(await writes.submit(write))


@router.post("/sessions/{session_id}/alerts/{alert_id}/acknowledge", response_model=AlertOut,
             openapi_extra=IDEMPOTENCY,
             responses=problem(409, f"{_CHARTING_ONLY} Or the alert is already "
                                    "acknowledged."))
@requires(Permission.INFUSIONS_RUN)
def acknowledge_alert(request: Request, db: DB, session_id: int, alert_id: int,
                      body: AcknowledgeIn) -> JSONResponse:
    def call() -> AlertOut:
        return AlertOut.model_validate(service.acknowledge_alert(
            db, audit_context(request), session_id=session_id, alert_id=alert_id,
            action_taken=body.action_taken))
    return idempotent(request, db, body, 200, call)


def _require(value: Any, field: str) -> Any:
    if value is None:
        raise ValidationFailed(f"{field} is required for this kind of event", field=field)
    return value


@router.post("/sessions/{session_id}/events", response_model=EventOut, status_code=201,
             openapi_extra=IDEMPOTENCY, responses=problem(409, _CHARTING_ONLY))
@requires(Permission.INFUSIONS_RUN)
def record_event(request: Request, db: DB, session_id: int, body: EventIn) -> JSONResponse:
    def call() -> EventOut:
        ctx, at = audit_context(request), body.occurred_at
        if body.kind == "side_effects":
            row = service.record_side_effects(db, ctx, session_id=session_id, occurred_at=at,
                                              answers=_require(body.answers, "answers"))
        elif body.kind == "cadss6":
            row = service.record_cadss6(db, ctx, session_id=session_id, occurred_at=at,
                                        answers=_require(body.answers, "answers"))
        elif body.kind == "rescue_medication":
            row = service.give_rescue_medication(
                db, ctx, session_id=session_id, occurred_at=at,
                medication=_require(body.medication, "medication"),
                dose_mg=_require(body.dose_mg, "dose_mg"), route=_require(body.route, "route"),
                reason=_require(body.reason, "reason"))
        else:
            row = service.record_adverse_event(
                db, ctx, session_id=session_id, occurred_at=at,
                description=_require(body.description, "description"),
                seriousness=body.seriousness or Seriousness.NON_SERIOUS, symptoms=body.symptoms)
        return EventOut.model_validate(row)
    return idempotent(request, db, body, 201, call)


@router.post("/sessions/{session_id}/discharge", response_model=SessionOut,
             openapi_extra=IDEMPOTENCY,
             responses=problem(409, "The session is not in observation."))
@requires(Permission.INFUSIONS_RUN)
def discharge(request: Request, db: DB, session_id: int, body: DischargeIn) -> JSONResponse:
    def call() -> SessionOut:
        service.discharge_patient(db, audit_context(request), session_id=session_id,
                                  form=service.DischargeForm(**body.model_dump()))
        return _session(db, request, session_id)
    return idempotent(request, db, body, 200, call)


@router.post("/sessions/{session_id}/note", response_model=NoteOut, openapi_extra=IDEMPOTENCY,
             responses=problem(409, "The note is written once the session is discharged or "
                                    "aborted, and is locked once signed."))
@requires(Permission.INFUSIONS_RUN)
def draft_note(request: Request, db: DB, session_id: int) -> JSONResponse:
    def call() -> NoteOut:
        return NoteOut.model_validate(service.draft_note(db, audit_context(request),
                                                         session_id=session_id))
    return idempotent(request, db, None, 200, call)


@router.post("/sessions/{session_id}/note/sign", response_model=NoteOut,
             openapi_extra=IDEMPOTENCY,
             responses=problem(409, "There is no note to sign yet, or it is already signed."))
@requires(Permission.ORDERS_SIGN)
def sign_note(request: Request, db: DB, session_id: int) -> JSONResponse:
    def call() -> NoteOut:
        return NoteOut.model_validate(service.sign_note(db, audit_context(request),
                                                        session_id=session_id))
    return idempotent(request, db, None, 200, call)


@router.post("/sessions/{session_id}/note/addenda", response_model=NoteOut, status_code=201,
             openapi_extra=IDEMPOTENCY,
             responses=problem(409, "Addenda follow a signed note."))
@requires(Permission.INFUSIONS_RUN)
def add_addendum(request: Request, db: DB, session_id: int, body: AddendumIn) -> JSONResponse:
    def call() -> NoteOut:
        return NoteOut.model_validate(service.add_addendum(
            db, audit_context(request), session_id=session_id, text=body.text))
    return idempotent(request, db, body, 201, call)
