"""The one mail ketaflow sends a patient: a link to a questionnaire, nothing clinical.

Plain text over SMTP (optionally STARTTLS and login) with the standard library. The message
names no patient, no instrument and no result: mail is not a private channel.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage

from ketaflow.config import Settings

SUBJECT = "A short questionnaire from your clinic"
TIMEOUT_S = 15


class MailFailed(Exception):
    """The mail could not be handed to the SMTP server; the message is safe to show staff."""


def portal_message(settings: Settings, *, to_address: str, url: str, expires_at: datetime,
                   clinic_name: str | None = None) -> EmailMessage:
    """The link mail; names the clinic (from its profile) when it has a name."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to_address
    message["Subject"] = SUBJECT if not clinic_name else f"A short questionnaire from {clinic_name}"
    clinic = "Your clinic" if not clinic_name else f"Your clinic, {clinic_name},"
    message.set_content(
        "Hello,\n\n"
        f"{clinic} asks you to complete a short questionnaire. Please open this link on "
        "your phone or computer:\n\n"
        f"{url}\n\n"
        f"The link works once and expires on {expires_at:%d %B %Y at %H:%M} UTC.\n\n"
        "If you did not expect this message, please contact your clinic.\n"
        "This mailbox is not monitored. If you are in danger now, call your local emergency "
        "number.\n"
    )
    return message


def send_portal_link(settings: Settings, *, to_address: str, url: str, expires_at: datetime,
                     clinic_name: str | None = None) -> None:
    message = portal_message(settings, to_address=to_address, url=url, expires_at=expires_at,
                             clinic_name=clinic_name)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        # The class name only: server replies can echo the recipient address.
        raise MailFailed(f"the link could not be mailed ({exc.__class__.__name__}); "
                         "pass it on yourself") from None
