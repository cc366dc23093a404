"""The export itself: every resource of the asked types, one JSON object a line, one file per
type, with memory that stays flat however large the clinic.

Each type is built from the same `Source`s as read and search (`ketaflow.fhir.registry`), so a
type added to the registry exports with no change here. Per source, the frame of
`(row_id, updated)` is streamed from the database in chunks (`yield_per`: a server-side cursor
on PostgreSQL, the cursor's own stepping on SQLite). A source built from plain rows
(`search.Rows`) streams its columns in that same query and maps each chunk; any other has each
chunk's rows loaded and mapped by its loader. Then the chunk is encoded and written. Only one
chunk is in memory at a time.

The caller runs all of it in one read transaction (a snapshot: REPEATABLE READ on
PostgreSQL, a WAL read transaction on SQLite), so the files agree with each other as of the
manifest's transactionTime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, func, select, text
from sqlalchemy.orm import Session

from ketaflow.db import utcnow
from ketaflow.fhir import search
from ketaflow.fhir.codes import Resource
from ketaflow.fhir.registry import TYPES, ResourceType

NDJSON = "application/fhir+ndjson"
# `_outputFormat` values that name NDJSON (the IG asks servers to accept all three).
NDJSON_FORMATS = frozenset({NDJSON, "application/ndjson", "ndjson"})
CHUNK_ROWS = 1000

# Called after each chunk with (type name, resources of every type written so far); False
# stops.
Progress = Callable[[str, int], bool]


class Stopped(Exception):
    """The progress callback asked to stop (the job was cancelled or its claim was lost)."""


@dataclass(frozen=True)
class Written:
    type_name: str
    path: Path
    count: int


def snapshot(session: Session) -> datetime:
    """Begin the session's read transaction as one snapshot of the database, and say when.
    PostgreSQL: REPEATABLE READ (every statement sees the first one's snapshot); SQLite: a
    read transaction in WAL mode sees the last commit before its first read, to its end."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    at = utcnow()
    begin_reading(session)
    return at


def begin_reading(session: Session) -> None:
    """The first read, which fixes the transaction's snapshot. On SQLite it must read the
    database file: `SELECT 1` reads nothing and begins no read transaction (the snapshot would
    be taken later, at the first real query; a test caught it)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("SELECT count(*) FROM sqlite_master"))
    else:
        session.execute(select(1))


def patient_compartment(kind: ResourceType) -> bool:
    """A type a Patient-level export covers: Patient itself and every type about a patient."""
    return kind.name == "Patient" or kind.patient_element is not None


def level_types(patient_level: bool) -> tuple[ResourceType, ...]:
    return tuple(k for k in TYPES
                 if k.exported and (not patient_level or patient_compartment(k)))


@dataclass(frozen=True)
class Share:
    """One of `of` processes writing one export: its share of each source is the rows whose
    id leaves `index` divided by `of` (so the shares are even, whatever the ids); a source
    with text ids (a Questionnaire: a definition in code, a handful) is the first share's."""

    index: int
    of: int

    def condition(self, source: search.Source) -> ColumnElement[bool] | bool:
        if source.string_ids:
            return self.index == 0
        return source.row % self.of == self.index


def _frames(kind: ResourceType, since: datetime | None, patients: Select[Any] | None,
            share: Share | None) -> Iterator[tuple[search.Source, Select[Any]]]:
    for source in kind.sources:
        frame = source.frame()
        if since is not None:
            frame = frame.where(source.updated >= since)
        if patients is not None:
            frame = frame.where(_of_patients(kind, source, patients))
        if share is not None:
            mine = share.condition(source)
            if mine is False:
                continue
            if mine is not True:
                frame = frame.where(mine)
        yield source, frame


def count_resources(session: Session, kinds: Sequence[ResourceType],
                    since: datetime | None = None, *, patients: Select[Any] | None = None
                    ) -> int:
    """How many resources the export will write (one COUNT per source)."""
    return sum(session.scalar(select(func.count()).select_from(frame.subquery())) or 0
               for kind in kinds for _, frame in _frames(kind, since, patients, None))


def resources(session: Session, kind: ResourceType, since: datetime | None = None,
              *, chunk_rows: int = CHUNK_ROWS, patients: Select[Any] | None = None,
              share: Share | None = None) -> Iterator[list[Resource]]:
    """The type's resources, a chunk at a time, each as read answers it (id and meta first).
    `since`: only those changed at or after it (`_since`); `patients`: only those of the
    patients this select gives (a Group's members; the type must be in the compartment);
    `share`: only this process's share of them."""
    for source, frame in _frames(kind, since, patients, share):
        if source.rows is not None:
            yield from _streamed_rows(session, source, source.rows, frame, chunk_rows)
            continue
        result = session.execute(frame.order_by(source.row),
                                 execution_options={"yield_per": chunk_rows})
        for partition in result.partitions():
            loaded = source.load(session, [row.row_id for row in partition])
            yield [with_meta(source, row.row_id, row.updated, loaded[row.row_id])
                   for row in partition if row.row_id in loaded]
            # The loaded rows are not needed again: keep the identity map from growing.
            session.expunge_all()


def _streamed_rows(session: Session, source: search.Source, rows: search.Rows,
                   frame: Select[Any], chunk_rows: int) -> Iterator[list[Resource]]:
    """A source built from plain rows: its columns come with the frame's own streamed query,
    so there is no second query per chunk (with its thousand-id IN list to compile) and no
    ORM object. Built by the builder read and search use (`search.rows_loader`)."""
    result = session.execute(frame.add_columns(*rows.columns).order_by(source.row),
                             execution_options={"yield_per": chunk_rows})
    for partition in result.partitions():
        built = rows.build(session, partition)
        yield [with_meta(source, row.row_id, row.updated, body)
               for row, body in zip(partition, built, strict=True)]


with_meta = search.with_meta  # read, search and export give the same resource


def _of_patients(kind: ResourceType, source: search.Source, patients: Select[Any]
                 ) -> ColumnElement[bool]:
    if kind.name == "Patient":
        return source.row.in_(patients)
    condition = source.filters["patient"](patients)  # type: ignore[arg-type]
    assert not isinstance(condition, bool)  # `search.references` gives a column condition
    return condition


def encode_lines(chunk: Sequence[Resource]) -> bytes:
    """A chunk as NDJSON: one compact JSON object per line (UTF-8), each line ended. orjson:
    the standard library's encoder took a third of the export's time."""
    return b"".join([orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE)
                     for resource in chunk])


def write_types(session: Session, kinds: Sequence[ResourceType], directory: Path, *,
                since: datetime | None = None, suffix: str = "",
                progress: Progress | None = None, patients: Select[Any] | None = None,
                share: Share | None = None) -> list[Written]:
    """One `<Type>.ndjson<suffix>` per type in `directory` (an empty file for a type with no
    resources). Raises `Stopped` when `progress` returns False."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Written] = []
    before = 0  # resources of the types already written
    for kind in kinds:
        path = directory / f"{kind.name}.ndjson{suffix}"
        count = 0
        with path.open("wb") as out:
            for chunk in resources(session, kind, since, patients=patients, share=share):
                out.write(encode_lines(chunk))
                count += len(chunk)
                if progress is not None and not progress(kind.name, before + count):
                    raise Stopped(kind.name)
        written.append(Written(kind.name, path, count))
        before += count
    return written
