"""The JSON API keeps the contract its OpenAPI document states, checked by schemathesis.

The real app is served by uvicorn on a free port (as for the browser tests), on SQLite and on
PostgreSQL, with a small clinic seeded so that generated path ids sometimes name real records
(`REAL_ID_PROBABILITY`): a registered patient with a diagnosis, a medication, a prior trial
and a weight; an active course on a signed screening; an infusion session in progress with a
vitals alert; a self-report that raised a suicidality alert. Schemathesis reads
/api/v1/openapi.json from the server and sends `EXAMPLES_PER_OPERATION` generated requests to
every operation, valid by the schema and deterministic (a failure reproduces), once with an
admin's bearer token and once with a nurse's, and checks every answer:

- no server error: nothing 5xx but the documented 503, which must carry Retry-After;
- every status, content type, header and body is one the document declares for it;
- a request valid by the schema is not refused as invalid input (see `_ACCEPTED`).

A failure here is a bug in the schema or in the server: tighten the schema to what the server
accepts or fix the server, never exclude the operation or loosen a check. Schemathesis is a
test requirement (`pip install -e '.[test]'`): without it this module fails to import, and the
suite fails.

To review the refusals a run meets that the checks allow (404, 409, and 422 from clinical
rules), set KETAFLOW_CONTRACT_REFUSALS to a file: each one is appended to it as a JSON line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis.errors import FailedHealthCheck
from schemathesis import APIOperation, Case, CheckContext, Response
from schemathesis.errors import FailureGroup
from schemathesis.openapi import from_url
from sqlalchemy.orm import Session

from ketaflow.auth.models import StaffUser
from ketaflow.config import Role, Settings
from ketaflow.db import make_engine, make_session_factory
from ketaflow.infusions import service as infusions
from ketaflow.infusions.rules import SessionAction, VitalsReading
from ketaflow.patients import service as patients
from ketaflow.textcheck import CONTROLS_IN_LINE, CONTROLS_IN_TEXT
from ketaflow.web.app import create_app
from ketaflow.web.openapi import PROBLEM_JSON
from tests.infusions.factories import (
    Clinic,
    ctx_for,
    make_course,
    open_alerts,
    ready_to_start,
    self_report,
)
from tests.patients.factories import DIAGNOSIS, make_patient, medication_input, trial_input
from tests.support.factories import SYSTEM, make_user
from tests.support.live import serve
from tests.web.helpers import api_token

EXAMPLES_PER_OPERATION = 25
# How often a generated path id names a seeded record; the others are mostly unknown (404).
REAL_ID_PROBABILITY = 0.5
SEED = 20261
ROLES = (Role.ADMIN, Role.NURSE)

# Statuses a request valid by the schema may get without the schema being wrong:
# - 403: the token's role may not do this (roles are not part of a request's schema);
# - 404: the record a generated path id names does not exist;
# - 409: the record's state does not allow it (an aborted session, a signed screening);
# - 422: a clinical rule refuses it, naming the field: a rule that depends on other fields,
#   stored records, the clock or the clinic's settings (a date before the patient's birth,
#   a course id in the body that names no course, a dose above the clinic's maximum), which
#   no schema can state. A 422 from input validation itself still fails: see
#   `valid_input_is_not_refused`;
# - 503: the server is busy (documented, and it must carry Retry-After).
# Everything else fails a valid request: 400 (the body is the JSON the schema describes), 401
# (the token is valid), 429 (nothing generated here is throttled), any other 4xx or 5xx.
_ACCEPTED = ["2xx", "403", "404", "409", "422", "503"]
_IN_LINE = re.compile(f"[{CONTROLS_IN_LINE}]")
_IN_TEXT = re.compile(f"[{CONTROLS_IN_TEXT}]")


# ---------------------------------------------------------------- seeded clinic


@dataclass(frozen=True)
class Seeded:
    """Bearer tokens, and the ids of the records the server starts with (by parameter)."""

    tokens: dict[Role, str]
    ids: dict[str, list[int]]


def _seed(url: str) -> Seeded:
    engine = make_engine(url)
    db = make_session_factory(engine)()
    try:
        return _seed_clinic(db)
    finally:
        db.close()
        engine.dispose()


def _seed_clinic(db: Session) -> Seeded:
    users = {role: make_user(db, role=role) for role in ROLES}
    nurse, prescriber = users[Role.NURSE], make_user(db, role=Role.PRESCRIBER)
    clinic = Clinic(nurse, prescriber, ctx_for(nurse), ctx_for(prescriber))
    patient = make_patient(db)
    patients.record_diagnosis(db, SYSTEM, patient_id=patient.id, diagnosis=DIAGNOSIS)
    medication = patients.add_medication(db, SYSTEM, patient_id=patient.id,
                                         medication=medication_input())
    patients.add_treatment_trial(db, SYSTEM, patient_id=patient.id, trial=trial_input())
    course = make_course(db, clinic, patient=patient)
    record = ready_to_start(db, clinic, course)
    infusions.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                           action=SessionAction.START)
    # A pressure past the clinic's thresholds raises a session alert to acknowledge.
    reading = VitalsReading(datetime.now(UTC), sbp_mmhg=190, dbp_mmhg=115, hr_bpm=72,
                            spo2_percent=98)
    outcome = infusions.record_vitals(db, clinic.nurse_ctx, session_id=record.id,
                                      reading=reading)
    # A self-report with thoughts of self-harm raises an alert for a prescriber.
    assessment = self_report(db, patient.id, item9=2)
    alerts = [a.id for a in outcome.alerts] + [a.id for a in open_alerts(db, patient.id)]
    assert outcome.alerts and len(alerts) > len(outcome.alerts), "the seed raises no alerts"
    db.commit()
    return Seeded(_tokens(db, users), {
        "patient_id": [patient.id], "course_id": [course.id], "session_id": [record.id],
        "screening_id": [course.screening_id], "assessment_id": [assessment.id],
        "alert_id": alerts, "medication_id": [medication.id],
    })


def _tokens(db: Session, users: dict[Role, StaffUser]) -> dict[Role, str]:
    return {role: api_token(db, user) for role, user in users.items()}


# ---------------------------------------------------------------- checks beyond the built-ins


@schemathesis.check
def valid_input_is_not_refused(ctx: CheckContext, response: Response,
                               case: Case) -> bool | None:
    """A request valid by the schema passes the server's input checks: the schema allows no
    character the guard refuses, and validation against the request's model (a 422 listing
    `errors`) accepts it."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    one_line = [*(case.path_parameters or {}).values(), *(case.query or {}).values()]
    if any(_IN_LINE.search(str(value)) for value in one_line):
        raise AssertionError("the schema allows a control character in a path or query value")
    if any(_IN_TEXT.search(text) for text in _strings(case.body)):
        raise AssertionError("the schema allows a control character in the body")
    if response.status_code == 422 and _refused_by_schema(_problem(response)):
        raise AssertionError(f"valid input refused: {_problem(response).get('detail')}")
    return True


def _refused_by_schema(problem: dict[str, Any]) -> bool:
    """Whether a 422 is the request model's refusal (its detail joins "field: message" for
    each error) rather than a clinical rule's, which also lists every field it refused."""
    errors = problem.get("errors")
    if not errors:
        return False
    joined = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
    return bool(problem.get("detail") == joined)


@schemathesis.check
def busy_answers_say_when_to_retry(ctx: CheckContext, response: Response,
                                   case: Case) -> bool | None:
    if response.status_code == 503 and not response.headers.get("retry-after"):
        raise AssertionError("503 without Retry-After")
    return True


@schemathesis.check
def refusals_are_noted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Append each allowed refusal to KETAFLOW_CONTRACT_REFUSALS, when it names a file."""
    target = os.environ.get("KETAFLOW_CONTRACT_REFUSALS")
    if target and response.status_code in (404, 409, 422):
        problem = _problem(response)
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"operation": case.operation.label,
                                  "status": response.status_code,
                                  "field": problem.get("field"),
                                  "detail": problem.get("detail")}) + "\n")
    return True


def _problem(response: Response) -> dict[str, Any]:
    content_type = (response.headers.get("content-type") or [""])[0]
    body = response.json() if content_type.startswith(PROBLEM_JSON) else None
    return body if isinstance(body, dict) else {}


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# ---------------------------------------------------------------- the run


def _config(origin: str, seeded: Seeded, role: Role) -> dict[str, Any]:
    """schemathesis.toml's settings, for one role against one server."""
    return {
        "base-url": origin,
        "seed": SEED,
        "generation": {"mode": "positive"},
        "checks": {
            # 503 is documented for every operation (admission control, a busy database).
            "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "positive_data_acceptance": {"expected-statuses": _ACCEPTED},
        },
        "auth": {"openapi": {"apiToken": {"bearer": seeded.tokens[role]}}},
        "dictionaries": {name: {"values": ids} for name, ids in seeded.ids.items()},
        "parameters": {f"path.{name}": {"dictionary": name, "probability": REAL_ID_PROBABILITY}
                       for name in seeded.ids},
    }


def _exercise(operation: APIOperation, http: requests.Session) -> str | None:
    """Send the operation's generated requests and check each answer; the report of the first
    failure, or None. Deterministic (the same examples every run), and not shrunk: each
    request changes the server's state, so a smaller example need not fail the same way."""
    @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
                         deadline=None, phases=[hypothesis.Phase.generate])
    @hypothesis.given(case=operation.as_strategy())
    def run(case: Case) -> None:
        case.call_and_validate(session=http)

    try:
        run()
    except (AssertionError, FailureGroup, FailedHealthCheck) as failure:
        return str(failure)
    return None


@pytest.fixture(params=ROLES, ids=[role.value for role in ROLES])
def role(request: pytest.FixtureRequest) -> Role:
    return Role(request.param)


@pytest.fixture
def seeded(settings: Settings) -> Seeded:
    return _seed(settings.effective_database_url)


@pytest.fixture
def contract_server(settings: Settings, seeded: Seeded) -> Iterator[str]:
    with serve(create_app(settings)) as origin:
        yield origin


def test_api_keeps_its_contract(contract_server: str, seeded: Seeded, role: Role) -> None:
    config = schemathesis.Config.from_dict(_config(contract_server, seeded, role))
    schema = from_url(f"{contract_server}/api/v1/openapi.json", config=config)
    failures: dict[str, str] = {}
    operations = 0
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            report = _exercise(operation, http)
            if report is not None:
                failures[operation.label] = report
    assert operations > 50, f"only {operations} operations in the document"
    assert not failures, f"{len(failures)} operations broke the contract:\n\n" + "\n\n".join(
        f"== {label}\n{report}" for label, report in failures.items())
