"""Sealing committed events into the keyed chain, checkpoints of its head, and verification.

One sealer runs per database at a time (every server tries each round; on PostgreSQL a
try-lock lets one through, on SQLite the write lock does), off the request path. It takes the
events after the last sealed one in id order and gives each the next position, its seal hash
covering the position, the event's id and MAC, the time and the previous seal's hash, keyed
with the audit key. Ids are taken when an event is written but become visible when its
transaction commits, so a missing id may still be in flight: the sealer waits for it up to
`GAP_GRACE` (by then it was rolled back), and an event that commits later still is sealed as
a straggler at the next position. docs/audit-trail.md describes the design and its limits.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from ketaflow.audit import keys
from ketaflow.audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from ketaflow.audit.service import GENESIS_HASH, event_mac, legacy_event_hash
from ketaflow.db import utcnow

log = logging.getLogger("ketaflow.audit")

SEAL_BATCH = 5000
GAP_GRACE = timedelta(seconds=10)
# How far below the newest sealed id the sealer looks for stragglers each round.
STRAGGLER_WINDOW_IDS = 5000
CHECKPOINT_FILE = "audit-checkpoints.jsonl"
# Arbitrary constant naming the PostgreSQL advisory lock that elects this round's sealer.
_SEALER_LOCK_KEY = 7_410_222


# ---------------------------------------------------------------- sealing


@dataclass(frozen=True)
class SealRound:
    sealed: int
    refused: tuple[int, ...] = ()  # events whose MAC is wrong: left unsealed, for verify
    elected: bool = True  # False: another server is sealing this round


def seal_pending(session: Session, *, now: datetime | None = None,
                 sweep_all: bool = False) -> SealRound:
    """Seal what has committed since the last round, in the caller's transaction. With
    `sweep_all` (the `audit seal` command) every committed event is sealed now: stragglers of
    any age, and past missing ids however recent (one that commits later is a straggler)."""
    if not _elected(session):
        return SealRound(0, elected=False)
    key, now = keys.key_for(session), now or utcnow()
    position, head = _head(session)
    cursor = session.scalar(select(func.max(AuditSeal.event_id))) or 0
    grace = timedelta(0) if sweep_all else GAP_GRACE
    candidates = _stragglers(session, cursor, sweep_all) + _after(session, cursor, now, grace)
    seals, refused = [], []
    first_keyed = _first_keyed_id(session)
    for ev in candidates:
        digest = _digest(session, ev, key, first_keyed)
        if digest is None:
            refused.append(ev.id)
            continue
        position, prev_hash = position + 1, head
        head = _seal_hash(key, position, ev.id, digest, now, prev_hash)
        seals.append({"position": position, "event_id": ev.id, "sealed_at": now,
                      "prev_hash": prev_hash, "hash": head})
    if seals:
        session.execute(insert(AuditSeal), seals)
    for event_id in refused:
        log.warning("audit event %d fails its MAC check and was not sealed", event_id)
    return SealRound(len(seals), tuple(refused))


def _elected(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: the write transaction already admits one sealer at a time
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                               {"key": _SEALER_LOCK_KEY}))


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(select(AuditSeal.position, AuditSeal.hash)
                          .order_by(AuditSeal.position.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


def _unsealed() -> Any:
    sealed = select(AuditSeal.event_id).where(AuditSeal.event_id == AuditEvent.id).exists()
    return select(AuditEvent).where(~sealed).order_by(AuditEvent.id)


def _stragglers(session: Session, cursor: int, sweep_all: bool) -> list[AuditEvent]:
    query = _unsealed().where(AuditEvent.id < cursor)
    if not sweep_all:
        query = query.where(AuditEvent.id >= cursor - STRAGGLER_WINDOW_IDS)
    return list(session.scalars(query.limit(SEAL_BATCH)))


def _after(session: Session, cursor: int, now: datetime, grace: timedelta
           ) -> list[AuditEvent]:
    """Events beyond the cursor, stopping at a missing id that may still commit (for up to
    `grace` after the event that follows it was written)."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.id > cursor)
                             .order_by(AuditEvent.id).limit(SEAL_BATCH)).all()
    taken: list[AuditEvent] = []
    expected = cursor + 1
    for ev in events:
        if ev.id != expected and now - ev.occurred_at < grace:
            break
        taken.append(ev)
        expected = ev.id + 1
    return taken


def _first_keyed_id(session: Session) -> int | None:
    return session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.mac.is_not(None)))


def _digest(session: Session, ev: AuditEvent, key: bytes, first_keyed: int | None) -> str | None:
    """What the seal covers: the event's MAC if it is right, else None (a legacy event, from
    before the keyed trail, must sit on the verified legacy chain below every keyed event)."""
    if ev.mac is not None:
        return ev.mac if ev.mac == event_mac(ev, key) else None
    if first_keyed is not None and ev.id > first_keyed:
        return None
    previous = session.scalar(select(AuditEvent.legacy_hash).where(AuditEvent.id == ev.id - 1))
    expected_prev = GENESIS_HASH if ev.id == 1 else previous
    if ev.legacy_prev_hash != expected_prev or legacy_event_hash(ev) != ev.legacy_hash:
        return None
    return ev.legacy_hash


def _seal_hash(key: bytes, position: int, event_id: int, digest: str, sealed_at: datetime,
               prev_hash: str) -> str:
    return keys.mac(key, "seal", [position, event_id, digest,
                                  sealed_at.isoformat(timespec="microseconds"), prev_hash])


# ---------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    position: int
    head_hash: str
    at: datetime
    mac: str

    def line(self) -> str:
        return json.dumps({"position": self.position, "head_hash": self.head_hash,
                           "at": self.at.isoformat(timespec="microseconds"), "mac": self.mac},
                          sort_keys=True)

    def valid(self, key: bytes) -> bool:
        return self.mac == _checkpoint_mac(key, self.position, self.head_hash, self.at)


def _checkpoint_mac(key: bytes, position: int, head_hash: str, at: datetime) -> str:
    return keys.mac(key, "checkpoint", [position, head_hash, at.isoformat(timespec="microseconds")])


def record_checkpoint(session: Session) -> Checkpoint | None:
    """Store the current head as a checkpoint (in the caller's transaction) if the chain has
    grown since the last one; the caller appends it to the file once committed."""
    position, head = _head(session)
    last = latest_checkpoint(session)
    if position == 0 or (last is not None and last.position >= position):
        return None
    now = utcnow()
    checkpoint = Checkpoint(position, head, now, _checkpoint_mac(keys.key_for(session),
                                                                 position, head, now))
    session.execute(insert(AuditCheckpoint).values(
        position=position, head_hash=head, created_at=now, mac=checkpoint.mac))
    return checkpoint


def latest_checkpoint(session: Session) -> Checkpoint | None:
    row = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                          .limit(1)).first()
    return None if row is None else Checkpoint(row.position, row.head_hash, row.created_at,
                                               row.mac)


def append_checkpoint_file(path: Path, checkpoint: Checkpoint) -> None:
    """Append one line and fsync: the file outlives a restored or truncated database."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (checkpoint.line() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckpointFileError(ValueError):
    """A checkpoint file that cannot be read; the message names the line."""


def read_checkpoint_file(path: Path) -> list[Checkpoint]:
    checkpoints = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            checkpoints.append(Checkpoint(int(data["position"]), str(data["head_hash"]),
                                          datetime.fromisoformat(data["at"]), str(data["mac"])))
        except (ValueError, KeyError, TypeError):
            raise CheckpointFileError(f"{path}: line {number} is not a checkpoint") from None
    return checkpoints


# ---------------------------------------------------------------- verification


@dataclass
class VerifyReport:
    ok: bool = True
    events_checked: int = 0  # sealed events whose content and link verified
    unsealed: int = 0  # committed events not yet chained (their MACs verified)
    head_position: int = 0
    first_broken_id: int | None = None
    reason: str | None = None
    checkpoints_checked: int = 0
    notes: list[str] = field(default_factory=list)

    def fail(self, event_id: int | None, reason: str) -> VerifyReport:
        if self.ok:
            self.ok, self.first_broken_id, self.reason = False, event_id, reason
        return self


def verify(session: Session, *, checkpoints: Sequence[Checkpoint] = (),
           batch_size: int = 5000) -> VerifyReport:
    """Check every seal, every event and each checkpoint; name the first problem."""
    key, report = keys.key_for(session), VerifyReport()
    # The same checkpoint is usually in the file and in the database: check it once.
    checkpoints = list({checkpoint.mac: checkpoint for checkpoint in checkpoints}.values())
    wanted = {checkpoint.position for checkpoint in checkpoints}
    heads = _verify_seals(session, key, report, batch_size, wanted)
    if report.ok:
        _verify_unsealed(session, key, report)
    if report.ok:
        _verify_checkpoints(key, report, heads, checkpoints)
    return report


def _verify_seals(session: Session, key: bytes, report: VerifyReport, batch_size: int,
                  wanted: set[int]) -> dict[int, str]:
    """Walk the chain; return the hash at each wanted (checkpointed) position it reached."""
    heads: dict[int, str] = {}
    expected, prev_hash = 1, GENESIS_HASH
    first_keyed = _first_keyed_id(session)
    for seal, ev in _seals_with_events(session, batch_size):
        problem = _seal_problem(session, key, seal, ev, expected, prev_hash, first_keyed)
        if problem:
            report.fail(seal.event_id, problem)
            break
        if seal.position in wanted:
            heads[seal.position] = seal.hash
        expected, prev_hash = seal.position + 1, seal.hash
        report.events_checked += 1
    report.head_position = expected - 1
    return heads


def _seal_problem(session: Session, key: bytes, seal: AuditSeal, ev: AuditEvent | None,
                  expected: int, prev_hash: str, first_keyed: int | None) -> str | None:
    if seal.position != expected:
        return (f"chain positions {expected}..{seal.position - 1} are missing "
                "(seals were deleted)")
    if seal.prev_hash != prev_hash:
        return f"the link at position {seal.position} is broken (a seal was replaced)"
    if ev is None:
        return f"event {seal.event_id}, sealed at position {seal.position}, is missing (deleted)"
    digest = _digest(session, ev, key, first_keyed)
    if digest is None:
        return f"event {ev.id} does not match its MAC (the row was edited or forged)"
    if _seal_hash(key, seal.position, ev.id, digest, seal.sealed_at, seal.prev_hash) != seal.hash:
        return (f"the seal at position {seal.position} does not match event {ev.id} "
                "(the row or its seal was changed, or the chain was recomputed without the key)")
    return None


def _seals_with_events(session: Session, batch_size: int
                       ) -> Iterator[tuple[AuditSeal, AuditEvent | None]]:
    last = 0
    while True:
        # populate_existing: verify what is stored, never objects cached in this session.
        rows = session.execute(
            select(AuditSeal, AuditEvent)
            .outerjoin(AuditEvent, AuditEvent.id == AuditSeal.event_id)
            .where(AuditSeal.position > last)
            .order_by(AuditSeal.position)
            .limit(batch_size)
            .execution_options(populate_existing=True)
        ).all()
        if not rows:
            return
        yield from ((seal, ev) for seal, ev in rows)
        last = rows[-1][0].position


def _verify_unsealed(session: Session, key: bytes, report: VerifyReport) -> None:
    for ev in session.scalars(_unsealed().execution_options(populate_existing=True)):
        if ev.mac is None or ev.mac != event_mac(ev, key):
            report.fail(ev.id, f"event {ev.id} is not sealed and does not match its MAC "
                               "(a forged or edited row)")
            return
        report.unsealed += 1
    if report.unsealed:
        report.notes.append(f"{report.unsealed} committed events are not sealed yet")


def _verify_checkpoints(key: bytes, report: VerifyReport, heads: dict[int, str],
                        checkpoints: Sequence[Checkpoint]) -> None:
    for checkpoint in checkpoints:
        when = checkpoint.at.isoformat(timespec="seconds")
        if not checkpoint.valid(key):
            report.fail(None, f"the checkpoint of {when} does not match its MAC (forged)")
            return
        if checkpoint.position > report.head_position:
            report.fail(None, (
                f"the chain ends at position {report.head_position} but the checkpoint of "
                f"{when} recorded position {checkpoint.position}: the newest events were "
                "deleted or an older backup was restored"))
            return
        if heads.get(checkpoint.position) != checkpoint.head_hash:
            report.fail(None, f"the chain differs from the checkpoint of {when} at position "
                              f"{checkpoint.position} (history was rewritten)")
            return
        report.checkpoints_checked += 1
