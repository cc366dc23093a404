"""Units of work for the audit trail's background duties (the server's loop and the CLI):
seal what committed, record a checkpoint, and write buffered events. Each opens and commits
its own transaction: these are edges, like a request or a command."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ketaflow.audit import chain
from ketaflow.db import transaction


def seal_once(factory: sessionmaker[Session], checkpoint_file: Path | None, *,
              checkpoint: bool, sweep_all: bool = False) -> chain.SealRound:
    """One sealing round; with `checkpoint`, also store the new head (if it moved) in the
    database and, once committed, append it to `checkpoint_file`."""
    with transaction(factory) as db:
        result = chain.seal_pending(db, sweep_all=sweep_all)
        recorded = chain.record_checkpoint(db) if checkpoint and result.elected else None
    if recorded is not None and checkpoint_file is not None:
        chain.append_checkpoint_file(checkpoint_file, recorded)
    return result


def seal_everything(factory: sessionmaker[Session], checkpoint_file: Path | None
                    ) -> chain.SealRound:
    """Seal until nothing is left (stragglers of any age included), then checkpoint."""
    sealed, refused = 0, tuple[int, ...]()
    while True:
        result = seal_once(factory, checkpoint_file, checkpoint=True, sweep_all=True)
        sealed, refused = sealed + result.sealed, refused + result.refused
        if result.sealed < chain.SEAL_BATCH:
            return chain.SealRound(sealed, refused, result.elected)
