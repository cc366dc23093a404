"""Hypothesis properties of the infusion rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.infusions.rules import (
    TRANSITIONS,
    EntryKind,
    LedgerEntry,
    RuleError,
    SessionAction,
    SessionStatus,
    VitalsReading,
    assess_reading,
    inventory_by_lot,
    next_reading_due,
    session_balances,
    transition,
    validate_entry,
    validate_reading,
)
from ketaflow.infusions.rules.ledger import TOLERANCE_MG, WITNESSED

actions = st.lists(st.sampled_from(list(SessionAction)), max_size=30)


@given(actions)
def test_state_machine_never_discharges_without_observation(sequence: list[SessionAction]) -> None:
    status, visited = SessionStatus.PLANNED, [SessionStatus.PLANNED]
    for action in sequence:
        try:
            status = transition(status, action, reason="r")
        except RuleError:
            continue
        visited.append(status)
    if SessionStatus.DISCHARGED in visited:
        index = visited.index(SessionStatus.DISCHARGED)
        assert visited[index - 1] is SessionStatus.OBSERVATION
        assert SessionStatus.RUNNING in visited[:index]
    if SessionStatus.ABORTED in visited:  # nothing follows an abort
        assert visited.index(SessionStatus.ABORTED) == len(visited) - 1


@given(st.sampled_from(list(SessionStatus)), st.sampled_from(list(SessionAction)))
def test_transition_agrees_with_table(status: SessionStatus, action: SessionAction) -> None:
    try:
        assert transition(status, action, reason="r") is TRANSITIONS[(status, action)]
    except RuleError:
        assert (status, action) not in TRANSITIONS


ledger_step = st.tuples(
    st.sampled_from(list(EntryKind)),
    st.sampled_from(["L1", "L2"]),
    st.floats(min_value=0.01, max_value=600, allow_nan=False),
    st.integers(1, 3),            # session
    st.integers(2, 3),            # witness (staff 1 records)
    st.integers(1, 40),           # entry to reverse
)


@settings(max_examples=200)
@given(st.lists(ledger_step, max_size=40))
def test_inventory_never_negative_after_valid_entries(
        steps: list[tuple[EntryKind, str, float, int, int, int]]) -> None:
    entries: list[LedgerEntry] = []
    for kind, lot, amount, session, witness, target in steps:
        entry = LedgerEntry(entry_id=len(entries) + 1, kind=kind, lot_number=lot,
                            amount_mg=amount, staff_id=1,
                            session_id=None if kind is EntryKind.RECEIVED else session,
                            witness_id=witness if kind in WITNESSED else None,
                            reverses_id=target, reason="fix")
        try:
            validate_entry(entries, entry)
        except RuleError:
            continue
        entries.append(entry)
        assert all(stock >= -TOLERANCE_MG for stock in inventory_by_lot(entries).values())
        assert all(b.discrepancy_mg >= -TOLERANCE_MG for b in session_balances(entries))


START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@given(st.lists(st.floats(0, 40), max_size=8), st.floats(0, 60))
def test_next_due_is_never_more_than_an_interval_after_the_last_reading(
        times: list[float], now: float) -> None:
    stamps = [START + timedelta(minutes=t) for t in times]
    result = next_reading_due(started_at=START, ended_at=None, reading_times=stamps,
                              now=START + timedelta(minutes=now))
    assert result is not None
    last = max([START, *stamps])
    assert last < result.due_at <= last + timedelta(minutes=10) or result.due_at == START + \
        timedelta(minutes=40)
    assert result.overdue == (START + timedelta(minutes=now) > result.due_at)


vitals = st.builds(
    VitalsReading, taken_at=st.just(START),
    sbp_mmhg=st.floats(-10, 400), dbp_mmhg=st.floats(-10, 400), hr_bpm=st.floats(-10, 300),
    spo2_percent=st.floats(-10, 120), rr_per_min=st.floats(-10, 80),
    rass=st.integers(-6, 6))


@given(vitals)
def test_accepted_readings_are_physiological_and_assessable(reading: VitalsReading) -> None:
    try:
        validate_reading(reading, session_opened_at=START, now=START)
    except RuleError as error:
        assert error.field in {"sbp_mmhg", "dbp_mmhg", "hr_bpm", "spo2_percent", "rr_per_min",
                               "rass"}
        return
    assert reading.dbp_mmhg < reading.sbp_mmhg <= 300  # type: ignore[operator]
    assert 50 <= reading.spo2_percent <= 100  # type: ignore[operator]
    for alert in assess_reading(reading):
        assert alert.field and alert.message
