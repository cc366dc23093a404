"""Deliver the outbox now, as one round of a server's worker would (tests call this instead
of waiting for the background round)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from ketaflow.config import Settings
from ketaflow.db import make_engine, make_session_factory, utcnow
from ketaflow.jobs import worker
from ketaflow.jobs.models import Channel
from ketaflow.jobs.senders import Sender, senders_from_settings

CONFIG = worker.WorkerConfig(lease=timedelta(seconds=120), batch=50,
                             retry_base=timedelta(seconds=60))


def deliver(url: str, settings: Settings, *, senders: Mapping[Channel, Sender] | None = None,
            at: datetime | None = None, config: worker.WorkerConfig = CONFIG,
            worker_name: str = "test-worker") -> worker.RoundResult:
    """One round on its own engine (commit what it should see first)."""
    engine = make_engine(url, connections=1)
    try:
        return worker.run_once(make_session_factory(engine),
                               senders_from_settings(settings) if senders is None else senders,
                               config, worker=worker_name, planners=[],
                               now=(lambda: at) if at is not None else utcnow)
    finally:
        engine.dispose()
