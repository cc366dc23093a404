"""Writing a table's rows to CSV and Parquet as they stream in, and zipping a bundle."""

from __future__ import annotations

import csv
import hashlib
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

from ketaflow import csvsafe
from ketaflow.research.columns import Kind, Rule, Table

PARQUET_BATCH_ROWS = 65_536


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


def _iso_datetime(value: datetime) -> str:
    """Times reach the writers as naive UTC (`ketaflow.research.queries`)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def _iso_date(value: date) -> str:
    return value.isoformat()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _text(value: str) -> str:
    # Text columns hold codes and pseudonyms only; neutralised anyway, so a code list that
    # ever admits a typed value cannot start a spreadsheet formula.
    return csvsafe.cell(value)


_CSV_CELL: dict[Kind, Callable[[Any], str]] = {
    Kind.DATETIME: _iso_datetime, Kind.DATE: _iso_date, Kind.BOOLEAN: _bool,
    Kind.STRING: _text}


def _memoised(convert: Callable[[str], str]) -> Callable[[str], str]:
    """`convert` with its answers kept: a text column repeats few values (codes, and one
    pseudonym per patient or session over many rows), so most cells are one dict lookup."""
    seen: dict[str, str] = {}

    def cached(value: str) -> str:
        text = seen.get(value)
        if text is None:
            text = seen[value] = convert(value)
        return text

    return cached


class Sink(Protocol):
    path: Path

    def add(self, row: tuple[Any, ...]) -> None: ...

    def close(self) -> None: ...


class CsvSink:
    """RFC 4180 CSV with a header; empty cells for missing values. No cell can start a
    spreadsheet formula (text goes through `ketaflow.csvsafe`)."""

    def __init__(self, folder: Path, table: Table) -> None:
        self.path = folder / f"{table.name}.csv"
        self._file: IO[str] = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(table.header)
        # Pseudonyms are written as they are: `deidentify.pseudonym` makes them a capital
        # letter and hex digits, which can never start a formula, and they are a third of
        # the cells of the largest tables.
        self._plan = [(i, _memoised(_CSV_CELL[c.kind]) if c.kind is Kind.STRING
                       else _CSV_CELL[c.kind])
                      for i, c in enumerate(table.columns)
                      if c.kind in _CSV_CELL and c.rule is not Rule.PSEUDONYM]
        self._width = len(table.columns)

    def add(self, row: tuple[Any, ...]) -> None:
        if len(row) != self._width:  # a query out of step with the dictionary: never write it
            raise RuntimeError(f"{self.path.name}: a row of {len(row)} cells for "
                               f"{self._width} columns")
        cells = list(row)
        for index, convert in self._plan:
            value = cells[index]
            if value is not None:
                cells[index] = convert(value)
        self._writer.writerow(cells)

    def close(self) -> None:
        self._file.close()


class ParquetSink:
    """Parquet written in row groups of PARQUET_BATCH_ROWS, typed from the dictionary."""

    def __init__(self, folder: Path, table: Table) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        types = {Kind.STRING: pa.string(), Kind.INTEGER: pa.int64(), Kind.NUMBER: pa.float64(),
                 Kind.BOOLEAN: pa.bool_(), Kind.DATETIME: pa.timestamp("s", tz="UTC"),
                 Kind.DATE: pa.date32()}
        self._schema = pa.schema([(c.name, types[c.kind]) for c in table.columns])
        self._strings = [i for i, c in enumerate(table.columns) if c.kind is Kind.STRING]
        self.path = folder / f"{table.name}.parquet"
        self._writer = pq.ParquetWriter(self.path, self._schema)
        self._rows: list[tuple[Any, ...]] = []

    def add(self, row: tuple[Any, ...]) -> None:
        self._rows.append(row)
        if len(self._rows) >= PARQUET_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        columns = [list(values) for values in zip(*self._rows, strict=True)] if self._rows else [
            [] for _ in self._schema]
        for index in self._strings:  # enum members and numbers-as-text become plain text
            columns[index] = [None if v is None else str(v) for v in columns[index]]
        arrays = [self._pa.array(values, type=field.type)
                  for values, field in zip(columns, self._schema, strict=True)]
        self._writer.write_table(self._pa.Table.from_arrays(arrays, schema=self._schema))
        self._rows = []

    def close(self) -> None:
        if self._rows:
            self._flush()
        self._writer.close()


SINKS: dict[Format, Callable[[Path, Table], Sink]] = {Format.CSV: CsvSink,
                                                       Format.PARQUET: ParquetSink}


def write_table(folder: Path, table: Table, rows: Iterable[tuple[Any, ...]],
                formats: Iterable[Format]) -> tuple[int, list[Path]]:
    """Stream `rows` into one file per format; the number of rows and the files written."""
    sinks = [SINKS[fmt](folder, table) for fmt in formats]
    count = 0
    try:
        for row in rows:
            for sink in sinks:
                sink.add(row)
            count += 1
    finally:
        for sink in sinks:
            sink.close()
    return count, [sink.path for sink in sinks]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def zip_folder(folder: Path, target: Path) -> Path:
    """Every file of `folder` (flat) into the zip `target`."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, arcname=path.name)
    return target
