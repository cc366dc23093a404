"""Days as arrays: one row per patient, one column per calendar day, NaN where no entry.

The signal and forecast rules run on these arrays for every patient at once (one pass over the
days, each step vectorised across patients), so a clinic group's two years of daily entries are
one sweep, not a loop per patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from ketaflow.mood.entries import DaySummary
from ketaflow.pk.kinetics import FloatArray

BoolArray = np.ndarray


@dataclass(frozen=True)
class DailySeries:
    """Daily summaries of P patients over the same T days starting on `start`."""

    start: date
    depressed: FloatArray   # (P, T), NaN: no entry that day
    elevation: FloatArray   # max(elevated, irritable)
    elevated: FloatArray
    sleep_h: FloatArray     # NaN: no entry, or no sleep reported
    med_change: BoolArray   # (P, T) a medication started, stopped or changed dose that day

    @property
    def days(self) -> int:
        return int(self.depressed.shape[1])

    @property
    def present(self) -> BoolArray:
        return ~np.isnan(self.depressed)

    @property
    def mood(self) -> FloatArray:
        """Signed mood, elevated minus depressed."""
        mood: FloatArray = self.elevated - self.depressed
        return mood

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)


def one_patient(summaries: Sequence[DaySummary], *, start: date, end: date,
                med_changes: Sequence[date] = ()) -> DailySeries:
    """One patient's summaries laid out from `start` to `end` inclusive."""
    days = (end - start).days + 1
    if days < 1:
        raise ValueError("end is before start")
    columns = {name: np.full((1, days), np.nan)
               for name in ("depressed", "elevation", "elevated", "sleep_h")}
    for summary in summaries:
        i = (summary.day - start).days
        if not 0 <= i < days:
            continue
        columns["depressed"][0, i] = summary.depressed
        columns["elevation"][0, i] = summary.elevation
        columns["elevated"][0, i] = summary.elevated
        columns["sleep_h"][0, i] = np.nan if summary.sleep_h is None else summary.sleep_h
    changes = np.zeros((1, days), dtype=bool)
    for day in med_changes:
        if 0 <= (day - start).days < days:
            changes[0, (day - start).days] = True
    return DailySeries(start, med_change=changes, **columns)
