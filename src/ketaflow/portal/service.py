"""Portal links: issue (and queue the mail), open, and submit once. Services never commit.

The link's token is the patient's only credential: 32 random bytes, shown once, stored as its
SHA-256. A link expires (default 72 h) and is spent by its first successful submission.
Submissions are stored as assessments rated by "patient (portal)" and audited with actor "portal".
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.assessments import service as assessments_service
from ketaflow.assessments.forms import answers_from_form
from ketaflow.assessments.models import Assessment
from ketaflow.assessments.service import stored_result
from ketaflow.audit.service import AuditContext, note_event, record_event
from ketaflow.clinic import service as clinic_service
from ketaflow.config import Settings
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.jobs import service as jobs
from ketaflow.jobs.models import Channel
from ketaflow.patients.models import PatientDemographics
from ketaflow.portal import mail
from ketaflow.portal.models import PortalLink
from ketaflow.scales import ScaleInputError, score
from ketaflow.scales.longitudinal import shows_emergency_pathway

ENTITY = "portal_link"
# Self-report instruments a patient may complete through the portal.
PORTAL_INSTRUMENTS = ("phq9", "gad7", "qids-sr16", "asrm")
PORTAL_VALID_HOURS = 72
MAX_VALID_HOURS = 14 * 24


class LinkState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IssuedLink:
    link: PortalLink
    url: str  # contains the token: show it once, never log it
    mail_queued_to: str | None  # the masked address the mail is queued to, if it is
    mail_message_id: int | None  # its outbox message (delivery state on the patient page)
    mail_problem: str | None  # why it was not queued (no SMTP, no address)

    @property
    def mail_queued(self) -> bool:
        return self.mail_message_id is not None


@dataclass(frozen=True)
class PortalVisit:
    state: LinkState
    link: PortalLink | None


@dataclass(frozen=True)
class Submission:
    assessments: list[Assessment]
    show_emergency_pathway: bool


def portal_context(base: AuditContext) -> AuditContext:
    """Audit context for the patient acting through a link (no staff account)."""
    return AuditContext(None, "portal", "portal", base.client_address, base.request_id)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def portal_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/portal/{token}"


def _check_instruments(instruments: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(i for i in instruments if i))
    if not chosen:
        raise ValidationFailed("choose at least one questionnaire", field="instruments")
    unknown = [i for i in chosen if i not in PORTAL_INSTRUMENTS]
    if unknown:
        raise ValidationFailed(
            f"only {', '.join(PORTAL_INSTRUMENTS)} can be completed through the portal",
            field="instruments")
    # Keep the clinic's usual order whatever order they were ticked in.
    return tuple(i for i in PORTAL_INSTRUMENTS if i in chosen)


def _patient_email(session: Session, patient_id: int) -> str | None:
    return session.scalar(
        select(PatientDemographics.email).where(PatientDemographics.patient_id == patient_id,
                                                PatientDemographics.superseded_at.is_(None)))


def issue_portal_link(
    session: Session,
    ctx: AuditContext,
    settings: Settings,
    *,
    patient_id: int,
    instruments: Sequence[str],
    created_by_user_id: int,
    valid_hours: int = PORTAL_VALID_HOURS,
    send_mail: bool = True,
) -> IssuedLink:
    """Create a single-use link and, when SMTP is configured and the patient has an email
    address, queue its mail (plain text, no clinical content) in the outbox: it is sent after
    this transaction commits, by the delivery worker, never while the request waits."""
    assessments_service.require_patient(session, patient_id)
    chosen = _check_instruments(instruments)
    if not 1 <= valid_hours <= MAX_VALID_HOURS:
        raise ValidationFailed(f"a link may be valid for 1 to {MAX_VALID_HOURS} hours",
                               field="valid_hours")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    link = PortalLink(patient_id=patient_id, token_sha256=token_hash(token),
                      instruments=",".join(chosen), created_at=now,
                      created_by_user_id=created_by_user_id,
                      expires_at=now + timedelta(hours=valid_hours))
    session.add(link)
    session.flush()
    url = portal_url(settings, token)
    queued: tuple[str, int] | None = None
    problem: str | None = None
    if send_mail:
        queued, problem = _queue_mail(session, settings, link, url)
    record_event(session, ctx, action="portal_link.create", entity_type=ENTITY,
                 entity_id=link.id, detail={
                     "patient_id": patient_id, "instruments": list(chosen),
                     "valid_hours": valid_hours,
                     "outbox_message_id": None if queued is None else queued[1]})
    return IssuedLink(link, url, None if queued is None else queued[0],
                      None if queued is None else queued[1], problem)


def _queue_mail(session: Session, settings: Settings, link: PortalLink, url: str
                ) -> tuple[tuple[str, int] | None, str | None]:
    """The mail in the outbox, or why not. Without SMTP nothing is queued: a link mailed
    once someone configures mail, days later, would be expired or stale."""
    if not settings.smtp_host:
        return None, "mail is not configured: pass the link on yourself"
    address = _patient_email(session, link.patient_id)
    if not address:
        return None, "the patient has no email address on record: pass the link on yourself"
    content = mail.portal_mail(url=url, expires_at=link.expires_at,
                               clinic_name=clinic_service.clinic_name(session))
    message = jobs.enqueue(session, dedupe_key=f"portal-link:{link.id}", purpose="portal-link",
                           channel=Channel.EMAIL, to_address=address, subject=content.subject,
                           body_text=content.body_text, patient_id=link.patient_id)
    session.flush()
    return (jobs.masked_address(address), message.id), None


def visit(session: Session, ctx: AuditContext, *, token: str, lock: bool = False
          ) -> PortalVisit:
    """Look a link up by its token and say whether it can still be used.

    `lock` takes a row lock (PostgreSQL) so two simultaneous submissions cannot both use it;
    SQLite transactions already begin IMMEDIATE, one writer at a time.
    """
    query = select(PortalLink).where(PortalLink.token_sha256 == token_hash(token))
    link = session.scalar(query.with_for_update() if lock else query)
    if link is None:
        state = LinkState.UNKNOWN
    elif link.completed_at is not None:
        state = LinkState.COMPLETED
    elif link.expires_at <= utcnow():
        state = LinkState.EXPIRED
    else:
        state = LinkState.OPEN
    # Anyone with a link (or guessing one) can open it any number of times: counted in the
    # audit buffer, not written one row per page load.
    note_event(session, portal_context(ctx), action="portal_link.open", entity_type=ENTITY,
               entity_id=None if link is None else link.id, detail={"state": str(state)})
    return PortalVisit(state, link)


def answers_by_instrument(link: PortalLink, form: Mapping[str, str]
                          ) -> dict[str, dict[str, int | None]]:
    """Form fields `<instrument>.<item>` into answers per instrument (blank = unanswered)."""
    return {instrument_id: answers_from_form(instrument_id, form, prefix=instrument_id)
            for instrument_id in link.instrument_ids}


def _close_duplicates(session: Session, ctx: AuditContext, answered: PortalLink) -> None:
    """Expire the patient's other open links for questionnaires just answered: a reminder's
    repeats each carry a new link, and answering through a second one would record the same
    week twice. A link asking for anything not answered here stays open."""
    now = utcnow()
    done = set(answered.instrument_ids)
    others = [link for link in session.scalars(select(PortalLink).where(
        PortalLink.patient_id == answered.patient_id, PortalLink.id != answered.id,
        PortalLink.completed_at.is_(None), PortalLink.expires_at > now))
        if set(link.instrument_ids) <= done]
    for link in others:
        link.expires_at = now
    if others:
        session.flush()
        record_event(session, ctx, action="portal_link.supersede", entity_type=ENTITY,
                     entity_id=answered.id, detail={"patient_id": answered.patient_id,
                                                    "link_ids": [o.id for o in others]})


def submit(session: Session, ctx: AuditContext, *, token: str,
           answers: Mapping[str, Mapping[str, object]]) -> Submission:
    """Store every questionnaire of the link, or none: all are checked before anything is
    stored. Spends the link. Raises ValidationFailed (field `<instrument>.<item>`)."""
    portal_ctx = portal_context(ctx)
    state = visit(session, ctx, token=token, lock=True)
    if state.state is not LinkState.OPEN or state.link is None:
        raise ValidationFailed("this link can no longer be used", field="token")
    link = state.link
    for instrument_id in link.instrument_ids:
        try:
            score(instrument_id, answers.get(instrument_id, {}))
        except ScaleInputError as exc:
            raise ValidationFailed(str(exc), field=f"{instrument_id}.{exc.item_id}") from None
    stored = [
        assessments_service.record_assessment(
            session, portal_ctx, patient_id=link.patient_id, instrument_id=instrument_id,
            answers=answers[instrument_id], rater=assessments_service.Rater.portal(),
            portal_link_id=link.id)
        for instrument_id in link.instrument_ids
    ]
    link.completed_at = utcnow()
    session.flush()
    record_event(session, portal_ctx, action="portal_link.complete", entity_type=ENTITY,
                 entity_id=link.id, detail={"patient_id": link.patient_id,
                                            "assessment_ids": [a.id for a in stored]})
    _close_duplicates(session, portal_ctx, link)
    # The urgent suicidality pathway (alerts are raised as well) shows the crisis content.
    emergency = any(shows_emergency_pathway(stored_result(a.current_result)) for a in stored)
    return Submission(stored, emergency)
