"""The outbox in a running server (background rounds in the app's lifespan), the SMS plug-in
loaded from its import path, the patient page's Messages section and the `jobs` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ketaflow.config import Role, Settings, SettingsError, load_settings
from ketaflow.db import transaction
from ketaflow.jobs import service
from ketaflow.jobs.models import Channel, OutboxStatus
from ketaflow.jobs.senders import load_sms_sender, senders_from_settings
from ketaflow.web.app import create_app, dispose_engines
from tests.conftest import TEST_AUDIT_KEY
from tests.jobs import sms_plugin
from tests.jobs.conftest import Enqueue, stored
from tests.patients.factories import make_patient
from tests.support.outbox import deliver
from tests.support.smtp import Mailbox
from tests.support.web import browser_client
from tests.web.helpers import committed_user, sign_in


def _app_settings(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(database_url=db_url, var_dir=tmp_path / "var", mode="demo",
                         secret_key="o" * 48, audit_key=TEST_AUDIT_KEY, **overrides)


@pytest.fixture
def running_app(db_url: str, tmp_path: Path, smtp_server: Mailbox) -> Iterator[TestClient]:
    settings = _app_settings(db_url, tmp_path, smtp_host=smtp_server.host,
                             smtp_port=smtp_server.port, outbox_interval_seconds=0.2)
    app = create_app(settings)
    with browser_client(app) as client:
        yield client
    dispose_engines(app)


def test_the_server_delivers_in_the_background(running_app: TestClient, put: Enqueue,
                                               factory: sessionmaker[Session],
                                               smtp_server: Mailbox) -> None:
    message = put(to_address="bg@example.org")
    deadline = time.monotonic() + 20
    while not smtp_server.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [str(m["To"]) for m in smtp_server.messages] == ["bg@example.org"]
    while stored(factory, message).status is not OutboxStatus.SENT:
        assert time.monotonic() < deadline, "sent but never recorded as sent"
        time.sleep(0.1)
    assert running_app.get("/healthz").status_code == 200  # requests were never held up


def test_an_sms_plugin_is_loaded_from_its_import_path(db_url: str, tmp_path: Path,
                                                      put: Enqueue,
                                                      factory: sessionmaker[Session]) -> None:
    settings = _app_settings(db_url, tmp_path, sms_sender="tests.jobs.sms_plugin:make_sender")
    senders = senders_from_settings(settings)
    assert set(senders) == {Channel.SMS}  # no SMTP host: mail is not delivered
    sms_plugin.SENT.clear()
    text_id = put(channel=Channel.SMS, to_address="+15550100")
    mail_id = put(channel=Channel.EMAIL)
    assert deliver(db_url, settings).sent == 1
    assert sms_plugin.SENT == [("+15550100", "Hello from the clinic.")]
    assert stored(factory, text_id).status is OutboxStatus.SENT
    assert stored(factory, mail_id).status is OutboxStatus.PENDING
    refusing = {Channel.SMS: sms_plugin.RecordingSms(refuse=True)}
    put(channel=Channel.SMS, to_address="+15550101")
    assert deliver(db_url, settings, senders=refusing).deferred == 1


@pytest.mark.parametrize(("spec", "says"), [
    ("tests.jobs.sms_plugin", 'must be "package.module:factory"'),
    ("tests.jobs.no_such_module:make", "cannot import tests.jobs.no_such_module"),
    ("tests.jobs.sms_plugin:missing", "tests.jobs.sms_plugin has no missing"),
    ("tests.jobs.sms_plugin:broken_factory", "failed to start (RuntimeError)"),
    ("tests.jobs.sms_plugin:not_a_sender", "did not return an SMS sender"),
])
def test_a_bad_sms_plugin_stops_start_up_with_one_clear_line(tmp_path: Path, spec: str,
                                                             says: str) -> None:
    settings = load_settings(var_dir=tmp_path, secret_key="s" * 48, sms_sender=spec)
    with pytest.raises(SettingsError, match="KETAFLOW_SMS_SENDER") as refused:
        load_sms_sender(spec, settings)
    assert says in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(SettingsError):
        create_app(settings)  # the server refuses to start, before any worker


def test_the_patient_page_lists_messages_and_their_delivery(
        app_client: TestClient, app_db: Session, settings: Settings) -> None:
    patient = make_patient(app_db)
    service.enqueue(app_db, dedupe_key="portal-link:1", purpose="portal-link",
                    channel=Channel.EMAIL, to_address="secret-mailbox@example.org",
                    subject="s", body_text="secret body text", patient_id=patient.id)
    app_db.commit()
    front_desk = committed_user(app_db, Role.FRONT_DESK)
    assert sign_in(app_client, front_desk.username) == 303
    page = app_client.get(f"/patients/{patient.id}")
    assert f'hx-get="/patients/{patient.id}/messages/_list"' in page.text
    fragment = app_client.get(f"/patients/{patient.id}/messages/_list")
    assert fragment.status_code == 200
    assert "Portal link" in fragment.text and "waiting: mail not configured" in fragment.text
    assert "secret-mailbox" not in fragment.text and "secret body" not in fragment.text
    other = make_patient(app_db)
    app_db.commit()
    empty = app_client.get(f"/patients/{other.id}/messages/_list")
    assert "No messages to this patient yet" in empty.text
    assert app_client.get(f"/patients/{other.id + 1000}/messages/_list").status_code == 404


def _cli(db_url: str, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ketaflow", "jobs", *args], text=True, capture_output=True,
        timeout=120, check=False,
        env={**os.environ, "KETAFLOW_DATABASE_URL": db_url, "KETAFLOW_VAR_DIR": str(tmp_path),
             "KETAFLOW_MODE": "demo", "KETAFLOW_AUDIT_KEY": TEST_AUDIT_KEY, **env})


def test_jobs_cli_runs_one_round_and_shows_status(db_url: str, tmp_path: Path, put: Enqueue,
                                                 factory: sessionmaker[Session],
                                                 smtp_server: Mailbox) -> None:
    message = put()
    before = _cli(db_url, tmp_path, "status")
    assert before.returncode == 0 and "pending    1" in before.stdout
    assert "none configured" in before.stdout
    refused = _cli(db_url, tmp_path, "run", "--once")
    assert refused.returncode == 1 and refused.stderr.startswith("error: no sender")
    smtp = {"KETAFLOW_SMTP_HOST": smtp_server.host, "KETAFLOW_SMTP_PORT": str(smtp_server.port)}
    ran = _cli(db_url, tmp_path, "run", "--once", **smtp)
    assert ran.returncode == 0 and "sent 1" in ran.stdout, ran.stderr
    assert len(smtp_server.messages) == 1
    assert stored(factory, message).status is OutboxStatus.SENT
    after = _cli(db_url, tmp_path, "status", **smtp)
    assert "sent       1" in after.stdout and "due now    0" in after.stdout
    assert "channels   email" in after.stdout
    with transaction(factory) as db:
        assert service.outbox_counts(db, now=stored(factory, message).sent_at
                                     ).by_status == {"sent": 1}  # type: ignore[arg-type]
