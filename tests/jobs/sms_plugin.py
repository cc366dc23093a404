"""A clinic's SMS plug-in as docs/jobs.md describes it, loaded by tests from
KETAFLOW_SMS_SENDER="tests.jobs.sms_plugin:make_sender". It keeps what it would have sent;
no SMS network is involved."""

from __future__ import annotations

from ketaflow.config import Settings
from ketaflow.jobs.models import Channel, OutboxMessage
from ketaflow.jobs.senders import DeliveryFailed

SENT: list[tuple[str, str]] = []


class RecordingSms:
    channel = Channel.SMS

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse

    def send(self, message: OutboxMessage) -> None:
        if self.refuse:
            raise DeliveryFailed("gateway 503")
        SENT.append((message.to_address, message.body_text))


def make_sender(settings: Settings) -> RecordingSms:
    return RecordingSms()


def broken_factory(settings: Settings) -> RecordingSms:
    raise RuntimeError("gateway credentials missing")


def not_a_sender(settings: Settings) -> object:
    return object()
