"""Audit helpers for tests: seal what the session can see, then verify the whole trail."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.audit import chain


def sealed_and_verified(db: Session) -> chain.VerifyReport:
    """Seal pending events in `db`'s own transaction (as the server's sealer would once they
    commit) and verify everything."""
    while chain.seal_pending(db, sweep_all=True).sealed:
        pass
    return chain.verify(db)
