"""What crosses the API boundary for portal links."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ketaflow.inputs import one_of
from ketaflow.portal.service import (
    MAX_VALID_HOURS,
    PORTAL_INSTRUMENTS,
    PORTAL_VALID_HOURS,
    IssuedLink,
)

# The self-report questionnaires a patient can complete through the portal.
PortalInstrument = Annotated[str, one_of(PORTAL_INSTRUMENTS)]


class PortalLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruments: list[PortalInstrument] = Field(min_length=1, examples=[["phq9", "gad7"]])
    valid_hours: int = Field(default=PORTAL_VALID_HOURS, ge=1, le=MAX_VALID_HOURS)
    # Mail the link to the patient's address on record when SMTP is configured.
    send_mail: bool = True


class PortalLinkOut(BaseModel):
    id: int
    patient_id: int
    instruments: list[str]
    expires_at: datetime
    # Contains the token: returned once, never stored in plain text.
    url: str
    # The mail is queued in the outbox, to be sent by the delivery worker; its state is
    # on the patient page. Not queued: mail_problem says why (pass the link on yourself).
    mail_queued: bool
    mail_queued_to: str | None
    mail_problem: str | None

    @classmethod
    def of(cls, issued: IssuedLink) -> PortalLinkOut:
        link = issued.link
        return cls(id=link.id, patient_id=link.patient_id, instruments=list(link.instrument_ids),
                   expires_at=link.expires_at, url=issued.url,
                   mail_queued=issued.mail_queued, mail_queued_to=issued.mail_queued_to,
                   mail_problem=issued.mail_problem)
