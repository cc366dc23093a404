"""The one mail ketaflow sends a patient about the portal: a link to a questionnaire, nothing
clinical. Written here, delivered by the outbox (ketaflow.jobs).

The message names no patient, no instrument and no result: mail is not a private channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SUBJECT = "A short questionnaire from your clinic"


@dataclass(frozen=True)
class LinkMail:
    subject: str
    body_text: str


def portal_mail(*, url: str, expires_at: datetime, clinic_name: str | None = None) -> LinkMail:
    """The link mail; names the clinic (from its profile) when it has a name."""
    subject = SUBJECT if not clinic_name else f"A short questionnaire from {clinic_name}"
    clinic = "Your clinic" if not clinic_name else f"Your clinic, {clinic_name},"
    return LinkMail(subject, (
        "Hello,\n\n"
        f"{clinic} asks you to complete a short questionnaire. Please open this link on "
        "your phone or computer:\n\n"
        f"{url}\n\n"
        f"The link works once and expires on {expires_at:%d %B %Y at %H:%M} UTC.\n\n"
        "If you did not expect this message, please contact your clinic.\n"
        "This mailbox is not monitored. If you are in danger now, call your local emergency "
        "number.\n"
    ))
