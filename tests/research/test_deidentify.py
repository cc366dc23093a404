"""Properties of the de-identification rules (pure): shifts, ages, pseudonyms, keys."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaflow.research import deidentify
from ketaflow.research.deidentify import PatientFrame, ResearchKeys

keys = st.binary(min_size=32, max_size=64)
ids = st.integers(min_value=1, max_value=2**31)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(keys, ids)
def test_a_shift_is_whole_days_back_within_the_range_and_the_same_every_time(
        key: bytes, patient_id: int) -> None:
    shift = deidentify.shift_days(key, patient_id)
    assert -deidentify.SHIFT_MAX_DAYS <= shift <= -deidentify.SHIFT_MIN_DAYS
    assert shift == deidentify.shift_days(key, patient_id)


def test_shifts_spread_over_the_range() -> None:
    key = b"k" * 32
    shifts = {deidentify.shift_days(key, n) for n in range(2000)}
    assert min(shifts) < -380 and max(shifts) > -45 and len(shifts) > 300


@given(days, days)
def test_ages_from_90_are_grouped_and_younger_ones_are_exact(born: date, on: date) -> None:
    if on < born:
        born, on = on, born
    exact = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    grouped, band = deidentify.grouped_age(born, on), deidentify.age_band(born, on)
    if exact >= 90:
        assert grouped == band == "90+"
    else:
        assert grouped == str(exact) and band != "90+"
        low, high = (int(x) for x in band.replace("<18", "0-17").split("-"))
        assert low <= exact <= high


def test_the_90th_birthday_is_where_grouping_starts() -> None:
    assert deidentify.grouped_age(date(1930, 6, 15), date(2020, 6, 14)) == "89"
    assert deidentify.grouped_age(date(1930, 6, 15), date(2020, 6, 15)) == "90+"
    assert deidentify.grouped_age(date(1930, 2, 28), date(2020, 2, 28)) == "90+"


@given(keys, ids, ids)
def test_pseudonyms_are_stable_distinct_and_keyed(key: bytes, a: int, b: int) -> None:
    first = deidentify.pseudonym(key, "patient", a)
    assert first == deidentify.pseudonym(key, "patient", a)
    assert first.startswith("P") and len(first) == 1 + deidentify.PSEUDONYM_HEX_CHARS
    if a != b:
        assert first != deidentify.pseudonym(key, "patient", b)
    assert first != deidentify.pseudonym(key + b"x", "patient", a)
    assert deidentify.pseudonym(key, "course", a).startswith("C")


@given(keys)
def test_purpose_keys_are_separate_and_the_key_id_reveals_neither(root: bytes) -> None:
    derived = ResearchKeys.from_root(root)
    assert len({derived.pseudonym, derived.date_shift, root}) == 3
    assert derived.key_id not in derived.pseudonym.hex() + derived.date_shift.hex()
    assert ResearchKeys.from_root(root) == derived


def test_a_short_root_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        ResearchKeys.from_root(b"short")


@given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
                min_size=2, max_size=6), st.integers(-395, -31))
def test_shifting_keeps_every_interval(moments: list[datetime], shift: int) -> None:
    frame = PatientFrame("P0", timedelta(days=shift), moments[0].date())
    shifted = [frame.shifted(m) for m in moments]
    for (a, b), (sa, sb) in zip(pairwise(moments), pairwise(shifted), strict=True):
        assert sb is not None and sa is not None and sb - sa == b - a
    assert [frame.day(m) for m in moments] == [(m.date() - moments[0].date()).days
                                               for m in moments]
