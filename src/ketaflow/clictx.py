"""What every CLI command needs: settings, a database transaction and an audit context."""

from __future__ import annotations

import getpass
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy.orm import Session

from ketaflow.audit.keys import session_info
from ketaflow.audit.service import AuditContext
from ketaflow.config import Settings, SettingsError, load_settings
from ketaflow.db import make_engine, make_session_factory, transaction
from ketaflow.errors import KetaflowError

USER_ERROR = 2  # exit status when the user asked for something refused (as for bad usage)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, non-zero exit: the CLI's error contract."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


def cli_context() -> AuditContext:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return AuditContext(None, f"cli:{who}"[:64], "system", "local", uuid.uuid4().hex)


@contextmanager
def unit_of_work(cfg: Settings | None = None) -> Iterator[Session]:
    """One transaction for the command; domain errors become one-line messages. A refusal
    of what the user asked (duplicate, too short, unknown: a 4xx domain error) exits 2, the
    status for user errors, like a usage error; anything else 1."""
    cfg = cfg or settings()
    engine = make_engine(cfg.effective_database_url, connections=1)
    try:
        factory = make_session_factory(engine, info=session_info(cfg.effective_audit_key))
        with transaction(factory) as db:
            yield db
    except KetaflowError as exc:
        fail(exc.detail, USER_ERROR if exc.status_code < 500 else 1)
    finally:
        engine.dispose()
