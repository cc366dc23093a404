"""The demo's SMART system client, so `make run` can be tried as an integrator would: a key
pair made for this database, the private half in the var folder (mode 0600, like the secret
key), the public half registered with `system/*.read`."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.config import Settings
from ketaflow.fhir.registry import BY_NAME
from ketaflow.fhir.smart import assertion, service
from ketaflow.fhir.smart.models import SystemClient

DEMO_CLIENT_NAME = "Demo referring EHR"
KEY_FILE = "demo-fhir-client.pem"


def demo_key_path(settings: Settings) -> Path:
    return settings.var_dir / KEY_FILE


def seed_fhir_client(session: Session, ctx: AuditContext, settings: Settings) -> SystemClient:
    """Register the demo client with a new key; the private key replaces any earlier demo's."""
    private_pem = assertion.new_private_key_pem()
    _write_private(demo_key_path(settings), private_pem)
    return service.register_client(session, ctx, name=DEMO_CLIENT_NAME,
                                   public_key=assertion.public_key_pem(private_pem),
                                   allowed_scopes="system/*.read", served=BY_NAME)


def demo_client(session: Session) -> SystemClient | None:
    return session.scalar(select(SystemClient).where(SystemClient.name == DEMO_CLIENT_NAME)
                          .order_by(SystemClient.created_at.desc()).limit(1))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
