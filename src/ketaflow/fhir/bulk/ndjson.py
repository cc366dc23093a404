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
from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from ketaflow.fhir import search
from ketaflow.fhir.codes import Resource
from ketaflow.fhir.registry import TYPES, ResourceType

NDJSON = "application/fhir+ndjson"
# `_outputFormat` values that name NDJSON (the IG asks servers to accept all three).
NDJSON_FORMATS = frozenset({NDJSON, "application/ndjson", "ndjson"})
CHUNK_ROWS = 1000

# Called after each chunk with (type name, resources written of it so far); False stops.
Progress = Callable[[str, int], bool]


class Stopped(Exception):
    """The progress callback asked to stop (the job was cancelled or its claim was lost)."""


@dataclass(frozen=True)
class Written:
    type_name: str
    path: Path
    count: int


def patient_compartment(kind: ResourceType) -> bool:
    """A type a Patient-level export covers: Patient itself and every type about a patient."""
    return kind.name == "Patient" or kind.patient_element is not None


def level_types(patient_level: bool) -> tuple[ResourceType, ...]:
    return tuple(k for k in TYPES
                 if k.exported and (not patient_level or patient_compartment(k)))


def resources(session: Session, kind: ResourceType, since: datetime | None = None,
              *, chunk_rows: int = CHUNK_ROWS, patients: Select[Any] | None = None
              ) -> Iterator[list[Resource]]:
    """The type's resources, a chunk at a time, each as read answers it (id and meta first).
    `since`: only those changed at or after it (`_since`); `patients`: only those of the
    patients this select gives (a Group's members; the type must be in the compartment)."""
    for source in kind.sources:
        frame = source.frame()
        if since is not None:
            frame = frame.where(source.updated >= since)
        if patients is not None:
            frame = frame.where(_of_patients(kind, source, patients))
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
                progress: Progress | None = None, patients: Select[Any] | None = None
                ) -> list[Written]:
    """One `<Type>.ndjson<suffix>` per type in `directory` (an empty file for a type with no
    resources). Raises `Stopped` when `progress` returns False."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Written] = []
    for kind in kinds:
        path = directory / f"{kind.name}.ndjson{suffix}"
        count = 0
        with path.open("wb") as out:
            for chunk in resources(session, kind, since, patients=patients):
                out.write(encode_lines(chunk))
                count += len(chunk)
                if progress is not None and not progress(kind.name, count):
                    raise Stopped(kind.name)
        written.append(Written(kind.name, path, count))
    return written
