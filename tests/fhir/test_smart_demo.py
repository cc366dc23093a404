"""`make run`'s demo can be tried as an integrator would: the seed registers a system client
whose private key is in the var folder, `ketaflow demo accounts` names it, `ketaflow fhir
assertion` signs a token request with it, and the token reads the API."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketaflow.cli import app as cli_app
from ketaflow.config import Settings
from ketaflow.demo import seed_demo
from ketaflow.fhir.smart import service
from ketaflow.fhir.smart.demo import demo_key_path
from tests.conftest import BACKENDS, TEST_AUDIT_KEY
from tests.fhir.conftest import FHIR, fresh_app
from tests.support.factories import SYSTEM
from tests.support.web import browser_client


@pytest.fixture(params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, object]]:
    with fresh_app(request, tmp_path_factory) as (app, db):
        settings: Settings = app.state.settings
        seed_demo(db, SYSTEM, settings=settings)
        db.commit()
        for name, value in (("DATABASE_URL", settings.effective_database_url),
                            ("VAR_DIR", str(settings.var_dir)), ("MODE", "demo"),
                            ("AUDIT_KEY", TEST_AUDIT_KEY),
                            ("PUBLIC_BASE_URL", settings.public_base_url)):
            monkeypatch.setenv(f"KETAFLOW_{name}", value)
        with browser_client(app) as client:
            yield settings, client


def test_the_demo_client_gets_a_token_and_reads_patients(
        seeded: tuple[Settings, object]) -> None:
    settings, client = seeded
    key = demo_key_path(settings)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in key.read_text()
    accounts = CliRunner().invoke(cli_app, ["demo", "accounts"])
    assert accounts.exit_code == 0, accounts.output
    line = next(x for x in accounts.output.splitlines() if "FHIR system client" in x)
    client_id = line.split(": ", 1)[1].split()[0]
    assert client_id.startswith("kfc-") and str(key) in line
    signed = CliRunner().invoke(cli_app, ["fhir", "assertion", "--client-id", client_id,
                                          "--key", str(key)])
    assert signed.exit_code == 0, signed.output
    token = client.post(f"{FHIR}/auth/token", data={  # type: ignore[attr-defined]
        "grant_type": "client_credentials", "scope": "system/Patient.read",
        "client_assertion_type": service.ASSERTION_TYPE,
        "client_assertion": signed.output.strip()})
    assert token.status_code == 200, token.text
    found = client.get(f"{FHIR}/Patient", headers={  # type: ignore[attr-defined]
        "Authorization": f"Bearer {token.json()['access_token']}"})
    assert found.status_code == 200 and found.json()["total"] > 0
    # The scope covers patients only.
    other = client.get(f"{FHIR}/Observation", headers={  # type: ignore[attr-defined]
        "Authorization": f"Bearer {token.json()['access_token']}"})
    assert other.status_code == 403


def test_assertion_refuses_a_key_it_cannot_sign_with(tmp_path: Path) -> None:
    public = tmp_path / "public.pem"
    public.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    base = ["fhir", "assertion", "--client-id", "kfc-x", "--url", "http://127.0.0.1:8000"]
    refused = CliRunner().invoke(cli_app, [*base, "--key", str(public)])
    assert refused.exit_code == 2 and "--key: not an unencrypted PEM" in refused.output
    missing = CliRunner().invoke(cli_app, [*base, "--key", str(tmp_path / "none.pem")])
    assert missing.exit_code == 2 and "cannot read" in missing.output
