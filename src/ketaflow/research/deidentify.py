"""The de-identification rules themselves, pure (stdlib only): keyed pseudonyms, per-patient
date shifts and age grouping. Nothing here reads the database, so the rules are tested alone.

Keys: one root key kept outside the database (`Settings.effective_research_key`) is never used
directly; each purpose gets its own key derived from it, so a pseudonym can never be turned
into a date shift or the other way round, and a key fingerprint says nothing about either.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# Safe Harbor 45 CFR 164.514(b)(2)(i)(C): ages over 89 are aggregated into one category.
AGE_TOP_YEARS = 90
AGE_TOP_LABEL = "90+"
# Every patient's dates move back by a whole number of days in this range (inclusive), the
# same for all of that patient's rows, so intervals within a patient are kept exactly.
SHIFT_MIN_DAYS = 31
SHIFT_MAX_DAYS = 395
PSEUDONYM_HEX_CHARS = 16  # 64 bits: collisions are negligible at a clinic group's size
AGE_BANDS = ((0, 17, "<18"), (18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"),
             (45, 54, "45-54"), (55, 64, "55-64"), (65, 74, "65-74"), (75, 89, "75-89"))


def purpose_key(root: bytes, purpose: str) -> bytes:
    """A key for one purpose, derived from the root by HMAC (a one-way step)."""
    return hmac.new(root, f"ketaflow-research/{purpose}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class ResearchKeys:
    pseudonym: bytes = b""
    date_shift: bytes = b""
    # A fingerprint of the root, shown in the manifest: two bundles with the same key id have
    # comparable pseudonyms. One-way and purpose-separated, so it reveals no key material.
    key_id: str = ""

    @classmethod
    def from_root(cls, root: bytes) -> ResearchKeys:
        if len(root) < 32:
            raise ValueError("the research key must be at least 32 bytes")
        return cls(purpose_key(root, "pseudonym"), purpose_key(root, "date-shift"),
                   purpose_key(root, "key-id").hex()[:12])


def pseudonym(key: bytes, kind: str, record_id: int) -> str:
    """A stable keyed pseudonym for one record: the same (key, kind, id) always gives the same
    value, and without the key it cannot be linked back to the id (HMAC-SHA256). The kind's
    first letter leads, so a patient's and a course's pseudonym are never confused."""
    digest = hmac.new(key, f"{kind}:{record_id}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0].upper()}{digest[:PSEUDONYM_HEX_CHARS]}"


def shift_days(key: bytes, patient_id: int) -> int:
    """The patient's date shift in days: negative (dates move earlier), never zero, from
    SHIFT_MIN_DAYS to SHIFT_MAX_DAYS back, drawn from the keyed hash of the patient."""
    digest = hmac.new(key, f"patient:{patient_id}".encode(), hashlib.sha256).digest()
    span = SHIFT_MAX_DAYS - SHIFT_MIN_DAYS + 1
    return -(SHIFT_MIN_DAYS + int.from_bytes(digest[:8], "big") % span)


def age_years(born_on: date, on: date) -> int:
    """Completed years of age on a day."""
    return on.year - born_on.year - ((on.month, on.day) < (born_on.month, born_on.day))


def grouped_age(born_on: date, on: date) -> str:
    """Age in whole years, or "90+" from 90 on (Safe Harbor's aggregation of ages over 89)."""
    age = age_years(born_on, on)
    return AGE_TOP_LABEL if age >= AGE_TOP_YEARS else str(age)


def age_band(born_on: date, on: date) -> str:
    age = age_years(born_on, on)
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return AGE_TOP_LABEL


@dataclass(frozen=True)
class PatientFrame:
    """What every row of one patient needs: the pseudonym, the date shift and the anchor day
    (first course start, else registration) that day numbers count from."""

    pseudonym: str
    shift: timedelta
    anchor: date

    def day(self, moment: date | datetime | None) -> int | None:
        """Days from the anchor (negative before it): an interval, not a date."""
        if moment is None:
            return None
        day = moment.date() if isinstance(moment, datetime) else moment
        return (day - self.anchor).days

    def shifted(self, moment: datetime | None) -> datetime | None:
        return None if moment is None else moment + self.shift

    def shifted_date(self, day: date | None) -> date | None:
        return None if day is None else day + self.shift
