"""One mood report and the daily summary rule.

A patient may report several times a day (rapid or mixed states). The day's summary takes the
worst of the day for each pole, as the NIMH Life Chart Method rates a day by its most severe
mood: the highest depressed, elevated, irritable and anxious score. Sleep is a report of the
night before, so the day keeps the latest report that gives it (a later entry corrects an
earlier one). Signed mood, for charts and the forecast, is elevated minus depressed (-3..+3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

POLES = ("depressed", "elevated", "irritable", "anxious")
SCORE_MIN, SCORE_MAX = 0, 3
SLEEP_MIN_H, SLEEP_MAX_H = 0.0, 24.0
LABELS = {"depressed": "Depressed mood", "elevated": "Elevated mood",
          "irritable": "Irritability", "anxious": "Anxiety", "sleep_h": "Hours slept"}


class EntryError(ValueError):
    """A report outside what the chart takes; `field` names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Entry:
    """One report: each pole 0 (none) to 3 (severe, by how much it gets in the way of the
    day), and hours slept the night before (optional)."""

    day: date
    depressed: int
    elevated: int
    irritable: int
    anxious: int
    sleep_h: float | None = None

    def __post_init__(self) -> None:
        for pole in POLES:
            check_score(pole, getattr(self, pole))
        if self.sleep_h is not None:
            check_sleep(self.sleep_h)


def check_score(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (
            SCORE_MIN <= value <= SCORE_MAX):
        raise EntryError(field, f"{LABELS[field]} must be a whole number from {SCORE_MIN} to "
                                f"{SCORE_MAX}")
    return value


def check_sleep(value: float) -> float:
    if not math.isfinite(value) or not (SLEEP_MIN_H <= value <= SLEEP_MAX_H):
        raise EntryError("sleep_h", f"{LABELS['sleep_h']} must be from {SLEEP_MIN_H:g} to "
                                    f"{SLEEP_MAX_H:g} hours")
    return value


@dataclass(frozen=True)
class DaySummary:
    day: date
    depressed: int
    elevated: int
    irritable: int
    anxious: int
    sleep_h: float | None
    entries: int

    @property
    def elevation(self) -> int:
        """The upper pole: elevated or irritable, whichever is worse (both mark (hypo)mania)."""
        return max(self.elevated, self.irritable)

    @property
    def mood(self) -> int:
        """Signed mood: elevated minus depressed (-3..+3), as the chart and forecast use it."""
        return self.elevated - self.depressed


def daily_summaries(entries: Iterable[Entry]) -> list[DaySummary]:
    """One summary per day with any entry, in date order (entries in the order reported)."""
    by_day: dict[date, list[Entry]] = {}
    for entry in entries:
        by_day.setdefault(entry.day, []).append(entry)
    summaries = []
    for day in sorted(by_day):
        rows = by_day[day]
        sleeps = [e.sleep_h for e in rows if e.sleep_h is not None]
        summaries.append(DaySummary(
            day, max(e.depressed for e in rows), max(e.elevated for e in rows),
            max(e.irritable for e in rows), max(e.anxious for e in rows),
            sleeps[-1] if sleeps else None, len(rows)))
    return summaries
