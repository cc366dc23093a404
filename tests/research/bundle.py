"""Reading an exported bundle back: tables as dicts, and every cell of every file as text."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


def table(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield str(value)


def every_cell(folder: Path) -> Iterator[tuple[str, str]]:
    """(file name, text) for every cell, header, key and value of every file in the bundle.
    The manifest's own export time is left out: it is when the export ran, not an event of a
    patient (and on the day of an event it would match that event's real date)."""
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.reader(handle):
                    yield from ((path.name, cell) for cell in row)
        elif path.suffix == ".parquet":
            data = pq.read_table(path)
            yield from ((path.name, name) for name in data.column_names)
            for record in data.to_pylist():
                yield from ((path.name, str(value)) for value in record.values())
        elif path.suffix == ".json":
            content = json.loads(path.read_text())
            if path.name == "manifest.json":
                content.pop("exported_at")
            yield from ((path.name, leaf) for leaf in _leaves(content))
        else:
            yield from ((path.name, line) for line in path.read_text().splitlines())
