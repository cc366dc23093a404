"""Sources of Encounter (each infusion session), MedicationRequest (each signed order),
MedicationAdministration (each infusion started) and AdverseEvent (each charted at the chair),
from the infusions domain.

Each FHIR status is one SQL CASE over the session's (and order's) columns, selected by the
loader and filtered by the status search, so what a resource says and what a search for it
matches cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from ketaflow.fhir import search
from ketaflow.fhir.codes import (
    ENCOUNTER_STATUS,
    EVENT_STATUS,
    MEDICATION_ADMIN_STATUS,
    MEDICATION_REQUEST_INTENT,
    MEDICATION_REQUEST_STATUS,
    Resource,
    us_core,
)
from ketaflow.fhir.mappers import infusions
from ketaflow.fhir.mappers.infusions import AE_SERIOUSNESS
from ketaflow.infusions.models import EventKind, InfusionOrder, InfusionSession, SessionEvent
from ketaflow.infusions.rules import SessionStatus
from ketaflow.infusions.summary import session_delivered

_S = InfusionSession
_NEVER_STARTED = _S.started_at.is_(None)
_AFTER_INFUSION = (SessionStatus.STOPPED, SessionStatus.OBSERVATION, SessionStatus.DISCHARGED)

# planned -> planned; pre-checks -> arrived (at the chair, not yet infusing); running, paused,
# stopped and observation -> in-progress (the patient is still the clinic's); discharged ->
# finished; aborted -> cancelled before the infusion started, finished after it.
ENCOUNTER_STATUS_SQL = case(
    (_S.status == SessionStatus.PLANNED, "planned"),
    (_S.status == SessionStatus.PRECHECKS, "arrived"),
    (_S.status == SessionStatus.DISCHARGED, "finished"),
    (and_(_S.status == SessionStatus.ABORTED, _NEVER_STARTED), "cancelled"),
    (_S.status == SessionStatus.ABORTED, "finished"),
    else_="in-progress")

# Over started sessions only: running or paused -> in-progress; stopped and after ->
# completed; aborted while infusing -> stopped (ended before the ordered dose was given).
ADMINISTRATION_STATUS_SQL = case(
    (_S.status.in_(_AFTER_INFUSION), "completed"),
    (_S.status == SessionStatus.ABORTED, "stopped"),
    else_="in-progress")

# An order replaced by a new one -> stopped; its session aborted -> cancelled before the
# start, stopped after it; the infusion over -> completed; otherwise active.
REQUEST_STATUS_SQL = case(
    (InfusionOrder.superseded_at.is_not(None), "stopped"),
    (and_(_S.status == SessionStatus.ABORTED, _NEVER_STARTED), "cancelled"),
    (_S.status == SessionStatus.ABORTED, "stopped"),
    (_S.status.in_(_AFTER_INFUSION), "completed"),
    else_="active")


def _sessions(query: Select[Any]) -> Select[Any]:
    return query.select_from(_S)


def _load_encounters(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.execute(select(_S, ENCOUNTER_STATUS_SQL).where(_S.id.in_(ids))
                           .options(selectinload(_S.orders))).all()
    return {row.id: infusions.encounter(row, status) for row, status in rows}


ENCOUNTER = search.Source(
    key="session", row=_S.id,
    updated=func.coalesce(_S.discharged_at, _S.aborted_at, _S.ended_at, _S.started_at,
                          _S.prechecks_at, _S.opened_at),
    base=_sessions, load=_load_encounters, profile=us_core("encounter"),
    prefix=infusions.ENCOUNTER_PREFIX,
    filters={"patient": search.references(_S.patient_id),
             # The session's start (when it was opened at the chair).
             "date": search.date_filter(_S.opened_at),
             "status": search.column_tokens(ENCOUNTER_STATUS_SQL, ENCOUNTER_STATUS)},
)


def _orders(query: Select[Any]) -> Select[Any]:
    return query.select_from(InfusionOrder).join(_S, _S.id == InfusionOrder.session_id)


def _load_requests(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.execute(_orders(select(InfusionOrder, _S.patient_id, REQUEST_STATUS_SQL))
                           .where(InfusionOrder.id.in_(ids))).all()
    return {order.id: infusions.medication_request(order, patient_id, status)
            for order, patient_id, status in rows}


MEDICATION_REQUEST = search.Source(
    key="order", row=InfusionOrder.id,
    updated=func.coalesce(InfusionOrder.superseded_at, _S.aborted_at, _S.ended_at,
                          InfusionOrder.signed_at),
    base=_orders, load=_load_requests, profile=us_core("medicationrequest"),
    prefix=infusions.REQUEST_PREFIX,
    filters={"patient": search.references(_S.patient_id),
             "intent": search.static_tokens((MEDICATION_REQUEST_INTENT, "order")),
             "status": search.column_tokens(REQUEST_STATUS_SQL, MEDICATION_REQUEST_STATUS),
             "authoredon": search.date_filter(InfusionOrder.signed_at)},
)


def _started(query: Select[Any]) -> Select[Any]:
    # The start requires a signed order; the condition keeps a row without one out anyway.
    return query.select_from(_S).where(_S.started_at.is_not(None), _S.orders.any())


def _load_administrations(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.execute(select(_S, ADMINISTRATION_STATUS_SQL).where(_S.id.in_(ids))
                           .options(selectinload(_S.orders), selectinload(_S.events))).all()
    return {row.id: infusions.medication_administration(row, row.orders[-1], status,
                                                        session_delivered(row))
            for row, status in rows}


# Base R4: US Core has no MedicationAdministration profile.
MEDICATION_ADMINISTRATION = search.Source(
    key="infusion", row=_S.id,
    updated=func.coalesce(_S.aborted_at, _S.ended_at, _S.started_at),
    base=_started, load=_load_administrations, profile=None, prefix=infusions.ADMINISTRATION_PREFIX,
    filters={"patient": search.references(_S.patient_id),
             "effective-time": search.date_filter(_S.started_at),
             "status": search.column_tokens(ADMINISTRATION_STATUS_SQL,
                                            MEDICATION_ADMIN_STATUS)},
)


SERIOUSNESS_SQL = case((SessionEvent.serious.is_(True), "serious"), else_="non-serious")


def _adverse_events(query: Select[Any]) -> Select[Any]:
    return (query.select_from(SessionEvent).join(_S, _S.id == SessionEvent.session_id)
            .where(SessionEvent.kind == EventKind.ADVERSE_EVENT))


def _load_adverse_events(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.execute(_adverse_events(select(SessionEvent, _S.patient_id, SERIOUSNESS_SQL,
                                                  _S.started_at))
                           .where(SessionEvent.id.in_(ids))).all()
    return {row.id: infusions.adverse_event(row, patient_id, seriousness,
                                            started_at is not None)
            for row, patient_id, seriousness, started_at in rows}


# Base R4: US Core has no AdverseEvent profile. Events are append-only: recorded once.
ADVERSE_EVENT = search.Source(
    key="adverse-event", row=SessionEvent.id, updated=SessionEvent.recorded_at,
    base=_adverse_events, load=_load_adverse_events, profile=None, prefix="adverse-event-",
    filters={"patient": search.references(_S.patient_id),
             "date": search.date_filter(SessionEvent.occurred_at),
             "seriousness": search.column_tokens(SERIOUSNESS_SQL, AE_SERIOUSNESS)},
)


# Over started sessions: running -> in-progress; paused -> on-hold; stopped and after ->
# completed (the infusion is over; observation is not part of it); aborted while infusing ->
# stopped, as for its MedicationAdministration.
PROCEDURE_STATUS_SQL = case(
    (_S.status.in_(_AFTER_INFUSION), "completed"),
    (_S.status == SessionStatus.ABORTED, "stopped"),
    (_S.status == SessionStatus.PAUSED, "on-hold"),
    else_="in-progress")


def _infusions_started(query: Select[Any]) -> Select[Any]:
    return query.select_from(_S).where(_S.started_at.is_not(None))


def _load_procedures(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.execute(select(_S, PROCEDURE_STATUS_SQL).where(_S.id.in_(ids))).all()
    return {row.id: infusions.procedure(row, status) for row, status in rows}


PROCEDURE = search.Source(
    key="procedure", row=_S.id,
    updated=func.coalesce(_S.aborted_at, _S.ended_at, _S.started_at),
    base=_infusions_started, load=_load_procedures, profile=us_core("procedure"),
    prefix=infusions.PROCEDURE_PREFIX,
    filters={"patient": search.references(_S.patient_id),
             # When the infusion started (performed[x]'s start).
             "date": search.date_filter(_S.started_at),
             "status": search.column_tokens(PROCEDURE_STATUS_SQL, EVENT_STATUS),
             "code": search.static_tokens(
                 (infusions.PROCEDURE_CODE[0], infusions.PROCEDURE_CODE[1]))},
)
