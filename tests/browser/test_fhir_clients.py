"""In Chromium: an admin registers a SMART system client on the admin page (a private key
pasted by mistake is refused beside the field, nothing saved), sees it listed with its
client id, algorithm and scopes and who registered it, and disables it."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from playwright.sync_api import Page, expect
from sqlalchemy import select

from ketaflow.config import Role
from ketaflow.fhir.smart.models import SystemClient
from tests.browser.conftest import db_session, shot, sign_in
from tests.support.factories import make_user


def test_admin_registers_and_disables_a_system_client(page: Page, db_url: str) -> None:
    with db_session(db_url) as db:
        make_user(db, role=Role.ADMIN, username="ada", full_name="Ada Okafor")
    key = ec.generate_private_key(ec.SECP384R1())
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_jwk = json.dumps({**ECAlgorithm.to_jwk(key.public_key(), as_dict=True),
                             "kid": "riverside-2026"})
    sign_in(page, "ada")
    page.get_by_role("link", name="FHIR system clients").click()
    expect(page.get_by_role("heading", name="FHIR system clients", level=1)).to_be_visible()
    expect(page.get_by_text("No system clients registered.")).to_be_visible()
    expect(page.get_by_test_id("token-url")).to_contain_text("/fhir/R4/auth/token")

    page.get_by_label("Name").fill("Riverside Psychiatry EHR")
    page.get_by_label("Public key").fill(private_pem)
    page.get_by_role("button", name="Register client").click()
    expect(page.locator("#e-public_key")).to_contain_text("that is a private key")
    expect(page.get_by_label("Name")).to_have_value("Riverside Psychiatry EHR")
    expect(page.get_by_label("Public key")).to_have_value("")  # not shown back
    expect(page.get_by_text("No system clients registered.")).to_be_visible()
    shot(page, "fhir-clients-01-private-key-refused")
    with db_session(db_url) as db:
        assert db.scalars(select(SystemClient)).first() is None

    page.get_by_label("Public key").fill(public_jwk)
    page.get_by_label("Allowed scopes").fill("system/Patient.read system/Observation.rs")
    page.get_by_role("button", name="Register client").click()
    expect(page.get_by_role("status")).to_contain_text("Client registered")
    with db_session(db_url) as db:
        client = db.scalars(select(SystemClient)).one()
        assert client.algorithm == "ES384" and client.public_jwk["kid"] == "riverside-2026"
        assert "d" not in client.public_jwk
    row = page.get_by_test_id(f"client-{client.id}")
    expect(row).to_contain_text("Riverside Psychiatry EHR")
    expect(row).to_contain_text(client.id)
    expect(row).to_contain_text("ES384")
    expect(row).to_contain_text("system/Observation.rs")
    expect(row).to_contain_text("by Ada Okafor")
    expect(row).to_contain_text("active")
    shot(page, "fhir-clients-02-registered")

    row.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("Riverside Psychiatry EHR disabled")
    expect(page.get_by_test_id(f"client-{client.id}")).to_contain_text("disabled")
    expect(page.get_by_test_id(f"client-{client.id}").get_by_role(
        "button", name="Disable")).to_have_count(0)
    shot(page, "fhir-clients-03-disabled")
    with db_session(db_url) as db:
        assert db.get(SystemClient, client.id).disabled_at is not None  # type: ignore[union-attr]
