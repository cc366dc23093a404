"""Who may call what, written out literally and checked against the running app.

Nothing here is derived from `ROLE_PERMISSIONS` or from the routes' own declarations, the very
things under test: a role that gains or loses a permission, or a route that changes or loses the
permission it declares, fails here until this file is changed on purpose.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from ketaflow.auth.permissions import PUBLIC, ROLE_PERMISSIONS, declared_permission
from ketaflow.config import Role
from ketaflow.web.app import mounted_routers
from tests.support.web import browser_client
from tests.web.helpers import api_token, committed_user, csrf, refusal_events, sign_in

# Role -> the permissions it holds. "session:own" (finish or abandon signing in), "home:view"
# and "account:self" belong to every role.
ROLE_MATRIX: dict[str, set[str]] = {
    "admin": {"session:own", "home:view", "account:self", "users:manage", "audit:read",
              "settings:edit", "clinic:profile:edit", "sites:manage", "outcomes:view",
              "outcomes:small-cells", "fhir:export"},
    "prescriber": {
        "session:own", "home:view", "account:self",
        "patients:register", "patients:demographics",
        "patients:clinical:read", "patients:clinical:write", "assessments:write",
        "infusions:run", "controlled:substances", "calendar:view", "appointments:book",
        "screening:sign", "orders:sign", "courses:manage", "alerts:acknowledge", "research:read",
        "outcomes:view", "outcomes:small-cells",
    },
    "nurse": {
        "session:own", "home:view", "account:self",
        "patients:register", "patients:demographics",
        "patients:clinical:read", "patients:clinical:write", "assessments:write",
        "infusions:run", "controlled:substances", "calendar:view", "appointments:book",
    },
    "front_desk": {
        "session:own", "home:view", "account:self", "patients:register", "patients:demographics",
        "calendar:view", "appointments:book", "sites:manage",
    },
    "researcher": {"session:own", "home:view", "account:self", "research:read",
                   "outcomes:view", "research:export"},
}

# Permission -> every (method, full path template) that must declare it. "public": anyone,
# signed in or not.
ROUTES_BY_PERMISSION: dict[str, set[tuple[str, str]]] = {
    "public": {
        ("GET", "/calendar/feeds/{token}.ics"),
        ("GET", "/controlled/assets/ledger.css"),
        ("GET", "/healthz"),
        ("GET", "/infusions/assets/chair.css"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/portal/{token}"),
        ("GET", "/mood/{token}"),
        ("POST", "/mood/{token}"),
        ("GET", "/mood/{token}/done"),
        ("GET", "/reminders/opt-out/{token}"),
        ("POST", "/reminders/opt-out/{token}"),
        ("POST", "/portal/{token}"),
        ("GET", "/api/docs"),
        ("GET", "/fhir/R4/metadata"),
        ("GET", "/fhir/R4/.well-known/smart-configuration"),
        ("POST", "/fhir/R4/auth/token"),
        ("GET", "/fhir/R4/{type_name}"),
        ("GET", "/fhir/R4/{type_name}/{resource_id}"),
    },
    "session:own": {
        ("POST", "/logout"),
        ("GET", "/mfa"),
        ("POST", "/mfa"),
        ("GET", "/mfa/enrol"),
        ("POST", "/mfa/enrol"),
    },
    "home:view": {
        ("GET", "/"),
        ("GET", "/settings/clinical"),
        ("GET", "/sources"),
        ("GET", "/settings/clinic"),
        ("GET", "/settings/service-codes"),
        ("GET", "/api/v1/clinic/profile"),
        ("GET", "/api/v1/settings/clinical"),
        ("GET", "/api/v1/settings/clinical/history"),
    },
    "settings:edit": {
        ("POST", "/settings/clinical/change"),
        ("POST", "/settings/clinical/reset"),
        ("POST", "/api/v1/settings/clinical/changes"),
    },
    "clinic:profile:edit": {
        ("POST", "/settings/clinic"),
        ("POST", "/settings/service-codes"),
        ("POST", "/settings/service-codes/{code_id}/retire"),
        ("PUT", "/api/v1/clinic/profile"),
    },
    "account:self": {
        ("GET", "/account"),
        ("POST", "/account/password"),
        ("GET", "/api/v1/me"),
    },
    "users:manage": {
        ("GET", "/admin/fhir-clients"),
        ("POST", "/admin/fhir-clients"),
        ("POST", "/admin/fhir-clients/{client_id}/disable"),
        ("POST", "/admin/tokens/{token_id}/revoke"),
        ("GET", "/admin/users"),
        ("POST", "/admin/users"),
        ("GET", "/admin/users/{user_id}"),
        ("POST", "/admin/users/{user_id}/deactivate"),
        ("POST", "/admin/users/{user_id}/reset-mfa"),
        ("POST", "/admin/users/{user_id}/tokens"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
    },
    "audit:read": {
        ("GET", "/admin/audit"),
        ("GET", "/admin/audit.csv"),
        ("GET", "/api/v1/audit/events"),
        ("GET", "/api/v1/audit/verify"),
        ("GET", "/fhir/R4/AuditEvent"),
        ("GET", "/fhir/R4/AuditEvent/{resource_id}"),
    },
    "patients:register": {
        ("POST", "/patients"),
        ("GET", "/patients/new"),
        ("GET", "/patients/{patient_id}/edit"),
        ("POST", "/patients/{patient_id}/edit"),
        ("POST", "/api/v1/patients"),
        ("PUT", "/api/v1/patients/{patient_id}/demographics"),
    },
    "patients:demographics": {
        ("GET", "/patients"),
        ("GET", "/patients/{patient_id}"),
        ("GET", "/patients/{patient_id}/history"),
        ("GET", "/patients/{patient_id}/messages/_list"),
        ("GET", "/api/v1/patients"),
        ("GET", "/api/v1/patients/{patient_id}"),
        ("GET", "/api/v1/patients/{patient_id}/demographics/history"),
        ("GET", "/fhir/R4/Patient"),
        ("GET", "/fhir/R4/Patient/{resource_id}"),
        ("GET", "/fhir/R4/Practitioner"),
        ("GET", "/fhir/R4/Practitioner/{resource_id}"),
        ("GET", "/fhir/R4/Organization"),
        ("GET", "/fhir/R4/Organization/{resource_id}"),
        ("GET", "/fhir/R4/Location"),
        ("GET", "/fhir/R4/Location/{resource_id}"),
        ("GET", "/fhir/R4/Group"),
        ("GET", "/fhir/R4/Group/{resource_id}"),
    },
    "patients:clinical:read": {
        ("GET", "/patients/{patient_id}/mood"),
        ("GET", "/patients/{patient_id}/mood/report.pdf"),
        ("GET", "/patients/{patient_id}/reports"),
        ("GET", "/patients/{patient_id}/reports/patient.csv"),
        ("GET", "/patients/{patient_id}/reports/patient.pdf"),
        ("GET", "/patients/{patient_id}/reports/prior-auth.json"),
        ("GET", "/api/v1/patients/{mrn}/prior-auth"),
        ("GET", "/patients/{patient_id}/reports/prior-auth.pdf"),
        ("GET", "/patients/{patient_id}/reports/referrer-letter.pdf"),
        ("GET", "/patients/{patient_id}/reports/patient-summary.pdf"),
        ("GET", "/patients/{patient_id}/reminders"),
        ("GET", "/alerts"),
        ("GET", "/alerts/_open"),
        ("GET", "/assessments/{assessment_id}"),
        ("GET", "/courses/{course_id}"),
        ("GET", "/infusions/courses/{course_id}/_progress"),
        ("GET", "/patients/{patient_id}/assessments"),
        ("GET", "/patients/{patient_id}/assessments/_summary"),
        ("GET", "/patients/{patient_id}/courses/_summary"),
        ("GET", "/patients/{patient_id}/screenings/_summary"),
        ("GET", "/screenings/{screening_id}"),
        ("GET", "/api/v1/alerts"),
        ("GET", "/api/v1/assessments/{assessment_id}"),
        ("GET", "/api/v1/courses/{course_id}"),
        ("GET", "/api/v1/fhir/Questionnaire/{instrument}"),
        ("GET", "/api/v1/patients/{patient_id}/alerts"),
        ("GET", "/api/v1/patients/{patient_id}/allergies"),
        ("GET", "/api/v1/patients/{patient_id}/assessments"),
        ("GET", "/api/v1/patients/{patient_id}/consents"),
        ("GET", "/api/v1/patients/{patient_id}/courses"),
        ("GET", "/api/v1/patients/{patient_id}/diagnoses"),
        ("GET", "/api/v1/patients/{patient_id}/fhir/assessments"),
        ("GET", "/api/v1/patients/{patient_id}/measurements"),
        ("GET", "/api/v1/patients/{patient_id}/medications"),
        ("GET", "/api/v1/patients/{patient_id}/screenings"),
        ("GET", "/api/v1/patients/{patient_id}/trials"),
        ("GET", "/api/v1/screenings/{screening_id}"),
        ("GET", "/fhir/R4/Condition"),
        ("GET", "/fhir/R4/Condition/{resource_id}"),
        ("GET", "/fhir/R4/Observation"),
        ("GET", "/fhir/R4/Observation/{resource_id}"),
        ("GET", "/fhir/R4/AllergyIntolerance"),
        ("GET", "/fhir/R4/AllergyIntolerance/{resource_id}"),
        ("GET", "/fhir/R4/MedicationStatement"),
        ("GET", "/fhir/R4/MedicationStatement/{resource_id}"),
        ("GET", "/fhir/R4/Encounter"),
        ("GET", "/fhir/R4/Encounter/{resource_id}"),
        ("GET", "/fhir/R4/MedicationRequest"),
        ("GET", "/fhir/R4/MedicationRequest/{resource_id}"),
        ("GET", "/fhir/R4/MedicationAdministration"),
        ("GET", "/fhir/R4/MedicationAdministration/{resource_id}"),
        ("GET", "/fhir/R4/CarePlan"),
        ("GET", "/fhir/R4/CarePlan/{resource_id}"),
        ("GET", "/fhir/R4/AdverseEvent"),
        ("GET", "/fhir/R4/AdverseEvent/{resource_id}"),
        ("GET", "/fhir/R4/Consent"),
        ("GET", "/fhir/R4/Consent/{resource_id}"),
        ("GET", "/fhir/R4/Questionnaire"),
        ("GET", "/fhir/R4/Questionnaire/{resource_id}"),
        ("GET", "/fhir/R4/QuestionnaireResponse"),
        ("GET", "/fhir/R4/QuestionnaireResponse/{resource_id}"),
        ("GET", "/fhir/R4/Procedure"),
        ("GET", "/fhir/R4/Procedure/{resource_id}"),
    },
    "patients:clinical:write": {
        ("POST", "/fhir/R4"),
        ("POST", "/patients/{patient_id}/allergies"),
        ("GET", "/patients/{patient_id}/allergies/new"),
        ("POST", "/patients/{patient_id}/allergies/none"),
        ("GET", "/patients/{patient_id}/measurements/{measurement_id}/entered-in-error"),
        ("POST", "/patients/{patient_id}/measurements/{measurement_id}/entered-in-error"),
        ("GET", "/patients/{patient_id}/medications/{medication_id}/entered-in-error"),
        ("POST", "/patients/{patient_id}/medications/{medication_id}/entered-in-error"),
        ("POST", "/api/v1/patients/{patient_id}/measurements/{measurement_id}/entered-in-error"),
        ("POST", "/api/v1/patients/{patient_id}/medications/{medication_id}/entered-in-error"),
        ("POST", "/api/v1/patients/{patient_id}/no-known-allergies"),
        ("POST", "/patients/{patient_id}/consents"),
        ("GET", "/patients/{patient_id}/consents/new"),
        ("POST", "/patients/{patient_id}/diagnosis"),
        ("GET", "/patients/{patient_id}/diagnosis/new"),
        ("POST", "/patients/{patient_id}/measurements"),
        ("GET", "/patients/{patient_id}/measurements/new"),
        ("POST", "/patients/{patient_id}/medications"),
        ("GET", "/patients/{patient_id}/medications/new"),
        ("POST", "/patients/{patient_id}/medications/{medication_id}/stop"),
        ("POST", "/patients/{patient_id}/screenings"),
        ("GET", "/patients/{patient_id}/screenings/new"),
        ("POST", "/patients/{patient_id}/trials"),
        ("GET", "/patients/{patient_id}/trials/new"),
        ("POST", "/screenings/{screening_id}/amend"),
        ("GET", "/screenings/{screening_id}/edit"),
        ("POST", "/screenings/{screening_id}/edit"),
        ("POST", "/api/v1/patients/{patient_id}/allergies"),
        ("POST", "/api/v1/patients/{patient_id}/consents"),
        ("POST", "/api/v1/patients/{patient_id}/diagnoses"),
        ("POST", "/api/v1/patients/{patient_id}/measurements"),
        ("POST", "/api/v1/patients/{patient_id}/medications"),
        ("POST", "/api/v1/patients/{patient_id}/medications/{medication_id}/stop"),
        ("POST", "/api/v1/patients/{patient_id}/screenings"),
        ("POST", "/api/v1/patients/{patient_id}/trials"),
        ("PUT", "/api/v1/screenings/{screening_id}"),
        ("POST", "/api/v1/screenings/{screening_id}/amendments"),
    },
    "assessments:write": {
        ("POST", "/patients/{patient_id}/mood/entries"),
        ("POST", "/patients/{patient_id}/mood/entries/{entry_id}/entered-in-error"),
        ("POST", "/patients/{patient_id}/mood/links"),
        ("POST", "/patients/{patient_id}/mood/links/{link_id}/revoke"),
        ("POST", "/patients/{patient_id}/reminders"),
        ("POST", "/patients/{patient_id}/reminders/opt-out"),
        ("GET", "/assessments/{assessment_id}/amend"),
        ("POST", "/assessments/{assessment_id}/amend"),
        ("POST", "/assessments/{assessment_id}/rescore"),
        ("POST", "/patients/{patient_id}/assessments"),
        ("GET", "/patients/{patient_id}/assessments/new"),
        ("POST", "/patients/{patient_id}/portal-links"),
        ("POST", "/api/v1/assessments/{assessment_id}/amend"),
        ("POST", "/api/v1/assessments/{assessment_id}/rescore"),
        ("POST", "/api/v1/patients/{patient_id}/assessments"),
        ("POST", "/api/v1/patients/{patient_id}/portal-links"),
    },
    "alerts:acknowledge": {
        ("POST", "/alerts/{alert_id}/acknowledge"),
        ("POST", "/api/v1/alerts/{alert_id}/acknowledge"),
    },
    "screening:sign": {
        ("POST", "/screenings/{screening_id}/sign"),
        ("POST", "/api/v1/screenings/{screening_id}/sign"),
    },
    "courses:manage": {
        ("POST", "/courses/{course_id}/baseline"),
        ("POST", "/courses/{course_id}/boosters/{booster_id}/confirm"),
        ("POST", "/courses/{course_id}/boosters/cancel"),
        ("POST", "/courses/{course_id}/maintenance"),
        ("POST", "/courses/{course_id}/baseline-fallback"),
        ("POST", "/courses/{course_id}/state"),
        ("POST", "/patients/{patient_id}/courses"),
        ("GET", "/patients/{patient_id}/courses/new"),
        ("PUT", "/api/v1/courses/{course_id}/baseline"),
        ("POST", "/api/v1/courses/{course_id}/transitions"),
        ("POST", "/api/v1/patients/{patient_id}/courses"),
    },
    "infusions:run": {
        ("GET", "/infusions"),
        ("POST", "/infusions/courses/{course_id}/sessions"),
        ("GET", "/infusions/sessions/{session_id}"),
        ("POST", "/infusions/sessions/{session_id}/action"),
        ("POST", "/infusions/sessions/{session_id}/adverse-event"),
        ("POST", "/infusions/sessions/{session_id}/alerts/{alert_id}/acknowledge"),
        ("POST", "/infusions/sessions/{session_id}/cadss6"),
        ("POST", "/infusions/sessions/{session_id}/discharge"),
        ("POST", "/infusions/sessions/{session_id}/note"),
        ("POST", "/infusions/sessions/{session_id}/note/addenda"),
        ("POST", "/infusions/sessions/{session_id}/prechecks"),
        ("POST", "/infusions/sessions/{session_id}/prechecks/self-report-override"),
        ("POST", "/infusions/sessions/{session_id}/rescue"),
        ("POST", "/infusions/sessions/{session_id}/side-effects"),
        ("GET", "/infusions/sessions/{session_id}/summary"),
        ("GET", "/infusions/sessions/{session_id}/_live"),
        ("GET", "/infusions/sessions/{session_id}/summary.pdf"),
        ("GET", "/infusions/sessions/{session_id}/discharge-instructions.pdf"),
        ("POST", "/infusions/sessions/{session_id}/vitals"),
        ("GET", "/api/v1/infusions/day"),
        ("POST", "/api/v1/infusions/courses/{course_id}/next-session"),
        ("POST", "/api/v1/infusions/sessions"),
        ("GET", "/api/v1/infusions/sessions/{session_id}"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/actions"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/alerts/{alert_id}/acknowledge"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/discharge"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/events"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/note"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/note/addenda"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/prechecks"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/prechecks/self-report-override"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/vitals"),
    },
    "orders:sign": {
        ("POST", "/infusions/sessions/{session_id}/note/sign"),
        ("POST", "/infusions/sessions/{session_id}/order"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/note/sign"),
        ("POST", "/api/v1/infusions/sessions/{session_id}/order"),
    },
    "controlled:substances": {
        ("GET", "/controlled"),
        ("GET", "/controlled/reconciliation"),
        ("GET", "/controlled/reconciliation.csv"),
        ("GET", "/api/v1/controlled/reconciliation"),
        ("POST", "/controlled/administer"),
        ("POST", "/controlled/draw"),
        ("GET", "/controlled/export.csv"),
        ("POST", "/controlled/receive"),
        ("POST", "/controlled/reverse"),
        ("POST", "/controlled/waste"),
        ("GET", "/api/v1/controlled/discrepancies"),
        ("GET", "/api/v1/controlled/entries"),
        ("POST", "/api/v1/controlled/entries"),
        ("GET", "/api/v1/controlled/inventory"),
    },
    "calendar:view": {
        ("GET", "/calendar"),
        ("GET", "/calendar/sites/{site_id}"),
        ("GET", "/calendar/sites/{site_id}/replan"),
        ("GET", "/calendar/series/{series_id}"),
        ("GET", "/calendar/patients/{patient_id}/_appointments"),
        ("GET", "/fhir/R4/Appointment"),
        ("GET", "/fhir/R4/Appointment/{resource_id}"),
    },
    "appointments:book": {
        ("POST", "/calendar/appointments/{appointment_id}/close"),
        ("POST", "/calendar/appointments/{appointment_id}/instructions"),
        ("GET", "/calendar/patients/{patient_id}/book"),
        ("POST", "/calendar/patients/{patient_id}/book/options"),
        ("POST", "/calendar/patients/{patient_id}/book"),
        ("POST", "/calendar/appointments/{appointment_id}/move/options"),
        ("POST", "/calendar/appointments/{appointment_id}/move"),
        ("POST", "/calendar/patients/{patient_id}/waitlist"),
        ("POST", "/calendar/patients/{patient_id}/visits"),
        ("POST", "/calendar/sites/{site_id}/replan"),
    },
    "research:export": {
        ("GET", "/research/export"),
        ("GET", "/research/export.zip"),
    },
    "sites:manage": {
        ("POST", "/calendar/sites"),
        ("POST", "/calendar/sites/{site_id}/shifts"),
        ("POST", "/calendar/shifts/{shift_id}/cancel"),
        ("POST", "/calendar/sites/{site_id}/closures"),
        ("POST", "/calendar/sites/{site_id}/feed"),
    },
    "outcomes:view": {
        ("GET", "/outcomes"),
        ("GET", "/reports/monthly"),
        ("GET", "/reports/monthly.csv"),
        ("GET", "/reports/monthly.pdf"),
        ("GET", "/api/v1/outcomes"),
    },
    "fhir:export": {
        ("GET", "/fhir/R4/$export"),
        ("GET", "/fhir/R4/Patient/$export"),
        ("GET", "/fhir/R4/Group/{group_id}/$export"),
        ("GET", "/fhir/R4/$export-status/{job_id}"),
        ("DELETE", "/fhir/R4/$export-status/{job_id}"),
        ("GET", "/fhir/R4/$export-file/{job_id}/{file_name}"),
    },
}

ROUTE_TABLE: dict[tuple[str, str], str] = {
    route: permission for permission, routes in ROUTES_BY_PERMISSION.items() for route in routes
}


def test_role_matrix_is_as_written() -> None:
    actual = {role.value: {p.value for p in perms} for role, perms in ROLE_PERMISSIONS.items()}
    assert actual == ROLE_MATRIX


def test_each_route_is_listed_under_one_permission() -> None:
    assert len(ROUTE_TABLE) == sum(len(routes) for routes in ROUTES_BY_PERMISSION.values())


def _declared(route: APIRoute) -> str:
    permission = declared_permission(route.endpoint)
    if permission is None:
        return "(none)"
    return "public" if permission is PUBLIC else str(permission)


def test_mounted_routes_declare_exactly_the_listed_permissions() -> None:
    mounted: dict[tuple[str, str], str] = {}
    for router, prefix in mounted_routers():
        for route in router.routes:
            assert isinstance(route, APIRoute), f"{route} is not an API route: it escapes the guard"
            for method in sorted(route.methods - {"HEAD"}):
                key = (method, prefix + route.path)
                assert key not in mounted, f"{key} is mounted twice"
                mounted[key] = _declared(route)
    missing = sorted(set(ROUTE_TABLE) - set(mounted))
    extra = sorted(set(mounted) - set(ROUTE_TABLE))
    assert not missing and not extra, f"not mounted: {missing}; not in the table: {extra}"
    changed = {key: (ROUTE_TABLE[key], found) for key, found in mounted.items()
               if found != ROUTE_TABLE[key]}
    assert not changed, f"(listed, declared): {changed}"


def test_route_without_permission_is_refused(app_client: TestClient) -> None:
    """The guard refuses (500, no trace) a route that forgot to declare a permission."""
    app = app_client.app

    @app.get("/undeclared")  # type: ignore[attr-defined]
    def undeclared() -> dict[str, str]:
        return {"leak": "secret"}

    client = browser_client(app, raise_server_exceptions=False)
    response = client.get("/undeclared")
    assert response.status_code == 500 and "secret" not in response.text
    assert "Traceback" not in response.text


def _fill(path: str, ids: dict[str, str]) -> str:
    # Ids with no arranged record (patient_id, ...) get 1: a role that may call the route then
    # gets 404 or 422, never a refusal, which is all this walk checks.
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "1"), path)


def _walk_order() -> list[tuple[tuple[str, str], str]]:
    # By path, GET before POST, as a browser would: POST /mfa/enrol before GET /mfa/enrol has
    # begun an enrolment fails with a 500 (reported; auth is being reworked). Signing out ends
    # the walk's session, so it goes last.
    return sorted(ROUTE_TABLE.items(),
                  key=lambda item: (item[0] == ("POST", "/logout"), item[0][1], item[0][0]))


def _bearer_path(path: str) -> bool:
    return path.startswith(("/api/", "/fhir/"))


def _call(client: TestClient, method: str, path: str, bearer: dict[str, str]) -> Response:
    if _bearer_path(path):
        body = {} if method in {"POST", "PUT"} else None
        return client.request(method, path, headers=bearer, json=body)
    form = {"csrf_token": csrf(client)} if method != "GET" else None
    return client.request(method, path, data=form)


def _answer(response: Response, path: str) -> str:
    """How the guard answered: "forbidden" (403), "sign in" (401 from the API, or a page sent
    to the sign-in form), or "served" (the route ran, whatever it then answered)."""
    if response.status_code == 403:
        return "forbidden"
    if _bearer_path(path) and response.status_code == 401:
        return "sign in"
    if response.status_code == 303 and response.headers["location"].startswith("/login?next="):
        return "sign in"
    return "served"


@pytest.mark.parametrize("role", [*Role, None], ids=[*(r.value for r in Role), "anonymous"])
def test_every_route_answers_each_role_as_the_tables_say(
    app_client: TestClient, app_db: Session, role: Role | None
) -> None:
    other = committed_user(app_db, Role.NURSE)
    ids = {"user_id": str(other.id), "token_id": api_token(app_db, other).split("_")[1]}
    bearer: dict[str, str] = {}
    held: set[str] = set()
    if role is not None:
        me = committed_user(app_db, role)
        assert sign_in(app_client, me.username) == 303
        bearer = {"Authorization": f"Bearer {api_token(app_db, me)}"}
        held = ROLE_MATRIX[role.value]
    refusal = "sign in" if role is None else "forbidden"
    refused: list[tuple[str, str]] = []
    for (method, template), permission in _walk_order():
        path = _fill(template, ids)
        response = _call(app_client, method, path, bearer)
        allowed = permission == "public" or permission in held
        expected = "served" if allowed else refusal
        assert _answer(response, path) == expected, (
            f"{role} {method} {path} ({permission}) -> {response.status_code}"
        )
        if not allowed:
            refused.append((method, template))
    assert len(refused) >= (10 if role is not None else 100)
    # Every refusal leaves exactly one audit event, and nothing that was served leaves one.
    assert Counter(refusal_events(app_db, app_client.app)) == Counter(refused)


def test_anonymous_is_sent_to_sign_in_or_gets_401(app_client: TestClient) -> None:
    page = app_client.get("/admin/users")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    api = app_client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.headers["www-authenticate"] == "Bearer"
