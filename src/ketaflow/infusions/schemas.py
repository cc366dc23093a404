"""What crosses the JSON API boundary: request bodies and the session as the API shows it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ketaflow.assessments.models import RaterKind
from ketaflow.assessments.service import SELF_REPORT_INSTRUMENTS
from ketaflow.dosing import SaltForm
from ketaflow.ids import RecordId
from ketaflow.infusions.formulary import FORMULARY_BY_KEY, INFUSION_DRUGS, INFUSION_DRUGS_BY_KEY
from ketaflow.infusions.models import InfusionOrder, InfusionSession, Seriousness
from ketaflow.infusions.rules import (
    InfusionSettings,
    NextReading,
    PregnancyTest,
    SessionAction,
    allowed_actions,
    next_reading_due,
)
from ketaflow.infusions.rules.vitals import PLAUSIBLE, RASS_MAX, RASS_MIN, RED_FLAG_SYMPTOMS
from ketaflow.infusions.service import PrecheckStatus, current_order
from ketaflow.infusions.service.daylist import DayList, DayRow
from ketaflow.infusions.service.sessions import OVERRIDE_REASON_MAX_LENGTH
from ketaflow.infusions.summary import session_delivery
from ketaflow.inputs import (
    PlausibleDate,
    PlausibleMoment,
    RequiredText,
    answers_schema,
    nonblank_pattern,
    one_of,
    positive,
    shown,
    within,
)

_FORBID = ConfigDict(extra="forbid")
# What the services keep of a free-text reason (`ketaflow.infusions.service._common`).
TEXT_MAX = 2000
InfusionDrugKey = Annotated[str, one_of(INFUSION_DRUGS_BY_KEY)]
RescueMedication = Annotated[str, one_of(FORMULARY_BY_KEY)]
RescueRoute = Annotated[str, one_of(sorted({route for item in FORMULARY_BY_KEY.values()
                                            for route in item.routes}))]
Symptom = Annotated[str, one_of(RED_FLAG_SYMPTOMS)]
# The actions this route takes: discharge has its own, with the discharge assessment.
ACTIONS = tuple(action.value for action in SessionAction if action is not SessionAction.DISCHARGE)
# Every concentration some formulary drug may be ordered at; which apply depends on the drug.
_ORDER_CONCENTRATIONS = sorted({c for drug in INFUSION_DRUGS
                                for c in drug.order_concentrations_mg_per_ml})


def _range(name: str) -> dict[str, float]:
    low, high, _ = PLAUSIBLE[name]
    return {"minimum": low, "maximum": high}


def _plausible(name: str) -> Any:
    """A vital sign within what a living, monitored adult can show (`PLAUSIBLE`)."""
    low, high, _ = PLAUSIBLE[name]
    return within(low, high)


class SessionCreate(BaseModel):
    model_config = _FORBID
    course_id: RecordId


class ActionIn(BaseModel):
    model_config = _FORBID
    action: Annotated[SessionAction, one_of(ACTIONS)]
    reason: str | None = Field(default=None, max_length=TEXT_MAX,
                               description="required to abort or change the rate")
    rate_ml_per_h: Annotated[float, positive()] | None = Field(default=None,
                                                               description="for change_rate")


class PrechecksIn(BaseModel):
    model_config = _FORBID
    identity_confirmed: bool | None = None
    consent_current: bool | None = None
    fasting_confirmed: bool | None = None
    escort_confirmed: bool | None = None
    transport_confirmed: bool | None = None
    pregnancy_test: PregnancyTest | None = None
    bp_reviewed: bool | None = None


class SelfReportOverrideIn(BaseModel):
    """Why the infusion goes ahead without a self-report rated today (e.g. patient declined)."""

    model_config = _FORBID
    reason: RequiredText = Field(max_length=OVERRIDE_REASON_MAX_LENGTH)


class OrderIn(BaseModel):
    model_config = _FORBID
    lot_number: RequiredText = Field(
        max_length=64, description="a lot received into the controlled-substance ledger, in "
        "date on the infusion day and holding enough for the ordered dose")
    drug: InfusionDrugKey | None = Field(
        default=None, examples=["ketamine_hcl"],
        description="a clinic formulary key (infusions.formulary); default: the lot's drug, "
        "and when given it must be the lot's")
    expiry_date: PlausibleDate | None = Field(
        default=None, description="default: the lot's expiry as received; when given it must "
        "match the receipt")
    concentration_mg_per_ml: Annotated[float, one_of(_ORDER_CONCENTRATIONS)] = Field(
        description="one the formulary lists for the drug")
    concentration_salt: SaltForm = SaltForm.BASE
    # Within the clinic's dosing limits (settings, checked by the dosing core). Required: no
    # silent default (the usual 40 min is the page's visible pre-fill, not the API's).
    duration_min: Annotated[float, positive()] = Field(examples=[40.0])
    dose_mg_per_kg: Annotated[float, positive()] | None = Field(
        default=None, description="default: the course's dose")
    override_reason: str | None = Field(default=None, max_length=TEXT_MAX)
    supersede_reason: str | None = Field(
        default=None, max_length=TEXT_MAX,
        description="required when a signed order is in force: it is kept as superseded")


class VitalsIn(BaseModel):
    model_config = _FORBID
    # A time zone is required: a naive time would be read as server time, silently.
    taken_at: PlausibleMoment | None = Field(default=None, description="default: now")
    # Blood pressure comes as a pair, the diastolic below the systolic.
    sbp_mmhg: Annotated[float, _plausible("sbp_mmhg")] | None = None
    dbp_mmhg: Annotated[float, _plausible("dbp_mmhg")] | None = None
    # 0 only with RASS -5 (an arrest); otherwise within the plausible range.
    hr_bpm: Annotated[float, shown(anyOf=[_range("hr_bpm"), {"const": 0}])] | None = None
    spo2_percent: Annotated[float, _plausible("spo2_percent")] | None = None
    # 0 is apnoea (a stop); otherwise within the plausible range.
    rr_per_min: Annotated[float, shown(anyOf=[_range("rr_per_min"), {"const": 0}])] | None = None
    rass: Annotated[int, within(RASS_MIN, RASS_MAX)] | None = Field(
        default=None, description="Richmond Agitation-Sedation Scale")


class AcknowledgeIn(BaseModel):
    model_config = _FORBID
    action_taken: RequiredText = Field(max_length=TEXT_MAX)


def _event_kind(kind: str, required: list[str], **properties: Any) -> dict[str, Any]:
    return {"properties": {"kind": {"const": kind}, **properties}, "required": required}


_NONBLANK = {"type": "string", "pattern": nonblank_pattern()}
# What each kind of event needs (the service refuses a missing one, naming it).
_EVENT_KINDS: list[JsonValue] = [
    _event_kind("side_effects", ["answers"], answers=answers_schema("side-effects")),
    _event_kind("cadss6", ["answers"], answers=answers_schema("cadss6")),
    _event_kind("rescue_medication", ["medication", "dose_mg", "route", "reason"],
                medication={"type": "string"}, dose_mg={"type": "number"},
                route={"type": "string"}, reason=_NONBLANK),
    _event_kind("adverse_event", ["description"], description=_NONBLANK),
]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": _EVENT_KINDS})
    kind: Literal["side_effects", "cadss6", "rescue_medication", "adverse_event"]
    occurred_at: PlausibleMoment | None = Field(default=None, description="default: now")
    answers: dict[str, int] | None = None
    medication: RescueMedication | None = None
    # Within the medication's formulary range.
    dose_mg: Annotated[float, positive()] | None = None
    route: RescueRoute | None = Field(default=None, description="one the medication allows")
    reason: str | None = Field(default=None, max_length=TEXT_MAX)
    description: str | None = Field(default=None, max_length=TEXT_MAX)
    seriousness: Seriousness | None = None
    symptoms: list[Symptom] = []


class DischargeIn(BaseModel):
    model_config = _FORBID
    aldrete_answers: Annotated[dict[str, int], shown(**answers_schema("aldrete"))]
    padss_answers: Annotated[dict[str, int], shown(**answers_schema("padss"))]
    escort_confirmed: bool
    no_driving_advice_given: bool
    override_reason: str | None = Field(default=None, max_length=TEXT_MAX)


class AddendumIn(BaseModel):
    model_config = _FORBID
    text: RequiredText = Field(max_length=5000)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class VitalsOut(_Out):
    id: int
    taken_at: datetime
    sbp_mmhg: float | None
    dbp_mmhg: float | None
    hr_bpm: float | None
    spo2_percent: float | None
    rr_per_min: float | None
    rass: int | None


class AlertOut(_Out):
    id: int
    vitals_id: int | None
    level: str
    code: str
    field: str
    message: str
    raised_at: datetime
    acknowledged_at: datetime | None
    action_taken: str | None


class EventOut(_Out):
    id: int
    kind: str
    occurred_at: datetime
    detail: dict[str, Any]
    total: int | None
    serious: bool
    reason: str | None


class OrderOut(_Out):
    id: int
    drug: str  # the formulary key
    lot_number: str
    expiry_date: date
    concentration_mg_per_ml: float
    concentration_salt: str
    dose_salt: str
    dose_mg_per_kg: float
    dose_mg: float
    dose_mg_base: float
    dosing_weight_kg: float
    duration_min: float
    volume_ml: float
    rate_ml_per_h: float
    delivered_dose_mg: float
    warnings: list[Any]
    override_reason: str | None
    signed_at: datetime
    signed_by_user_id: int
    superseded_at: datetime | None
    supersedes_order_id: int | None
    supersede_reason: str | None


class DischargeOut(_Out):
    aldrete_total: int
    padss_total: int
    escort_confirmed: bool
    no_driving_advice_given: bool
    ready_at: datetime
    unmet: list[Any]
    override_reason: str | None
    discharged_at: datetime


class NoteOut(_Out):
    id: int
    kind: str
    body: str
    created_at: datetime
    signed_at: datetime | None
    signed_by_user_id: int | None


class ProblemOut(BaseModel):
    field: str
    message: str


class SelfReportOut(BaseModel):
    assessment_id: int
    instrument: str
    label: str           # e.g. "PHQ-9"
    rated_at: datetime
    rater: str           # "patient-portal" or "staff"


class OverrideOut(BaseModel):
    reason: str | None
    recorded_at: datetime
    recorded_by_user_id: int | None


class SelfReportCheckOut(BaseModel):
    """Today's self-report pre-check: satisfied by a rating on `day` (the clinic's date) or an
    override."""

    day: date
    satisfied: bool
    found: list[SelfReportOut]
    override: OverrideOut | None


class PatientAlertOut(BaseModel):
    """An open suicidality/switch alert that blocks the start until a prescriber acknowledges
    it (POST /api/v1/alerts/{id}/acknowledge, or the page at `acknowledge_url`)."""

    id: int
    kind: str
    severity: str
    created_at: datetime
    acknowledge_url: str


class NextDueOut(BaseModel):
    due_at: datetime
    kind: str
    overdue: bool
    overdue_by_min: float


class VitalsResult(BaseModel):
    vitals: VitalsOut
    alerts: list[AlertOut]


class DeliveredOut(BaseModel):
    """What the pump actually delivered so far (rate x running time, pauses out)."""

    volume_ml: float
    dose_mg: float       # in the order's dose salt
    running_min: float
    paused_min: float
    pauses: int
    rate_changes: int


class SessionOut(_Out):
    id: int
    course_id: int
    patient_id: int
    status: str
    opened_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    discharged_at: datetime | None
    aborted_at: datetime | None
    abort_reason: str | None
    rate_ml_per_h: float | None
    prechecks: dict[str, Any]
    # Before the start only (null / empty afterwards): the checks the record answers.
    self_report: SelfReportCheckOut | None
    open_patient_alerts: list[PatientAlertOut]
    missing_prechecks: list[ProblemOut]
    allowed_actions: list[str]
    next_reading_due: NextDueOut | None
    order: OrderOut | None
    # Every order signed on the session, oldest first; all but the current one superseded.
    orders: list[OrderOut]
    delivered: DeliveredOut | None
    vitals: list[VitalsOut]
    alerts: list[AlertOut]
    events: list[EventOut]
    discharge: DischargeOut | None
    notes: list[NoteOut]


_PRECHECK_FIELDS = ("identity_confirmed", "consent_current", "fasting_confirmed",
                    "escort_confirmed", "transport_confirmed", "pregnancy_test")


def next_due(record: InfusionSession, now: datetime,
             settings: InfusionSettings) -> NextDueOut | None:
    if record.started_at is None or record.status.is_final:
        return None
    times = [v.taken_at for v in record.vitals if v.sbp_mmhg is not None
             and v.hr_bpm is not None]
    return next_due_out(next_reading_due(started_at=record.started_at,
                                         ended_at=record.ended_at, reading_times=times,
                                         now=now, settings=settings))


def next_due_out(due: NextReading | None) -> NextDueOut | None:
    return None if due is None else NextDueOut(due_at=due.due_at, kind=due.kind.value,
                                               overdue=due.overdue,
                                               overdue_by_min=round(due.overdue_by_min, 1))


def self_report_out(status: PrecheckStatus) -> SelfReportCheckOut:
    facts = status.facts
    override = facts.override
    return SelfReportCheckOut(
        day=facts.day,
        satisfied=not any(p.field == "self_report" for p in status.problems),
        found=[SelfReportOut(assessment_id=a.id, instrument=a.instrument_id,
                             label=SELF_REPORT_INSTRUMENTS[a.instrument_id],
                             rated_at=a.rated_at, rater=RaterKind(a.rater_kind).value)
               for a in facts.self_reports],
        override=None if override is None else OverrideOut(
            reason=override.reason, recorded_at=override.recorded_at,
            recorded_by_user_id=override.recorded_by_user_id))


def patient_alerts_out(status: PrecheckStatus) -> list[PatientAlertOut]:
    return [PatientAlertOut(id=a.id, kind=a.kind.value, severity=a.severity.value,
                            created_at=a.created_at,
                            acknowledge_url=f"/patients/{a.patient_id}/assessments#alert-{a.id}")
            for a in status.facts.patient_alerts]


def _delivered(record: InfusionSession, order: InfusionOrder | None, now: datetime
               ) -> DeliveredOut | None:
    if order is None or record.started_at is None:
        return None
    d = session_delivery(record, order, until=record.ended_at or now)
    return DeliveredOut(volume_ml=round(d.volume_ml, 3), dose_mg=round(d.dose_mg, 3),
                        running_min=round(d.running_min, 2), paused_min=round(d.paused_min, 2),
                        pauses=d.pauses, rate_changes=d.rate_changes)


def session_out(record: InfusionSession, now: datetime, settings: InfusionSettings,
                status: PrecheckStatus | None = None) -> SessionOut:
    """`status` is the pre-check status before the start (None once the pump has started);
    `settings` the infusion settings in force at `now`."""
    order = current_order(record)
    problems = () if status is None else status.problems
    prechecks: dict[str, Any] = {name: getattr(record, name) for name in _PRECHECK_FIELDS}
    prechecks["bp_reviewed"] = record.bp_reviewed_by_user_id is not None
    return SessionOut(
        id=record.id, course_id=record.course_id, patient_id=record.patient_id,
        status=record.status.value, opened_at=record.opened_at, started_at=record.started_at,
        ended_at=record.ended_at, discharged_at=record.discharged_at,
        aborted_at=record.aborted_at, abort_reason=record.abort_reason,
        rate_ml_per_h=record.rate_ml_per_h, prechecks=prechecks,
        self_report=None if status is None else self_report_out(status),
        open_patient_alerts=[] if status is None else patient_alerts_out(status),
        missing_prechecks=[ProblemOut(field=p.field, message=p.message) for p in problems],
        allowed_actions=[a.value for a in allowed_actions(record.status)],
        next_reading_due=next_due(record, now, settings),
        order=None if order is None else OrderOut.model_validate(order),
        orders=[OrderOut.model_validate(o) for o in record.orders],
        delivered=_delivered(record, order, now),
        vitals=[VitalsOut.model_validate(v) for v in record.vitals],
        alerts=[AlertOut.model_validate(a) for a in record.alerts],
        events=[EventOut.model_validate(e) for e in record.events],
        discharge=None if record.discharge is None else DischargeOut.model_validate(
            record.discharge),
        notes=[NoteOut.model_validate(n) for n in record.notes],
    )


class DayPatientOut(BaseModel):
    """The two identifiers and the MRN, as every clinical screen shows them."""

    patient_id: int
    mrn: str
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None


class DayRowOut(BaseModel):
    patient: DayPatientOut
    course_id: int
    infusion_number: int
    infusion_count: int
    planned_on: date | None
    overdue_from_plan: bool
    session_id: int | None = Field(description="null: planned today (or earlier), not opened")
    status: str | None
    started_at: datetime | None
    next_reading_due: NextDueOut | None


class DayListOut(BaseModel):
    today: date = Field(description="the clinic's day, in its time zone")
    time_zone: str
    rows: list[DayRowOut]


def day_list_out(day: DayList) -> DayListOut:
    def row(r: DayRow) -> DayRowOut:
        who = r.patient
        return DayRowOut(
            patient=DayPatientOut(patient_id=who.patient_id, mrn=who.mrn,
                                  given_name=who.given_name, family_name=who.family_name,
                                  date_of_birth=who.date_of_birth),
            course_id=r.course_id, infusion_number=r.infusion_number,
            infusion_count=r.infusion_count, planned_on=r.planned_on,
            overdue_from_plan=day.overdue(r), session_id=r.session_id,
            status=None if r.status is None else r.status.value, started_at=r.started_at,
            next_reading_due=next_due_out(r.next_due))
    return DayListOut(today=day.today, time_zone=day.zone, rows=[row(r) for r in day.rows])
