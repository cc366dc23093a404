"""SMART Backend Services on the seeded clinic, both databases: a system client registered
with an RSA (RS384) or an EC P-384 (ES384) key signs an assertion, gets a token, searches
Patient and kicks off `$export`; every refusal the spec names answers an OAuth2 error (token
endpoint) or an OperationOutcome (FHIR routes), never a 500, and issues nothing."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from httpx2 import Response
from jwt.algorithms import ECAlgorithm
from sqlalchemy import func, select
from typer.testing import CliRunner

from ketaflow.audit.models import AuditEvent
from ketaflow.cli import app as cli_app
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.fhir.registry import BY_NAME
from ketaflow.fhir.smart import service
from ketaflow.fhir.smart.models import SystemClient, SystemToken
from tests.conftest import TEST_AUDIT_KEY
from tests.fhir.conftest import FHIR, Clinic, fresh
from tests.support.factories import SYSTEM

TOKEN_URL = "http://127.0.0.1:8000/fhir/R4/auth/token"  # the default public address
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ec() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def _pem(key: Key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _jwk(key: ec.EllipticCurvePrivateKey, kid: str = "k1") -> str:
    return json.dumps({**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid})


def _register(clinic: Clinic, key: Key, scopes: str = "system/*.read",
              name: str = "Riverside EHR") -> str:
    """Registered as the admin page does it (RSA as a PEM, EC as a JWK), committed."""
    public = _pem(key) if isinstance(key, rsa.RSAPrivateKey) else _jwk(key)
    clinic.db.rollback()  # a write transaction of its own (not a read `fresh` began)
    client = service.register_client(clinic.db, SYSTEM, name=name, public_key=public,
                                     allowed_scopes=scopes, served=BY_NAME)
    clinic.db.commit()
    return client.id


def _assertion(client_id: str, key: Key | str, alg: str | None = None,
               **claims: Any) -> str:
    if alg is None:
        alg = "RS384" if isinstance(key, rsa.RSAPrivateKey) else "ES384"
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": now + 240,
            "jti": uuid.uuid4().hex, **claims}
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": "k1"})  # type: ignore[arg-type]


def _token_call(clinic: Clinic, assertion: str, scope: str = "system/*.read",
                **form: str) -> Response:
    data = {"grant_type": "client_credentials", "scope": scope,
            "client_assertion_type": service.ASSERTION_TYPE, "client_assertion": assertion,
            **form}
    return clinic.client.post(f"{FHIR}/auth/token", data=data)


def _token(clinic: Clinic, client_id: str, key: Key, scope: str = "system/*.read") -> str:
    response = _token_call(clinic, _assertion(client_id, key), scope)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 300
    assert body["scope"] == scope
    assert response.headers["cache-control"] == "no-store"
    token: str = body["access_token"]
    return token


def _get(clinic: Clinic, path: str, token: str, headers: dict[str, str] | None = None,
         **params: str) -> Response:
    url = path[path.index(FHIR):] if path.startswith("http") else FHIR + path
    return clinic.client.get(url, params=params or None,
                             headers={"Authorization": f"Bearer {token}", **(headers or {})})


def _refused(response: Response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    description: str = body["error_description"]
    return description


def _outcome(response: Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    diagnostics: str = body["issue"][0]["diagnostics"]
    return diagnostics


def _tokens_of(clinic: Clinic, client_id: str) -> int:
    fresh(clinic)
    return clinic.db.scalar(select(func.count()).select_from(SystemToken)
                            .where(SystemToken.client_id == client_id)) or 0


def _events(clinic: Clinic, actor: str, action: str) -> list[AuditEvent]:
    fresh(clinic)
    return list(clinic.db.scalars(select(AuditEvent).where(
        AuditEvent.actor_username == actor, AuditEvent.action == action)))


# ---------------------------------------------------------------- discovery


def test_smart_configuration_and_capability_statement_advertise_the_token_endpoint(
        clinic: Clinic) -> None:
    config = clinic.client.get(f"{FHIR}/.well-known/smart-configuration")
    assert config.status_code == 200
    body = config.json()
    assert body["token_endpoint"] == TOKEN_URL
    assert body["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert body["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert body["grant_types_supported"] == ["client_credentials"]
    assert body["capabilities"] == ["client-confidential-asymmetric"]
    assert {"system/*.read", "system/*.rs", "system/Patient.read",
            "system/Observation.rs"} <= set(body["scopes_supported"])
    security = clinic.ok("/metadata", None)["rest"][0]["security"]  # type: ignore[arg-type]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = security["extension"][0]
    assert uris["url"].endswith("/oauth-uris")
    assert uris["extension"] == [{"url": "token", "valueUri": TOKEN_URL}]


# ---------------------------------------------------------------- the whole flow


@pytest.mark.parametrize("make_key", [_rsa, _ec], ids=["RS384", "ES384"])
def test_a_system_client_gets_a_token_searches_patients_and_exports(
        clinic: Clinic, make_key: Any) -> None:
    key = make_key()
    client_id = _register(clinic, key)
    token = _token(clinic, client_id, key)
    assert token.startswith("kfs_")
    fresh(clinic)
    stored = clinic.db.scalars(select(SystemToken).where(SystemToken.client_id == client_id)
                               ).one()
    assert token.split("_")[2] not in stored.secret_sha256  # kept hashed, not as given
    assert timedelta(seconds=290) < stored.expires_at - stored.issued_at <= timedelta(
        seconds=300)

    bundle = _get(clinic, "/Patient", token, _count="5")
    assert bundle.status_code == 200, bundle.text
    assert bundle.json()["total"] > 0
    assert all(e["resource"]["resourceType"] == "Patient" for e in bundle.json()["entry"])
    patient_id = bundle.json()["entry"][0]["resource"]["id"]
    assert _get(clinic, f"/Patient/{patient_id}", token).status_code == 200
    assert _get(clinic, "/Observation", token, patient=patient_id).status_code == 200
    # Each read is audited with the client id as the actor (no user behind it).
    searches = _events(clinic, client_id, "fhir.search")
    assert {e.entity_type for e in searches} == {"Patient", "Observation"}
    assert all(e.actor_user_id is None and e.actor_role == "system-client" for e in searches)
    assert len(_events(clinic, client_id, "fhir.read")) == 1
    assert len(_events(clinic, client_id, "fhir.client.token")) == 1

    kickoff = _get(clinic, "/$export", token, ASYNC, _type="Patient,Condition")
    assert kickoff.status_code == 202, kickoff.text
    status = _get(clinic, kickoff.headers["content-location"], token)
    assert status.status_code in (200, 202)
    # Another client (and a staff admin) cannot see this client's job.
    other_key = make_key()
    other = _token(clinic, _register(clinic, other_key, name="Other"), other_key)
    assert _get(clinic, kickoff.headers["content-location"], other).status_code == 404
    admin = clinic.tokens[Role.ADMIN]
    assert _get(clinic, kickoff.headers["content-location"], admin).status_code == 404


def test_staff_tokens_keep_working_beside_system_tokens(clinic: Clinic) -> None:
    assert clinic.get("/Patient", Role.FRONT_DESK).status_code == 200
    assert clinic.get("/Observation", Role.FRONT_DESK).status_code == 403
    assert clinic.get("/Observation", Role.NURSE).status_code == 200


# ---------------------------------------------------------------- scopes on the FHIR routes


def test_a_patient_token_is_refused_on_observation_and_in_export(clinic: Clinic) -> None:
    key = _rsa()
    client_id = _register(clinic, key, scopes="system/Patient.read system/Condition.rs")
    token = _token(clinic, client_id, key, scope="system/Patient.read")
    assert _get(clinic, "/Patient", token).status_code == 200
    assert "Observation" in _outcome(_get(clinic, "/Observation", token), 403)
    assert _outcome(_get(clinic, "/Observation/1", token), 403)
    assert "_type" in _outcome(_get(clinic, "/$export", token, ASYNC,
                                    _type="Patient,Observation"), 403)
    # Without _type, the export is narrowed to what the scopes read.
    kickoff = _get(clinic, "/$export", token, ASYNC)
    assert kickoff.status_code == 202, kickoff.text
    fresh(clinic)
    start = _events(clinic, client_id, "fhir.export.start")
    assert [json.loads(e.detail)["types"] for e in start] == [["Patient"]]
    # A v2 read-only scope reads but does not search.
    read_only = _token(clinic, client_id, key, scope="system/Condition.r")
    assert _get(clinic, "/Condition", read_only).status_code == 403
    # The JSON API is not open to system clients at all.
    assert _get(clinic, "/Patient", token).status_code == 200
    api = clinic.client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403


def test_unknown_expired_and_disabled_tokens_answer_401(clinic: Clinic) -> None:
    key = _ec()
    client_id = _register(clinic, key)
    token = _token(clinic, client_id, key)
    assert "invalid or expired" in _outcome(_get(clinic, "/Patient", token + "x"), 401)
    assert _outcome(_get(clinic, "/Patient", "kfs_nope_nope"), 401)
    clinic.db.rollback()
    stored = clinic.db.scalars(select(SystemToken).where(SystemToken.client_id == client_id)
                               ).one()
    stored.expires_at = utcnow() - timedelta(seconds=1)
    clinic.db.commit()
    assert _outcome(_get(clinic, "/Patient", token), 401)
    live = _token(clinic, client_id, key)
    assert _get(clinic, "/Patient", live).status_code == 200
    clinic.db.rollback()
    service.disable_client(clinic.db, SYSTEM, client_id=client_id)
    clinic.db.commit()
    assert _outcome(_get(clinic, "/Patient", live), 401)  # at once, not at expiry


# ---------------------------------------------------------------- token endpoint refusals


def _assert_refused(clinic: Clinic, client_id: str, response: Response, status: int,
                    error: str, words: str) -> None:
    assert words in _refused(response, status, error)
    assert _tokens_of(clinic, client_id) == 0


def test_token_endpoint_refusals(clinic: Clinic) -> None:
    key = _rsa()
    client_id = _register(clinic, key, scopes="system/Patient.read")
    scope = "system/Patient.read"

    def call(assertion: str, **form: str) -> Response:
        return _token_call(clinic, assertion, form.pop("scope", scope), **form)

    expired = _assertion(client_id, key, exp=int(time.time()) - 120)
    _assert_refused(clinic, client_id, call(expired), 401, "invalid_client", "expired")
    too_long = _assertion(client_id, key, exp=int(time.time()) + 3600)
    _assert_refused(clinic, client_id, call(too_long), 401, "invalid_client", "five minutes")
    far_future = _assertion(client_id, key, exp=10**20)
    _assert_refused(clinic, client_id, call(far_future), 401, "invalid_client", "five minutes")
    forged = _assertion(client_id, _rsa())
    _assert_refused(clinic, client_id, call(forged), 401, "invalid_client", "signature")
    wrong_aud = _assertion(client_id, key, aud="https://elsewhere.example/token")
    _assert_refused(clinic, client_id, call(wrong_aud), 401, "invalid_client", "aud")
    no_jti = _assertion(client_id, key, jti=None)
    _assert_refused(clinic, client_id, call(no_jti), 401, "invalid_client", "jti")
    unknown = _assertion("kfc-unknown", key)
    _assert_refused(clinic, client_id, call(unknown), 401, "invalid_client", "unknown")
    other_sub = _assertion(client_id, key, sub="someone-else")
    _assert_refused(clinic, client_id, call(other_sub), 401, "invalid_client", "sub")
    hs256 = _assertion(client_id, "a-shared-secret-of-32-bytes-long!", alg="HS256")
    _assert_refused(clinic, client_id, call(hs256), 401, "invalid_client", "RS384")
    unsigned = _assertion(client_id, "", alg="none")
    _assert_refused(clinic, client_id, call(unsigned), 401, "invalid_client", "RS384")
    es384 = _assertion(client_id, _ec(), alg="ES384")  # not the registered key's algorithm
    _assert_refused(clinic, client_id, call(es384), 401, "invalid_client", "RS384")
    _assert_refused(clinic, client_id, call("not.a.jwt"), 401, "invalid_client", "JWT")
    _assert_refused(clinic, client_id, call(_assertion(client_id, key), scope="system/*.read"),
                    400, "invalid_scope", "more than this client is allowed")
    _assert_refused(clinic, client_id, call(_assertion(client_id, key),
                                            scope="system/Patient.write"),
                    400, "invalid_scope", "only reads")
    _assert_refused(clinic, client_id, call(_assertion(client_id, key),
                                            scope="patient/Patient.read"),
                    400, "invalid_scope", "system scopes")
    _assert_refused(clinic, client_id, call(_assertion(client_id, key), scope=""),
                    400, "invalid_scope", "required")
    _assert_refused(clinic, client_id, call(_assertion(client_id, key),
                                            grant_type="password"),
                    400, "unsupported_grant_type", "client_credentials")
    _assert_refused(clinic, client_id, call(_assertion(client_id, key),
                                            client_assertion_type="urn:other"),
                    400, "invalid_request", "client_assertion_type")
    nothing = clinic.client.post(f"{FHIR}/auth/token", json={"grant_type": "x"})
    _refused(nothing, 400, "invalid_request")
    # Each refusal naming this (registered) client is audited about it, with the error code
    # only; the actor is anonymous (the client did not authenticate).
    assert not _events(clinic, client_id, "fhir.client.token")
    fresh(clinic)
    about = list(clinic.db.scalars(select(AuditEvent).where(
        AuditEvent.action == "fhir.client.token", AuditEvent.entity_id == client_id)))
    assert len(about) == 16 and all(e.outcome == "denied" for e in about)
    assert {json.loads(e.detail)["error"] for e in about} == {
        "invalid_client", "invalid_scope", "unsupported_grant_type", "invalid_request"}
    assert not clinic.db.scalars(select(AuditEvent).where(
        AuditEvent.action == "fhir.client.token", AuditEvent.entity_id == "kfc-unknown")).all()


def test_a_replayed_assertion_is_refused(clinic: Clinic) -> None:
    key = _ec()
    client_id = _register(clinic, key)
    assertion = _assertion(client_id, key)
    assert _token_call(clinic, assertion).status_code == 200
    assert "already used" in _refused(_token_call(clinic, assertion), 401, "invalid_client")
    assert _tokens_of(clinic, client_id) == 1


def test_a_disabled_client_gets_no_token(clinic: Clinic) -> None:
    key = _rsa()
    client_id = _register(clinic, key)
    clinic.db.rollback()
    service.disable_client(clinic.db, SYSTEM, client_id=client_id)
    clinic.db.commit()
    _assert_refused(clinic, client_id, _token_call(clinic, _assertion(client_id, key)), 401,
                    "invalid_client", "disabled")


# ---------------------------------------------------------------- registration


def test_registration_refuses_unusable_keys_and_scopes_naming_the_field(
        clinic: Clinic) -> None:
    fresh(clinic)
    before = clinic.db.scalar(select(func.count()).select_from(SystemClient))
    private = _rsa().private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()).decode()
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p256 = ec.generate_private_key(ec.SECP256R1())
    cases = [
        (private, "system/*.read", "public_key", "private key"),
        (_pem(small), "system/*.read", "public_key", "2048"),
        (_pem(p256), "system/*.read", "public_key", "P-384"),
        ('{"kty": "oct", "k": "c2VjcmV0"}', "system/*.read", "public_key", "RSA"),
        ("hello", "system/*.read", "public_key", "not a JWK"),
        (_pem(_rsa()), "system/Spaceship.read", "scopes", "not served"),
        (_pem(_rsa()), "system/*.write", "scopes", "only reads"),
    ]
    for key_text, scopes, field, words in cases:
        with pytest.raises(ValidationFailed) as refused:
            service.register_client(clinic.db, SYSTEM, name="X", public_key=key_text,
                                    allowed_scopes=scopes, served=BY_NAME)
        assert refused.value.field == field and words in refused.value.detail, (
            refused.value.detail)
        assert key_text not in refused.value.detail
    fresh(clinic)
    assert clinic.db.scalar(select(func.count()).select_from(SystemClient)) == before


def test_cli_adds_lists_and_disables_clients(clinic: Clinic, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    settings = clinic.client.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setenv("KETAFLOW_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("KETAFLOW_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KETAFLOW_MODE", "demo")
    monkeypatch.setenv("KETAFLOW_AUDIT_KEY", TEST_AUDIT_KEY)
    clinic.db.rollback()  # hold no transaction while the CLI writes
    key = _ec()
    key_file = tmp_path / "key.json"
    key_file.write_text(_jwk(key), encoding="utf-8")
    added = CliRunner().invoke(cli_app, ["fhir", "client", "add", "--name", "Registry",
                                         "--key", str(key_file), "--scopes",
                                         "system/Patient.read"])
    assert added.exit_code == 0, added.output
    client_id = added.output.split()[0]
    assert client_id.startswith("kfc-") and "ES384" in added.output
    listed = CliRunner().invoke(cli_app, ["fhir", "client", "list"])
    clinic.db.rollback()
    assert f"{client_id}  active" in listed.output
    _token(clinic, client_id, key, scope="system/Patient.read")
    disabled = CliRunner().invoke(cli_app, ["fhir", "client", "disable", client_id])
    assert disabled.exit_code == 0, disabled.output
    assert f"{client_id}  disabled" in CliRunner().invoke(
        cli_app, ["fhir", "client", "list"]).output
    again = CliRunner().invoke(cli_app, ["fhir", "client", "disable", client_id])
    assert again.exit_code == 2 and "already disabled" in again.output
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    refused = CliRunner().invoke(cli_app, ["fhir", "client", "add", "--name", "X",
                                           "--key", str(bad)])
    assert refused.exit_code == 2 and "--key" in refused.output
    fresh(clinic)
    actions = {e.action for e in clinic.db.scalars(select(AuditEvent).where(
        AuditEvent.entity_id == client_id))}
    assert {"fhir.client.register", "fhir.client.disable", "fhir.client.token"} <= actions
