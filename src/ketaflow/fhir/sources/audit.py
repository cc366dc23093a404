"""The source of AuditEvent: the audit trail's events (`ketaflow.audit`), each once, as
recorded (events are append-only, so the last update is when it occurred).

The FHIR action code (C, R, U, E) is one SQL CASE over the action's last word, selected by the
loader and filtered by the action search, so the resource and the search agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, or_, select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.fhir import search
from ketaflow.fhir.codes import AUDIT_ACTION, Resource
from ketaflow.fhir.mappers import audit

_A = AuditEvent
# The trail's verbs by what they do; any other (export, sign in, send, seal) executes.
_VERBS = {
    "R": ("read", "search", "list", "view", "open", "live", "download"),
    "C": ("create", "add", "record", "book", "register", "generate", "start"),
    "U": ("update", "amend", "change_password", "move", "revoke", "retire", "supersede",
          "deactivate", "acknowledge", "reset", "cancel", "complete", "week_replan",
          "entered_in_error", "enrol_mfa", "reset_mfa"),
}


def _ends_with(verb: str) -> ColumnElement[bool]:
    # "_" is LIKE's one-character wildcard: escaped, so change_password is matched literally.
    return _A.action.like("%." + verb.replace("_", "\\_"), escape="\\")


ACTION_SQL = case(*((or_(*(_ends_with(verb) for verb in verbs)), code)
                    for code, verbs in _VERBS.items()), else_="E")


def _events(query: Select[Any]) -> Select[Any]:
    return query.select_from(_A)


def _load(session: Session, ids: Sequence[int]) -> Mapping[int, Resource]:
    rows = session.execute(select(_A, ACTION_SQL).where(_A.id.in_(ids))).all()
    return {row.id: audit.audit_event(row, code) for row, code in rows}


def _agents(values: Sequence[int]) -> search.Condition:
    return _A.actor_user_id.in_(list(values))


def _entities(values: Sequence[tuple[str, str]]) -> search.Condition:
    """`Type/id`: the events about that resource, whether the trail names it by its FHIR
    type (a FHIR read) or by its own kind and row id (the record's own pages and API)."""
    matches = [and_(_A.entity_type == kind, _A.entity_id == fhir_id)
               for kind, fhir_id in values]
    for kind, fhir_id in values:
        for entity_type, (target, prefix) in audit.DOMAIN_RESOURCES.items():
            row_id = fhir_id.removeprefix(prefix)
            if target == kind and fhir_id.startswith(prefix) and row_id.isdigit():
                matches.append(and_(_A.entity_type == entity_type, _A.entity_id == row_id))
    return or_(*matches)


# Base R4: US Core has no AuditEvent profile.
AUDIT_EVENT = search.Source(
    key="audit", row=_A.id, updated=_A.occurred_at, base=_events, load=_load, profile=None,
    prefix=audit.AUDIT_PREFIX,
    filters={"date": search.date_filter(_A.occurred_at),
             "agent": _agents,
             "entity": _entities,
             "action": search.column_tokens(ACTION_SQL, AUDIT_ACTION)},
)
