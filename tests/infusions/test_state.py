"""Session state machine: the table, refusals with clear messages, reasons."""

from __future__ import annotations

import pytest

from ketaflow.infusions.rules import (
    TRANSITIONS,
    RuleError,
    SessionAction,
    SessionStatus,
    allowed_actions,
    transition,
)

S, A = SessionStatus, SessionAction


def test_happy_path_reaches_discharged() -> None:
    status = S.PLANNED
    for action in (A.BEGIN_PRECHECKS, A.START, A.PAUSE, A.RESUME, A.STOP,
                   A.BEGIN_OBSERVATION, A.DISCHARGE):
        status = transition(status, action)
    assert status is S.DISCHARGED


def test_rate_change_keeps_status_and_needs_reason() -> None:
    assert transition(S.RUNNING, A.CHANGE_RATE, reason="BP rising") is S.RUNNING
    assert transition(S.PAUSED, A.CHANGE_RATE, reason="resume slower") is S.PAUSED
    with pytest.raises(RuleError, match="change rate needs a reason") as error:
        transition(S.RUNNING, A.CHANGE_RATE, reason="  ")
    assert error.value.field == "reason"


@pytest.mark.parametrize("status", [s for s in S if not s.is_final])
def test_abort_from_every_non_final_state_with_reason(status: SessionStatus) -> None:
    assert transition(status, A.ABORT, reason="patient request") is S.ABORTED
    with pytest.raises(RuleError, match="abort needs a reason"):
        transition(status, A.ABORT)


@pytest.mark.parametrize("status", [S.DISCHARGED, S.ABORTED])
def test_final_states_allow_nothing(status: SessionStatus) -> None:
    assert allowed_actions(status) == ()
    with pytest.raises(RuleError, match=r"allowed now: none \(final\)"):
        transition(status, A.ABORT, reason="x")


def test_illegal_transition_message_names_state_and_allowed_actions() -> None:
    with pytest.raises(RuleError) as error:
        transition(S.RUNNING, A.DISCHARGE)
    assert str(error.value) == (
        "cannot discharge a session that is running; "
        "allowed now: pause, change_rate, stop, abort")
    assert error.value.field == "action"


def test_cannot_start_without_prechecks_or_discharge_without_observation() -> None:
    with pytest.raises(RuleError):
        transition(S.PLANNED, A.START)
    with pytest.raises(RuleError):
        transition(S.STOPPED, A.DISCHARGE)
    with pytest.raises(RuleError):
        transition(S.PAUSED, A.PAUSE)


def test_table_is_explicit_and_only_observation_leads_to_discharged() -> None:
    assert [src for (src, _), dst in TRANSITIONS.items() if dst is S.DISCHARGED] == [S.OBSERVATION]
    assert len(TRANSITIONS) == 10 + 6  # ten forward moves, abort from six non-final states


def test_status_properties() -> None:
    assert {s for s in S if s.in_progress} == {S.PRECHECKS, S.RUNNING, S.PAUSED, S.STOPPED,
                                               S.OBSERVATION}
    assert {s for s in S if s.infusing} == {S.RUNNING, S.PAUSED}
