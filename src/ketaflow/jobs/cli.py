"""`ketaflow jobs`: deliver the outbox from cron (or by hand) and see what waits.

Every `ketaflow serve` process already delivers in the background; `jobs run` is for
deployments that prefer a scheduled command, and safe beside running servers (claims).
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from ketaflow.audit.keys import session_info
from ketaflow.clictx import fail, settings
from ketaflow.config import SettingsError
from ketaflow.db import make_engine, make_session_factory, transaction, utcnow
from ketaflow.jobs import service, worker
from ketaflow.jobs.models import Channel, OutboxStatus
from ketaflow.jobs.senders import senders_from_settings

app = typer.Typer(no_args_is_help=True, help="The outbox: deliver messages, show their state.")


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit (for cron).")] = False,
) -> None:
    """Deliver due messages: one round with --once, else rounds until interrupted."""
    cfg = settings()
    try:
        senders = senders_from_settings(cfg)
    except SettingsError as exc:
        fail(str(exc))
    if not senders:
        fail("no sender is configured (KETAFLOW_SMTP_HOST or KETAFLOW_SMS_SENDER): "
             "messages stay pending")
    engine = make_engine(cfg.effective_database_url, connections=1)
    factory = make_session_factory(engine, info=session_info(cfg.effective_audit_key))
    me, config = worker.worker_id(), worker.WorkerConfig.of(cfg)
    # The server's planners (reminders...), from the composition root.
    from ketaflow.web.app import job_planners

    planners = job_planners(cfg)
    try:
        while True:
            result = worker.run_once(factory, senders, config, worker=me, planners=planners)
            typer.echo(f"sent {result.sent}, retry later {result.deferred}, failed "
                       f"{result.failed}, planned {result.planned}")
            if once:
                break
            time.sleep(cfg.outbox_interval_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()


@app.command("status")
def status() -> None:
    """Messages in each state, how many are due now, and which channels can send."""
    cfg = settings()
    engine = make_engine(cfg.effective_database_url, connections=1)
    try:
        with transaction(make_session_factory(engine)) as db:
            counts = service.outbox_counts(db, now=utcnow())
    finally:
        engine.dispose()
    for state in OutboxStatus:
        typer.echo(f"{state.value:10} {counts.by_status.get(state.value, 0)}")
    oldest = ("" if counts.oldest_due_at is None
              else f" (oldest due {counts.oldest_due_at:%Y-%m-%d %H:%M} UTC)")
    typer.echo(f"due now    {counts.due_now}{oldest}")
    configured = [c.value for c in Channel if (c is Channel.EMAIL and cfg.smtp_host)
                  or (c is Channel.SMS and cfg.sms_sender)]
    typer.echo(f"channels   {', '.join(configured) or 'none configured: messages stay pending'}")
