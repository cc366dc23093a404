"""Portal links: hashed single-use tokens, expiry, all-or-nothing submission, real mail."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.alerts.models import Alert, AlertKind
from ketaflow.assessments.models import Assessment, RaterKind
from ketaflow.audit.models import AuditEvent
from ketaflow.config import Settings, load_settings
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.jobs.models import OutboxMessage, OutboxStatus
from ketaflow.portal import service
from ketaflow.portal.models import PortalLink
from tests.assessments.factories import answers, ctx_for, make_patient, nurse, phq9
from tests.support.factories import SYSTEM
from tests.support.outbox import deliver
from tests.support.smtp import Mailbox

GAD7 = answers("gad7", [1, 1, 2, 0, 1, 1, 0])


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(var_dir=tmp_path, secret_key="s" * 48,
                         public_base_url="https://clinic.example", **overrides)


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_token_is_random_shown_once_and_stored_only_as_a_hash(db: Session, tmp_path: Path
                                                               ) -> None:
    patient, staff = make_patient(db), nurse(db)
    issued = service.issue_portal_link(db, ctx_for(staff), _settings(tmp_path),
                                       patient_id=patient.id, instruments=["gad7", "phq9"],
                                       created_by_user_id=staff.id)
    token = _token(issued.url)
    assert issued.url == f"https://clinic.example/portal/{token}" and len(token) >= 40
    link = db.scalars(select(PortalLink)).one()
    assert link.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    stored_text = json.dumps([str(getattr(link, c.key)) for c in PortalLink.__table__.columns])
    assert token not in stored_text
    assert token not in "".join(e.detail for e in db.scalars(select(AuditEvent)))
    # Clinic order, whatever order they were ticked in; default validity 72 hours.
    assert link.instrument_ids == ("phq9", "gad7")
    assert link.expires_at - link.created_at == timedelta(hours=72)
    assert not issued.mail_queued and "not configured" in (issued.mail_problem or "")


def test_only_self_report_instruments_and_sane_validity(db: Session, tmp_path: Path) -> None:
    patient, staff = make_patient(db), nurse(db)
    for instruments, hours, field in ((["madrs"], 72, "instruments"), ([], 72, "instruments"),
                                      (["phq9"], 0, "valid_hours")):
        with pytest.raises(ValidationFailed) as exc:
            service.issue_portal_link(db, ctx_for(staff), _settings(tmp_path),
                                      patient_id=patient.id, instruments=instruments,
                                      valid_hours=hours, created_by_user_id=staff.id)
        assert exc.value.field == field


def test_submission_is_stored_as_patient_portal_and_spends_the_link(db: Session,
                                                                    tmp_path: Path) -> None:
    patient, staff = make_patient(db), nurse(db)
    issued = service.issue_portal_link(db, ctx_for(staff), _settings(tmp_path),
                                       patient_id=patient.id, instruments=["phq9", "gad7"],
                                       created_by_user_id=staff.id)
    token = _token(issued.url)
    assert service.visit(db, SYSTEM, token=token).state is service.LinkState.OPEN
    done = service.submit(db, SYSTEM, token=token, answers={"phq9": phq9(11), "gad7": GAD7})
    assert not done.show_emergency_pathway
    assert [a.instrument_id for a in done.assessments] == ["phq9", "gad7"]
    for stored in done.assessments:
        assert stored.rater_kind is RaterKind.PATIENT_PORTAL and stored.rater_user_id is None
        assert stored.rater_label == "patient (portal)"
        assert stored.portal_link_id == issued.link.id
    created = db.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.create"))
    assert {(e.actor_username, e.actor_role) for e in created} == {("portal", "portal")}
    assert service.visit(db, SYSTEM, token=token).state is service.LinkState.COMPLETED
    with pytest.raises(ValidationFailed):
        service.submit(db, SYSTEM, token=token, answers={"phq9": phq9(3), "gad7": GAD7})
    assert len(list(db.scalars(select(Assessment)))) == 2


def test_incomplete_submission_stores_nothing_and_keeps_the_link(db: Session,
                                                                 tmp_path: Path) -> None:
    patient, staff = make_patient(db), nurse(db)
    issued = service.issue_portal_link(db, ctx_for(staff), _settings(tmp_path),
                                       patient_id=patient.id, instruments=["phq9", "gad7"],
                                       created_by_user_id=staff.id)
    with pytest.raises(ValidationFailed) as exc:
        service.submit(db, SYSTEM, token=_token(issued.url),
                       answers={"phq9": phq9(11), "gad7": GAD7 | {"restless": None}})
    assert exc.value.field == "gad7.restless"
    assert db.scalar(select(Assessment)) is None
    assert service.visit(db, SYSTEM, token=_token(issued.url)).state is service.LinkState.OPEN


def test_expired_and_unknown_links(db: Session, tmp_path: Path) -> None:
    patient, staff = make_patient(db), nurse(db)
    issued = service.issue_portal_link(db, ctx_for(staff), _settings(tmp_path),
                                       patient_id=patient.id, instruments=["phq9"],
                                       valid_hours=1, created_by_user_id=staff.id)
    issued.link.expires_at = utcnow() - timedelta(seconds=1)
    db.flush()
    assert service.visit(db, SYSTEM, token=_token(issued.url)).state is service.LinkState.EXPIRED
    with pytest.raises(ValidationFailed):
        service.submit(db, SYSTEM, token=_token(issued.url), answers={"phq9": phq9(3)})
    assert service.visit(db, SYSTEM, token="not-a-token").state is service.LinkState.UNKNOWN


def test_item9_shows_the_emergency_pathway_and_raises_an_alert(db: Session,
                                                               tmp_path: Path) -> None:
    patient, staff = make_patient(db), nurse(db)
    issued = service.issue_portal_link(db, ctx_for(staff), _settings(tmp_path),
                                       patient_id=patient.id, instruments=["phq9"],
                                       created_by_user_id=staff.id)
    done = service.submit(db, SYSTEM, token=_token(issued.url), answers={"phq9": phq9(14, 1)})
    assert done.show_emergency_pathway
    alerts = list(db.scalars(select(Alert).order_by(Alert.id)))
    assert {a.kind for a in alerts} == {AlertKind.CSSRS_SCREEN, AlertKind.SUICIDALITY_URGENT}
    assert all(a.patient_id == patient.id for a in alerts)


def test_link_is_queued_then_mailed_through_a_real_smtp_server(
        db: Session, db_url: str, tmp_path: Path, smtp_server: Mailbox) -> None:
    patient, staff = make_patient(db, email="patient@example.org"), nurse(db)
    settings = _settings(tmp_path, smtp_host=smtp_server.host, smtp_port=smtp_server.port,
                         smtp_from="clinic@example.org")
    issued = service.issue_portal_link(db, ctx_for(staff), settings, patient_id=patient.id,
                                       instruments=["phq9"], created_by_user_id=staff.id)
    # Queued with the link, in the same transaction; nothing is sent inside it.
    assert issued.mail_queued and issued.mail_queued_to == "p***@example.org"
    assert smtp_server.messages == []
    queued = db.get(OutboxMessage, issued.mail_message_id)
    assert queued is not None and queued.purpose == "portal-link"
    assert queued.status is OutboxStatus.PENDING and queued.patient_id == patient.id
    db.commit()
    assert deliver(db_url, settings).sent == 1
    (message,) = smtp_server.messages
    assert smtp_server.recipients == [["patient@example.org"]]
    assert message["From"] == "clinic@example.org"
    body = message.get_payload(decode=True).decode()
    assert "Your clinic asks you to complete a short questionnaire" in body
    match = re.search(r"https://clinic\.example/portal/(\S+)", body)
    assert match is not None
    # The mail names no patient, instrument or clinical content.
    for secret in ("Testa", "Fictional", "PHQ", "phq9", "depress"):
        assert secret not in body and secret not in str(message["Subject"])
    assert service.visit(db, SYSTEM, token=match.group(1)).state is service.LinkState.OPEN
    db.expire_all()
    assert db.get(OutboxMessage, issued.mail_message_id).status is OutboxStatus.SENT  # type: ignore[union-attr]


def test_mail_failure_leaves_the_link_to_pass_on(db: Session, db_url: str, tmp_path: Path
                                                 ) -> None:
    patient, staff = make_patient(db, email="patient@example.org"), nurse(db)
    closed_port = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=1)
    issued = service.issue_portal_link(db, ctx_for(staff), closed_port, patient_id=patient.id,
                                       instruments=["phq9"], created_by_user_id=staff.id)
    assert issued.mail_queued  # the link itself is shown to staff either way
    db.commit()
    assert deliver(db_url, closed_port).deferred == 1
    db.expire_all()
    message = db.get(OutboxMessage, issued.mail_message_id)
    assert message is not None and message.status is OutboxStatus.PENDING
    assert message.attempts == 1 and message.last_error == "ConnectionRefusedError"
    no_address = make_patient(db, email=None)
    issued = service.issue_portal_link(db, ctx_for(staff), closed_port,
                                       patient_id=no_address.id, instruments=["phq9"],
                                       created_by_user_id=staff.id)
    assert "no email address" in (issued.mail_problem or "")


def test_answering_closes_the_other_open_links_for_the_same_questionnaires(
        db: Session, tmp_path: Path) -> None:
    """A reminder and its repeat each carry a link: answering one must not leave the other
    open to record the same week twice. A link asking for something else stays open."""
    patient, staff = make_patient(db), nurse(db)
    settings = _settings(tmp_path)

    def issue(instruments: list[str]) -> str:
        return _token(service.issue_portal_link(
            db, ctx_for(staff), settings, patient_id=patient.id, instruments=instruments,
            created_by_user_id=staff.id).url)

    first, repeat, phq9_only, asrm = (issue(["phq9", "gad7"]), issue(["phq9", "gad7"]),
                                      issue(["phq9"]), issue(["asrm"]))
    service.submit(db, SYSTEM, token=repeat, answers={"phq9": phq9(6), "gad7": GAD7})
    states = [service.visit(db, SYSTEM, token=t).state for t in (first, phq9_only, asrm)]
    assert states == [service.LinkState.EXPIRED, service.LinkState.EXPIRED,
                      service.LinkState.OPEN]
    with pytest.raises(ValidationFailed):
        service.submit(db, SYSTEM, token=first, answers={"phq9": phq9(6), "gad7": GAD7})
    assert len(db.scalars(select(Assessment).where(Assessment.patient_id == patient.id)).all()
               ) == 2
    detail = db.scalars(select(AuditEvent.detail).where(
        AuditEvent.action == "portal_link.supersede")).one()
    ids = db.scalars(select(PortalLink.id).order_by(PortalLink.id)).all()
    assert json.loads(detail)["link_ids"] == [ids[0], ids[2]]  # the first and the PHQ-9 only
