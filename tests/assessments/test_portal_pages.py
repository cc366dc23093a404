"""The portal over HTTP: staff issue a link (shown, QR, mailed), the patient answers once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketaflow.clinic import service as clinic_service
from ketaflow.clinic.crisis_lines import NO_LINE_CONFIGURED
from ketaflow.config import Role, load_settings
from ketaflow.db import make_session_factory, utcnow
from ketaflow.portal.models import PortalLink
from ketaflow.web.app import create_app, dispose_engines
from tests.assessments.factories import answers, make_patient, phq9
from tests.support.factories import SYSTEM
from tests.support.outbox import deliver
from tests.support.smtp import Mailbox
from tests.support.web import browser_client
from tests.web.helpers import committed_user, csrf, sign_in


@pytest.fixture
def mail_client(db_url: str, tmp_path: Path, smtp_server: Mailbox) -> Iterator[TestClient]:
    settings = load_settings(database_url=db_url, var_dir=tmp_path / "var", mode="demo",
                             secret_key="m" * 48, public_base_url="https://clinic.example",
                             smtp_host=smtp_server.host, smtp_port=smtp_server.port,
                             # No background round during the test: it delivers explicitly.
                             outbox_interval_seconds=3600)
    app = create_app(settings)
    with browser_client(app) as client:
        yield client
    dispose_engines(app)


def _issue(client: TestClient, db: Session, instruments: list[str], *, mailed: bool = False
           ) -> tuple[int, str]:
    patient = make_patient(db, email="someone@example.org")
    nurse = committed_user(db, Role.NURSE)
    assert sign_in(client, nurse.username) == 303
    page = client.post(f"/patients/{patient.id}/portal-links",
                       data={"csrf_token": csrf(client), "instruments": instruments})
    assert page.status_code == 200, page.text
    url = re.search(r'id="portal-url" type="text" readonly value="([^"]+)"', page.text)
    assert url is not None and "<svg" in page.text
    queued = "Mail queued to s***@example.org" in page.text
    assert queued is mailed and ("Not mailed: mail is not configured" in page.text) is not mailed
    client.cookies.clear()  # the patient is not signed in
    return patient.id, url.group(1).split("/portal/", 1)[1]


def _answers(values: dict[str, int | None], prefix: str = "phq9") -> dict[str, str]:
    return {f"{prefix}.{k}": "" if v is None else str(v) for k, v in values.items()}


def test_staff_issue_a_link_that_is_mailed_and_answered(mail_client: TestClient,
                                                        smtp_server: Mailbox) -> None:
    db = make_session_factory(mail_client.app.state.engine)()  # type: ignore[attr-defined]
    patient_id, shown_token = _issue(mail_client, db, ["phq9"], mailed=True)
    db.close()
    assert smtp_server.messages == []  # queued, not sent while the request waited
    app_state = mail_client.app.state  # type: ignore[attr-defined]
    assert deliver(app_state.settings.effective_database_url, app_state.settings).sent == 1
    (message,) = smtp_server.messages
    body = message.get_payload(decode=True).decode()
    mailed = re.search(r"https://clinic\.example/portal/(\S+)", body)
    assert mailed is not None and mailed.group(1) == shown_token
    page = mail_client.get(f"/portal/{shown_token}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Little interest or pleasure in doing things" in page.text and "Pfizer" in page.text
    done = mail_client.post(f"/portal/{shown_token}",
                            data={"csrf_token": csrf(mail_client), **_answers(phq9(9))})
    assert done.status_code == 200 and "your answers were sent" in done.text
    assert "emergency" not in done.text.lower().split("<footer")[0]
    again = mail_client.get(f"/portal/{shown_token}")
    assert again.status_code == 410 and "Already completed" in again.text
    resubmit = mail_client.post(f"/portal/{shown_token}",
                                data={"csrf_token": csrf(mail_client), **_answers(phq9(3))})
    assert resubmit.status_code == 410
    assert patient_id > 0


def test_portal_incomplete_is_422_and_keeps_answers(app_client: TestClient,
                                                    app_db: Session) -> None:
    _, token = _issue(app_client, app_db, ["phq9", "gad7"])
    values = phq9(9) | {"energy": None}
    response = app_client.post(f"/portal/{token}",
                               data={"csrf_token": csrf(app_client), **_answers(values)})
    assert response.status_code == 422
    assert 'class="item has-error" id="q-phq9-energy"' in response.text
    assert "Please choose one answer." in response.text
    assert 'name="phq9.sleep" value="3" checked' in response.text
    assert app_client.get(f"/portal/{token}").status_code == 200  # not spent


def test_names_only_instrument_shows_item_names_and_a_note(app_client: TestClient,
                                                           app_db: Session) -> None:
    _, token = _issue(app_client, app_db, ["qids-sr16"])
    page = app_client.get(f"/portal/{token}")
    assert "only a short title is shown" in page.text and "Falling asleep" in page.text


def test_item9_shows_the_emergency_pathway(app_client: TestClient, app_db: Session) -> None:
    _, token = _issue(app_client, app_db, ["phq9"])
    done = app_client.post(f"/portal/{token}",
                           data={"csrf_token": csrf(app_client), **_answers(phq9(12, 2))})
    assert done.status_code == 200
    assert "If you are in danger now" in done.text and "call your local emergency number" \
        in done.text
    # No clinic profile yet (demo mode): plain words, never a bracketed placeholder.
    assert NO_LINE_CONFIGURED in done.text
    shown = done.text.split('role="alert"', 1)[1].split("</section>", 1)[0]
    assert "[" not in shown and "configured" not in shown


CLINIC_LINE = "+1 555 010 0123 (24 hours)"


def _configure_clinic(db: Session) -> None:
    clinic_service.update_profile(db, SYSTEM, production=False, entry=clinic_service.ProfileEntry(
        name="Test Clinic", crisis_line=CLINIC_LINE, national_line_country="US",
        after_hours="Ring the on-call psychiatrist through the hospital switchboard."))
    db.commit()


def _qids(item12: int) -> dict[str, int | None]:
    return answers("qids-sr16", [1] * 11 + [item12] + [1] * 4)


# Every portal instrument at every level of its suicidality item -> crisis content or not.
PORTAL_PATHS = [
    *[("phq9", phq9(12, item9=n), n >= 1) for n in range(4)],
    *[("qids-sr16", _qids(n), n >= 1) for n in range(4)],
    ("gad7", answers("gad7", [3] * 7), False),
    ("asrm", answers("asrm", [4] * 5), False),
]


@pytest.mark.parametrize(("instrument", "values", "urgent"), PORTAL_PATHS,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(PORTAL_PATHS)])
def test_portal_crisis_content_per_instrument_and_level(
        app_client: TestClient, app_db: Session, instrument: str,
        values: dict[str, int | None], urgent: bool) -> None:
    _configure_clinic(app_db)
    _, token = _issue(app_client, app_db, [instrument])
    done = app_client.post(f"/portal/{token}", data={"csrf_token": csrf(app_client),
                                                     **_answers(values, instrument)})
    assert done.status_code == 200 and "your answers were sent" in done.text
    if not urgent:
        assert 'class="emergency"' not in done.text and CLINIC_LINE not in done.text
        return
    shown = done.text.split('class="emergency"', 1)[1].split("</section>", 1)[0]
    assert "If you are in danger now, call your local emergency number." in shown
    assert f"call your clinic&#39;s crisis line: {CLINIC_LINE}." in shown
    assert "988 Suicide &amp; Crisis Lifeline: 988 (call or text), any time of day or night" \
        in shown
    assert "Outside clinic hours: Ring the on-call psychiatrist" in shown
    assert NO_LINE_CONFIGURED not in shown and "[" not in shown
    assert "Test Clinic · questionnaire" in done.text


def test_expired_and_unknown_links(app_client: TestClient, app_db: Session) -> None:
    _, token = _issue(app_client, app_db, ["phq9"])
    app_db.execute(update(PortalLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    app_db.commit()
    expired = app_client.get(f"/portal/{token}")
    assert expired.status_code == 410 and "ask your clinic for a new link" in expired.text
    unknown = app_client.get("/portal/nope")
    assert unknown.status_code == 404 and "Link not recognised" in unknown.text
    assert app_db.scalar(select(PortalLink.completed_at)) is None
