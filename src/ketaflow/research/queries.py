"""The export's queries: one streamed SELECT per table, turned row by row into de-identified
tuples in the order of `ketaflow.research.columns`.

Rows are fetched in batches (`yield_per`: a server-side cursor on PostgreSQL), and joins and
aggregates run in the database, so memory stays flat however many rows a table has. Only the
per-patient frames (pseudonym, shift, anchor) and the pseudonyms of courses and sessions are
kept, one small entry per record of those tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, func, select, text, type_coerce
from sqlalchemy.orm import Session

from ketaflow.alerts.models import Alert
from ketaflow.assessments.models import Assessment, AssessmentResult
from ketaflow.courses.models import TreatmentCourse
from ketaflow.infusions.models import (
    Discharge,
    EventKind,
    InfusionOrder,
    InfusionSession,
    SessionAlert,
    SessionEvent,
    VitalsRecord,
)
from ketaflow.moodchart.models import MoodEntry
from ketaflow.patients.models import Diagnosis, Patient, PatientDemographics
from ketaflow.research import deidentify
from ketaflow.research.deidentify import PatientFrame, ResearchKeys

BATCH_ROWS = 10_000
Row = tuple[Any, ...]


class Frames:
    """The per-patient frames and the pseudonyms of one export, filled by `patient_rows`."""

    def __init__(self, keys: ResearchKeys) -> None:
        self.keys = keys
        self.patients: dict[int, PatientFrame] = {}
        # Session id -> (pseudonym, patient pseudonym, shift, start): what each vitals
        # reading needs, filled by `session_rows` (one small entry per session).
        self.sessions: dict[int, tuple[str, str, timedelta, datetime]] = {}
        self._pseudonyms: dict[tuple[str, int], str] = {}

    def of(self, kind: str, record_id: int | None) -> str | None:
        if record_id is None:
            return None
        key = (kind, record_id)
        found = self._pseudonyms.get(key)
        if found is None:
            found = self._pseudonyms[key] = deidentify.pseudonym(self.keys.pseudonym, kind,
                                                                 record_id)
        return found

    def frame(self, patient_id: int, anchor: date) -> PatientFrame:
        shift = timedelta(days=deidentify.shift_days(self.keys.date_shift, patient_id))
        frame = PatientFrame(deidentify.pseudonym(self.keys.pseudonym, "patient", patient_id),
                             shift, anchor)
        self.patients[patient_id] = frame
        return frame


def prepare(db: Session) -> None:
    """PostgreSQL plans a cursor's query for its first 10% of rows by default
    (cursor_tuple_fraction), and on freshly loaded tables (no statistics yet) chose a nested
    loop that rescanned assessment_results for every rating: 11 s for 12,585 ratings at 2,000
    generated patients. An export reads every row: say so, for this transaction only."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))


def _stream(db: Session, query: Select[Any]) -> Iterator[Any]:
    """Rows in batches through the session's connection (Core rows: no ORM bookkeeping)."""
    result = db.connection().execute(query.execution_options(yield_per=BATCH_ROWS))
    for partition in result.partitions():
        yield from partition


def raw(column: Any) -> ColumnElement[Any]:
    """A column as the driver returns it, skipping SQLAlchemy's per-value conversion (dates
    and times are text on SQLite, datetime objects on PostgreSQL; enums their values): at
    millions of rows that conversion costs more than the query. `_moment`/`_day_of` parse."""
    return type_coerce(column, String)


def _moment(value: Any) -> datetime | None:
    """A stored time as naive UTC (the bundle's times are all UTC)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _day_of(value: Any) -> date | None:
    if value is None:
        return None
    return date.fromisoformat(value) if isinstance(value, str) else value


def _minutes(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() / 60, 2)


# --- patients -------------------------------------------------------------------------------

def _patients_query() -> Select[Any]:
    current = (select(PatientDemographics.patient_id, PatientDemographics.date_of_birth,
                      PatientDemographics.sex)
               .where(PatientDemographics.superseded_at.is_(None)).subquery())
    latest_dx = (select(Diagnosis.patient_id, func.max(Diagnosis.id).label("id"))
                 .where(Diagnosis.superseded_at.is_(None)).group_by(Diagnosis.patient_id)
                 .subquery())
    courses = (select(TreatmentCourse.patient_id, func.min(TreatmentCourse.start_on).label("first"),
                      func.count().label("n")).group_by(TreatmentCourse.patient_id).subquery())
    return (select(Patient.id, raw(Patient.created_at), raw(current.c.date_of_birth),
                   raw(current.c.sex), raw(Diagnosis.bipolar_type),
                   raw(Diagnosis.current_episode), Diagnosis.icd10_code,
                   Diagnosis.psychosis_history, raw(Diagnosis.substance_use),
                   Diagnosis.suicide_attempts, raw(Diagnosis.onset_date), raw(courses.c.first),
                   courses.c.n)
            .outerjoin(current, current.c.patient_id == Patient.id)
            .outerjoin(latest_dx, latest_dx.c.patient_id == Patient.id)
            .outerjoin(Diagnosis, Diagnosis.id == latest_dx.c.id)
            .outerjoin(courses, courses.c.patient_id == Patient.id)
            .order_by(Patient.id))


def patient_rows(db: Session, frames: Frames) -> Iterator[Row]:
    """Every patient, sorted by pseudonym (not by registration order). Fills `frames`, which
    every later table needs, so this table is written first."""
    rows = []
    for (pid, created_at, born_text, sex, bipolar_type, episode, icd10, psychosis, substance,
         attempts, onset_text, first_text, course_count) in _stream(db, _patients_query()):
        first_start, born_on, onset_on = (_day_of(first_text), _day_of(born_text),
                                          _day_of(onset_text))
        registered = _moment(created_at)
        anchor = first_start or (registered.date() if registered else date.min)
        frame = frames.frame(pid, anchor)
        rows.append((
            frame.pseudonym, sex, bipolar_type, episode, icd10,
            None if psychosis is None else bool(psychosis), substance, attempts,
            None if born_on is None else deidentify.grouped_age(born_on, anchor),
            None if born_on is None else deidentify.age_band(born_on, anchor),
            None if born_on is None or onset_on is None
            else deidentify.grouped_age(born_on, onset_on),
            "first_course_start" if first_start else "registration",
            frame.shifted_date(anchor), course_count or 0))
    rows.sort(key=lambda row: row[0])
    yield from rows


# --- courses --------------------------------------------------------------------------------

def course_rows(db: Session, frames: Frames) -> Iterator[Row]:
    c = TreatmentCourse
    number = func.row_number().over(partition_by=c.patient_id, order_by=(c.start_on, c.id))
    query = select(c.id, c.patient_id, number, raw(c.state), c.infusion_count, raw(c.frequency),
                   c.skip_weekends, c.dose_mg_per_kg, c.max_dose_mg, raw(c.salt_form),
                   raw(c.start_on), raw(c.baseline_on), raw(c.baseline_fallback)).order_by(c.id)
    for (cid, pid, n, state, count, frequency, skip, dose, cap, salt, start_text, baseline_text,
         fallback) in _stream(db, query):
        frame = frames.patients[pid]
        start_on, baseline_on = _day_of(start_text), _day_of(baseline_text)
        yield (frames.of("course", cid), frame.pseudonym, n, state, count, frequency,
               bool(skip), dose, cap, salt, frame.shifted_date(start_on), frame.day(start_on),
               frame.shifted_date(baseline_on), frame.day(baseline_on), fallback)


# --- infusion sessions ----------------------------------------------------------------------

def _sessions_query() -> Select[Any]:
    s, o, e = InfusionSession, InfusionOrder, SessionEvent
    orders = (select(o.session_id, func.max(o.id).label("order_id"), func.count().label("n"))
              .group_by(o.session_id).subquery())

    def count_of(*conditions: Any) -> Any:
        return func.sum(case((and_(*conditions), 1), else_=0))

    events = (select(e.session_id,
                     func.max(case((e.kind == EventKind.CADSS6, e.total))).label("cadss"),
                     count_of(e.kind == EventKind.ADVERSE_EVENT).label("ae"),
                     count_of(e.kind == EventKind.ADVERSE_EVENT, e.serious.is_(True)).label("sae"),
                     count_of(e.kind == EventKind.RESCUE_MEDICATION).label("rescue"))
              .group_by(e.session_id).subquery())
    alerts = (select(SessionAlert.session_id, func.count().label("n"))
              .group_by(SessionAlert.session_id).subquery())
    number = func.row_number().over(partition_by=s.course_id, order_by=(s.opened_at, s.id))
    return (select(s.id, s.course_id, s.patient_id, number, raw(s.status), raw(s.opened_at),
                   raw(s.started_at), raw(s.ended_at), raw(s.discharged_at), o.dose_mg_per_kg,
                   o.dose_mg, raw(o.dose_salt), o.dosing_weight_kg, o.duration_min,
                   o.delivered_dose_mg, o.rate_ml_per_h, orders.c.n, events.c.cadss,
                   events.c.ae, events.c.sae, events.c.rescue, alerts.c.n,
                   Discharge.aldrete_total, Discharge.padss_total)
            .outerjoin(orders, orders.c.session_id == s.id)
            .outerjoin(o, o.id == orders.c.order_id)
            .outerjoin(events, events.c.session_id == s.id)
            .outerjoin(alerts, alerts.c.session_id == s.id)
            .outerjoin(Discharge, Discharge.session_id == s.id)
            .order_by(s.id))


def session_rows(db: Session, frames: Frames) -> Iterator[Row]:
    for (sid, cid, pid, n, status, opened_text, started_text, ended_text, discharged_text,
         dose_per_kg, dose, salt, weight, duration, delivered, rate, orders, cadss, ae, sae,
         rescue, alerts, aldrete, padss) in _stream(db, _sessions_query()):
        frame = frames.patients[pid]
        opened, started = _moment(opened_text), _moment(started_text)
        ended, discharged = _moment(ended_text), _moment(discharged_text)
        name = frames.of("session", sid) or ""
        frames.sessions[sid] = (name, frame.pseudonym, frame.shift,
                                started or opened or datetime.min)
        yield (name, frames.of("course", cid), frame.pseudonym, n, status,
               frame.shifted(opened), frame.shifted(started), frame.shifted(ended),
               frame.shifted(discharged), frame.day(started or opened),
               _minutes(ended, started), _minutes(discharged, ended), dose_per_kg, dose, salt,
               weight, duration, delivered, rate, orders or 0, cadss, ae or 0, sae or 0,
               rescue or 0, alerts or 0, aldrete, padss)


# --- vitals ---------------------------------------------------------------------------------

def vitals_rows(db: Session, frames: Frames) -> Iterator[Row]:
    """The hot path (millions of rows): read in table order (a plain scan, no join or sort;
    readings are appended as they are taken), each reading placed by its session's frame,
    which `session_rows` kept."""
    v = VitalsRecord
    query = (select(v.session_id, raw(v.taken_at), v.sbp_mmhg, v.dbp_mmhg, v.hr_bpm,
                    v.spo2_percent, v.rr_per_min, v.rass).order_by(v.id))
    sessions = frames.sessions
    for sid, taken, sbp, dbp, hr, spo2, rr, rass in _stream(db, query):
        name, patient, shift, start = sessions[sid]
        moment = _moment(taken) or start
        yield (name, patient, moment + shift,
               round((moment - start).total_seconds() / 60, 2), sbp, dbp, hr, spo2, rr, rass)


# --- ratings --------------------------------------------------------------------------------

def rating_rows(db: Session, frames: Frames) -> Iterator[Row]:
    a, r = Assessment, AssessmentResult
    query = (select(a.patient_id, a.course_id, a.instrument_id, a.instrument_version,
                    raw(a.rater_kind), raw(a.rated_at), r.total, r.severity, r.risk_level,
                    a.supersedes_id)
             .join(r, and_(r.assessment_id == a.id, r.superseded_at.is_(None)))
             .where(a.superseded_at.is_(None)).order_by(a.id))
    for (pid, cid, instrument, version, rater, rated_text, total, severity, risk,
         supersedes) in _stream(db, query):
        frame = frames.patients[pid]
        rated = _moment(rated_text)
        day = rated.date() if rated else None
        yield (frame.pseudonym, frames.of("course", cid), instrument, version, rater,
               frame.shifted_date(day), frame.day(day), total, severity, risk,
               supersedes is not None)


# --- mood -----------------------------------------------------------------------------------

def mood_rows(db: Session, frames: Frames) -> Iterator[Row]:
    m = MoodEntry
    query = (select(m.patient_id, raw(m.day), func.count(), func.max(m.depressed),
                    func.max(m.elevated), func.max(m.irritable), func.max(m.anxious),
                    func.avg(m.sleep_h),
                    func.max(case((m.psychotic_symptoms.is_(True), 1), else_=0)))
             .where(m.entered_in_error_at.is_(None)).group_by(m.patient_id, m.day)
             .order_by(m.patient_id, m.day))
    for pid, day_text, count, dep, ele, irr, anx, sleep, psychotic in _stream(db, query):
        frame = frames.patients[pid]
        day = _day_of(day_text)
        yield (frame.pseudonym, frame.shifted_date(day), frame.day(day), count, dep, ele, irr,
               anx, None if sleep is None else round(float(sleep), 2), bool(psychotic))


# --- alerts ---------------------------------------------------------------------------------

def alert_rows(db: Session, frames: Frames) -> Iterator[Row]:
    for pid, kind, severity, raised_text, acknowledged_text in _stream(db, select(
            Alert.patient_id, raw(Alert.kind), raw(Alert.severity), raw(Alert.created_at),
            raw(Alert.acknowledged_at)).order_by(Alert.id)):
        frame = frames.patients[pid]
        raised, acknowledged = _moment(raised_text), _moment(acknowledged_text)
        source = "mood" if str(kind).startswith("mood-") else "rating"
        yield (frame.pseudonym, None, source, kind, severity, frame.shifted(raised),
               frame.day(raised), acknowledged is not None, _minutes(acknowledged, raised))
    a, s = SessionAlert, InfusionSession
    for pid, sid, code, level, raised_text, acknowledged_text in _stream(db, select(
            s.patient_id, a.session_id, a.code, raw(a.level), raw(a.raised_at),
            raw(a.acknowledged_at)).join(s, s.id == a.session_id).order_by(a.id)):
        frame = frames.patients[pid]
        raised, acknowledged = _moment(raised_text), _moment(acknowledged_text)
        yield (frame.pseudonym, frames.of("session", sid), "infusion", code, level,
               frame.shifted(raised), frame.day(raised), acknowledged is not None,
               _minutes(acknowledged, raised))


ROWS = {"patients": patient_rows, "courses": course_rows, "infusion_sessions": session_rows,
        "vitals": vitals_rows, "ratings": rating_rows, "mood_daily": mood_rows,
        "alerts": alert_rows}
