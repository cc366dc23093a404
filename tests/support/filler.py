"""A row in every table of a database, whatever its schema: for the step-by-step migration test.

The tables are reflected, so this works at any revision. Parents are written before children
(topological order over foreign keys), every column gets a value of its type, and each foreign
key points at the newest row of the table it references. A schema this cannot fill (a type it
does not know, a CHECK the values break) fails loudly: extend `_value` rather than skip a table.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table, and_, insert, select

Row = dict[str, Any]
Written = dict[str, list[Row]]  # table name -> the rows written to it, oldest first
_SKIPPED = {"alembic_version"}
_seq = itertools.count(1)


# A value of each Python type a column can hold, distinct for each n so unique constraints hold.
_BY_TYPE: dict[type, Callable[[int], object]] = {
    bool: lambda n: n % 2 == 0,
    int: lambda n: n,
    float: lambda n: n + 0.5,
    Decimal: lambda n: Decimal(n) + Decimal("0.5"),
    date: lambda n: date(2026, 1, 1) + timedelta(days=n),
    time: lambda n: time(n % 24, n % 60),
    timedelta: lambda n: timedelta(seconds=n),
    bytes: lambda n: f"v{n}".encode(),
    dict: lambda n: {"n": n},
    list: lambda n: [n],
    uuid.UUID: lambda n: uuid.uuid4(),
}


def _value(column: Column[Any]) -> object:
    n = next(_seq)
    kind = column.type
    if getattr(kind, "enums", None):  # a native enum takes only its own values
        return kind.enums[0]  # type: ignore[attr-defined]
    python_type = kind.python_type  # NotImplementedError for a type reflection did not know
    if python_type is str:
        return f"v{n}"[: getattr(kind, "length", None) or None]
    if python_type is datetime:
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
        return moment if getattr(kind, "timezone", False) else moment.replace(tzinfo=None)
    if python_type not in _BY_TYPE:
        raise NotImplementedError(f"no test value for {column.table.name}.{column.name} ({kind})")
    return _BY_TYPE[python_type](n)


def _row(table: Table, written: Written) -> Row:
    row = {column.name: _value(column) for column in table.columns}
    for fk in table.foreign_key_constraints:
        parents = written.get(fk.referred_table.name, [])
        # A table referring to itself with no earlier row refers to this very row.
        parent = parents[-1] if parents else row
        for element in fk.elements:
            row[element.parent.name] = parent[element.column.name]
    return row


def fill_every_table(engine: Engine, written: Written) -> None:
    """Insert one row into every table, and add it to `written`."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name in _SKIPPED:
                continue
            row = _row(table, written)
            conn.execute(insert(table).values(row))
            written.setdefault(table.name, []).append(row)


def missing_rows(engine: Engine, written: Written) -> dict[str, list[Row]]:
    """The written rows no longer found by primary key, per table. Tables a later migration
    dropped on purpose are not looked for: the drift test checks that every model's table
    exists."""
    metadata = MetaData()
    metadata.reflect(engine)
    missing: dict[str, list[Row]] = {}
    with engine.connect() as conn:
        for name, rows in written.items():
            table = metadata.tables.get(name)
            if table is None:
                continue
            key = list(table.primary_key.columns)
            assert key, f"{name} has no primary key to find its rows by"
            for row in rows:
                found = conn.execute(
                    select(*key).where(and_(*(column == row[column.name] for column in key)))
                ).first()
                if found is None:
                    missing.setdefault(name, []).append(row)
    return missing


def table_names(engine: Engine) -> set[str]:
    metadata = MetaData()
    metadata.reflect(engine)
    return set(metadata.tables) - _SKIPPED
