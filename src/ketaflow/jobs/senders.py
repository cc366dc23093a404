"""How an outbox message leaves the building: one sender per channel.

Mail goes over SMTP with the standard library (optionally STARTTLS and login). SMS has no
built-in gateway: a clinic plugs its own in with KETAFLOW_SMS_SENDER="package.module:factory"
(docs/jobs.md). A channel without a sender is simply not delivered: its messages wait.
"""

from __future__ import annotations

import hashlib
import importlib
import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol, runtime_checkable

from ketaflow.config import Settings, SettingsError
from ketaflow.jobs.models import Channel, OutboxMessage


class DeliveryFailed(Exception):
    """The message was not handed over. `kind` names the failure without any address or
    server text (an exception class, an SMTP code): it is stored and shown to staff."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind[:200]


class Sender(Protocol):
    channel: Channel

    def send(self, message: OutboxMessage) -> None:
        """Hand the message over or raise DeliveryFailed. Called outside any transaction."""


@runtime_checkable
class SmsSender(Protocol):
    """What a clinic's SMS plug-in provides: `channel = Channel.SMS` and `send`, which posts
    `message.body_text` to `message.to_address` and raises DeliveryFailed when the gateway
    refuses or cannot be reached. It must not log the number or the text."""

    channel: Channel

    def send(self, message: OutboxMessage) -> None: ...


def message_id(message: OutboxMessage, domain: str) -> str:
    """The same Message-ID every time this row is sent: a resend after a crash between the
    server's acceptance and our record of it is recognisable as the same mail. The key is
    hashed: it can carry ids (a patient's, a day) that have no place in a header."""
    digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:20]
    return f"<outbox-{message.id}.{digest}@{domain}>"


def email_of(message: OutboxMessage, from_address: str) -> EmailMessage:
    """The row as a MIME message: plain text, then its attachments (calendar invitations)."""
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = message.to_address
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(message.created_at.timestamp(), usegmt=True)
    mail["Message-ID"] = message_id(message, from_address.rpartition("@")[2] or "localhost")
    mail.set_content(message.body_text)
    for attachment in message.attachments:
        maintype, _, rest = str(attachment["content_type"]).partition("/")
        subtype, _, params = rest.partition(";")
        if maintype != "text":  # stored as text, so sent as text/<subtype>
            raise ValueError("attachments are text (for example text/calendar)")
        extra = dict(_param(p) for p in params.split(";") if "=" in p)
        mail.add_attachment(str(attachment["content"]), subtype=subtype.strip(),
                            filename=str(attachment["filename"]), params=extra)
    return mail


def _param(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    return name.strip(), value.strip().strip('"')


class SmtpSender:
    """Mail over SMTP, one connection per message (rounds are small and seconds apart)."""

    channel = Channel.EMAIL

    def __init__(self, settings: Settings) -> None:
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.from_address = settings.smtp_from
        self.starttls = settings.smtp_starttls
        self.username, self.password = settings.smtp_username, settings.smtp_password
        self.timeout_s = settings.smtp_timeout_seconds

    def send(self, message: OutboxMessage) -> None:
        mail = email_of(message, self.from_address)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            # The code only: the server's text can echo the recipient address.
            raise DeliveryFailed(f"SMTP {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(exc.__class__.__name__) from None
        if refused:  # one recipient per message: a refusal is the whole message
            raise DeliveryFailed("SMTPRecipientsRefused")


def load_sms_sender(spec: str, settings: Settings) -> SmsSender:
    """The clinic's SMS sender from "package.module:factory"; a clear SettingsError (naming
    the setting, never a trace) when it cannot be loaded or is not a sender."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SettingsError('invalid setting KETAFLOW_SMS_SENDER: must be "package.module:'
                            f'factory", not {spec!r}')
    try:
        factory: Callable[[Settings], object] = getattr(importlib.import_module(module_name),
                                                        attribute)
    except ImportError as exc:
        raise SettingsError(f"KETAFLOW_SMS_SENDER: cannot import {module_name} "
                            f"({exc.__class__.__name__})") from None
    except AttributeError:
        raise SettingsError(f"KETAFLOW_SMS_SENDER: {module_name} has no {attribute}") from None
    try:
        sender = factory(settings)
    except Exception as exc:  # a plug-in's own start-up failure: reported, not a trace
        raise SettingsError(f"KETAFLOW_SMS_SENDER: {spec} failed to start "
                            f"({exc.__class__.__name__})") from None
    if not isinstance(sender, SmsSender) or sender.channel != Channel.SMS:
        raise SettingsError(f"KETAFLOW_SMS_SENDER: {spec} did not return an SMS sender "
                            "(an object with channel = Channel.SMS and send(message))")
    return sender


def senders_from_settings(settings: Settings) -> Mapping[Channel, Sender]:
    """A sender for each configured channel: mail when an SMTP host is set, SMS when a
    plug-in is named. Called at start-up, so a bad plug-in stops the server there."""
    senders: dict[Channel, Sender] = {}
    if settings.smtp_host:
        senders[Channel.EMAIL] = SmtpSender(settings)
    if settings.sms_sender:
        senders[Channel.SMS] = load_sms_sender(settings.sms_sender, settings)
    return senders
