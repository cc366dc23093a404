"""The JSON API: bearer tokens, RFC 9457 problem details, OpenAPI documentation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.audit.worker import seal_everything
from ketaflow.auth import service as auth_service
from ketaflow.config import Role
from tests.support.factories import SYSTEM
from tests.support.web import counted, flush_audit
from tests.web.helpers import api_token, committed_user

PROBLEM = "application/problem+json"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_me_with_token(app_client: TestClient, app_db: Session) -> None:
    user = committed_user(app_db, Role.PRESCRIBER, full_name="Dr P")
    response = app_client.get("/api/v1/me", headers=_bearer(api_token(app_db, user)))
    assert response.status_code == 200
    assert response.json()["full_name"] == "Dr P" and response.json()["role"] == "prescriber"


def test_invalid_expired_revoked_tokens_get_401_problem(
    app_client: TestClient, app_db: Session
) -> None:
    user = committed_user(app_db, Role.NURSE)
    raw = api_token(app_db, user)
    for bad in ("kft_nope_nope", raw + "x"):
        response = app_client.get("/api/v1/me", headers=_bearer(bad))
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)
        body = response.json()
        assert body["status"] == 401 and body["title"] and body["detail"]
    auth_service.revoke_api_token(app_db, SYSTEM, token_id=raw.split("_")[1])
    app_db.commit()
    assert app_client.get("/api/v1/me", headers=_bearer(raw)).status_code == 401
    flush_audit(app_client.app)
    refusals = app_db.scalars(select(AuditEvent).where(AuditEvent.action == "request.refused"))
    assert counted(refusals) == 3


def test_api_create_user_validation_and_malformed_json(
    app_client: TestClient, app_db: Session
) -> None:
    admin = committed_user(app_db, Role.ADMIN)
    headers = _bearer(api_token(app_db, admin))
    malformed = app_client.post(
        "/api/v1/users",
        headers={**headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert malformed.status_code == 400 and malformed.headers["content-type"].startswith(PROBLEM)
    invalid = app_client.post(
        "/api/v1/users",
        headers=headers,
        json={"username": "ab", "full_name": "", "role": "chef", "password": "short"},
    )
    assert invalid.status_code == 422
    fields = {e["field"] for e in invalid.json()["errors"]}
    assert {"username", "full_name", "role", "password"} <= fields
    assert "short" not in invalid.text  # submitted values are not echoed back
    created = app_client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "apiuser",
            "full_name": "Api User",
            "role": "nurse",
            "password": "a-long-password-1",
        },
    )
    assert created.status_code == 201 and created.json()["username"] == "apiuser"
    duplicate = app_client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "apiuser",
            "full_name": "Api User",
            "role": "nurse",
            "password": "a-long-password-1",
        },
    )
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "username"


def test_audit_api_lists_and_verifies(app_client: TestClient, app_db: Session) -> None:
    admin = committed_user(app_db, Role.ADMIN)
    headers = _bearer(api_token(app_db, admin))
    events = app_client.get(
        "/api/v1/audit/events", headers=headers, params={"entity_type": "api_token"}
    ).json()
    assert events and events[0]["action"] == "api_token.create"
    pending = app_client.get("/api/v1/audit/verify", headers=headers).json()
    assert pending["ok"] is True and pending["unsealed"] >= 2
    seal_everything(app_client.app.state.session_factory, None)  # the server's sealer
    verify = app_client.get("/api/v1/audit/verify", headers=headers).json()
    assert verify["ok"] is True and verify["events_checked"] >= 2 and verify["unsealed"] == 0
    bad = app_client.get("/api/v1/audit/events", headers=headers, params={"limit": 0})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)


def test_openapi_and_docs_page(app_client: TestClient) -> None:
    spec = app_client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in spec["paths"] and "/api/v1/audit/events" in spec["paths"]
    assert not any(path.startswith("/admin") for path in spec["paths"])
    assert spec["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    docs = app_client.get("/api/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "<script>" not in docs.text  # no inline script under the CSP


def test_openapi_declares_every_refusal_as_a_problem(app_client: TestClient) -> None:
    """What every operation can answer is in the document (`ketaflow.web.openapi`);
    tests/web/test_api_contract.py checks the server answers only that."""
    spec = app_client.get("/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"type", "title", "status", "detail"} <= set(schemas["Problem"]["properties"])
    assert "HTTPValidationError" not in schemas
    operations = [(path, method, op) for path, item in spec["paths"].items()
                  if path.startswith("/api/v1/") for method, op in item.items()]
    assert len(operations) > 50
    for path, method, op in operations:
        responses = op["responses"]
        where = f"{method.upper()} {path}"
        assert {"401", "403", "422", "503"} <= set(responses), where
        assert responses["503"]["headers"]["Retry-After"]["required"] is True, where
        assert ("404" in responses) == ("{" in path), where
        assert ("400" in responses) == ("requestBody" in op), where
        for code, response in responses.items():
            if code[0] in "45":
                assert list(response["content"]) == [PROBLEM], where
        keyed = any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
        if keyed:
            assert "409" in responses, where
            success = [r for c, r in responses.items() if c.startswith("2")]
            assert all("Idempotent-Replayed" in r["headers"] for r in success), where
    ledger = spec["paths"]["/api/v1/controlled/entries"]["post"]["responses"]
    assert "429" in ledger  # a throttled witness
    fhir = spec["paths"]["/api/v1/fhir/Questionnaire/{instrument}"]["get"]["responses"]["200"]
    assert list(fhir["content"]) == ["application/fhir+json"]


_SUBSCHEMAS = ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "propertyNames")


def _loose_strings(node: object, where: str, schemas: dict[str, Any],
                   seen: frozenset[str] = frozenset()) -> list[str]:
    """Where a string schema in `node` has no pattern, enum, const or format."""
    if isinstance(node, list):
        return [hit for item in node for hit in _loose_strings(item, where, schemas, seen)]
    if not isinstance(node, dict):
        return []
    found = []
    name = str(node.get("$ref", "")).rsplit("/", 1)[-1]
    if name and name not in seen:
        found += _loose_strings(schemas[name], name, schemas, seen | {name})
    if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(node):
        found.append(where)
    found += _loose_strings(list(node.get("properties", {}).values()), where, schemas, seen)
    return found + _loose_strings([node[k] for k in _SUBSCHEMAS if k in node], where, schemas,
                                  seen)


def test_every_text_input_states_what_the_guard_refuses(app_client: TestClient) -> None:
    """No string in a request's schema admits a control character: each has the guard's
    pattern, or a pattern, enum or format of its own (which must exclude them)."""
    spec = app_client.get("/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    loose = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for parameter in op.get("parameters", []):
                where = f"{method} {path} {parameter['name']}"
                loose += _loose_strings(parameter["schema"], where, schemas)
            for media in op.get("requestBody", {}).get("content", {}).values():
                loose += _loose_strings(media["schema"], f"{method} {path} body", schemas)
    assert not loose, loose
