"""Reading mood entries and rating totals from CSV files (the `ketaflow mood signals` contract).

Entries: a header with at least date,depressed,elevated,irritable,anxious,sleep_h; one row per
report (several per date allowed); dates YYYY-MM-DD; scores whole numbers 0-3; sleep_h hours
0-24 or empty (not reported). Ratings: date,instrument,total with instrument ids as in
`ketaflow scales list`. A problem raises CsvProblem naming the row (the header is row 1) and the
column; nothing is returned half-read.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import date

from ketaflow.mood.entries import POLES, Entry, EntryError, check_score, check_sleep
from ketaflow.mood.signals import Rating
from ketaflow.scales import get_instrument
from ketaflow.scales.instruments import UnknownInstrumentError

ENTRY_COLUMNS = ("date", *POLES, "sleep_h")
RATING_COLUMNS = ("date", "instrument", "total")
_WHOLE = re.compile(r"[0-9]{1,3}")
_DECIMAL = re.compile(r"[0-9]{1,2}(?:\.[0-9]+)?")


class CsvProblem(ValueError):
    def __init__(self, row: int, column: str, message: str) -> None:
        super().__init__(f"row {row}, column {column}: {message}")
        self.row, self.column = row, column


def _rows(lines: Iterable[str], required: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in required if name not in header]
    if missing:
        raise CsvProblem(1, missing[0], f"missing column (the header needs {','.join(required)})")
    reader.fieldnames = header
    for number, row in enumerate(reader, start=2):
        if None in row:  # more cells than the header has
            raise CsvProblem(number, header[-1], "more cells than the header has columns")
        yield number, {key: (value or "").strip() for key, value in row.items()}


def _date(row: int, text: str, today: date) -> date:
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise CsvProblem(row, "date", f"{text[:20]!r} is not a date (YYYY-MM-DD)")
    if day > today:
        raise CsvProblem(row, "date", f"{day.isoformat()} is in the future")
    return day


def _score(row: int, column: str, text: str) -> int:
    if not _WHOLE.fullmatch(text):
        raise CsvProblem(row, column, f"{text[:20]!r} is not a whole number from 0 to 3")
    try:
        return check_score(column, int(text))
    except EntryError as error:
        raise CsvProblem(row, column, str(error)) from None


def _sleep(row: int, text: str) -> float | None:
    if not text:
        return None
    if not _DECIMAL.fullmatch(text):
        raise CsvProblem(row, "sleep_h", f"{text[:20]!r} is not a number of hours (such as 7.5)")
    try:
        return check_sleep(float(text))
    except EntryError as error:
        raise CsvProblem(row, "sleep_h", str(error)) from None


def read_entries(lines: Iterable[str], *, today: date) -> list[Entry]:
    entries = []
    for number, row in _rows(lines, ENTRY_COLUMNS):
        day = _date(number, row["date"], today)
        scores = {pole: _score(number, pole, row[pole]) for pole in POLES}
        entries.append(Entry(day, sleep_h=_sleep(number, row["sleep_h"]), **scores))
    if not entries:
        raise CsvProblem(2, "date", "the file has no entries")
    return entries


def read_ratings(lines: Iterable[str], *, today: date) -> list[Rating]:
    ratings = []
    for number, row in _rows(lines, RATING_COLUMNS):
        day = _date(number, row["date"], today)
        try:
            instrument = get_instrument(row["instrument"])
        except UnknownInstrumentError:
            raise CsvProblem(number, "instrument", f"{row['instrument'][:30]!r} is not an "
                             "instrument id (see `ketaflow scales list`)") from None
        low, high = instrument.min_total, instrument.max_total
        text = row["total"]
        if low is None or high is None:
            raise CsvProblem(number, "instrument", f"{instrument.id} has no numeric total")
        if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
            raise CsvProblem(number, "total", f"{text[:20]!r} is not a whole number from {low} "
                             f"to {high} ({instrument.id})")
        ratings.append(Rating(day, instrument.id, int(text)))
    return ratings
