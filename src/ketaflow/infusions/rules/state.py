"""The session state machine: an explicit transition table and one function that applies it.

planned -> prechecks -> running (<-> paused; rate changes with a reason) -> stopped ->
observation -> discharged; or aborted, with a reason, from any state that is not final.
The table decides only what may follow what; the pre-check and discharge criteria are checked
by their own functions before the service asks for START or DISCHARGE.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from ketaflow.infusions.rules.problems import RuleError


class SessionStatus(StrEnum):
    PLANNED = "planned"
    PRECHECKS = "prechecks"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    OBSERVATION = "observation"
    DISCHARGED = "discharged"
    ABORTED = "aborted"

    @property
    def is_final(self) -> bool:
        return self in (SessionStatus.DISCHARGED, SessionStatus.ABORTED)

    @property
    def in_progress(self) -> bool:
        """The patient is at the chair: checks under way, infusing or observed."""
        return self not in (SessionStatus.PLANNED, SessionStatus.DISCHARGED, SessionStatus.ABORTED)

    @property
    def infusing(self) -> bool:
        return self in (SessionStatus.RUNNING, SessionStatus.PAUSED)


class SessionAction(StrEnum):
    BEGIN_PRECHECKS = "begin_prechecks"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CHANGE_RATE = "change_rate"
    STOP = "stop"
    BEGIN_OBSERVATION = "begin_observation"
    DISCHARGE = "discharge"
    ABORT = "abort"


S, A = SessionStatus, SessionAction

TRANSITIONS: MappingProxyType[tuple[SessionStatus, SessionAction], SessionStatus] = (
    MappingProxyType({
        (S.PLANNED, A.BEGIN_PRECHECKS): S.PRECHECKS,
        (S.PRECHECKS, A.START): S.RUNNING,
        (S.RUNNING, A.PAUSE): S.PAUSED,
        (S.PAUSED, A.RESUME): S.RUNNING,
        (S.RUNNING, A.CHANGE_RATE): S.RUNNING,
        # A new rate may be set while paused, to take effect on resume.
        (S.PAUSED, A.CHANGE_RATE): S.PAUSED,
        (S.RUNNING, A.STOP): S.STOPPED,
        (S.PAUSED, A.STOP): S.STOPPED,
        (S.STOPPED, A.BEGIN_OBSERVATION): S.OBSERVATION,
        (S.OBSERVATION, A.DISCHARGE): S.DISCHARGED,
        **{(status, A.ABORT): S.ABORTED for status in S if not status.is_final},
    }))

# Actions that change the plan of care need a reason in the record.
REASON_REQUIRED = frozenset({A.CHANGE_RATE, A.ABORT})


def allowed_actions(status: SessionStatus) -> tuple[SessionAction, ...]:
    return tuple(action for (source, action) in TRANSITIONS if source is status)


def transition(
    status: SessionStatus, action: SessionAction, *, reason: str | None = None
) -> SessionStatus:
    """The status after `action`, or RuleError naming why it is not allowed now."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        allowed = ", ".join(a.value for a in allowed_actions(status)) or "none (final)"
        raise RuleError(
            f"cannot {action.value.replace('_', ' ')} a session that is {status.value}; "
            f"allowed now: {allowed}", field="action")
    if action in REASON_REQUIRED and not (reason and reason.strip()):
        raise RuleError(f"{action.value.replace('_', ' ')} needs a reason", field="reason")
    return target
