"""Infusion-session use cases, one function each; split by concept. Services never commit."""

from ketaflow.infusions.service._common import load_session, now
from ketaflow.infusions.service.chair import BoardRow, ChairView, chair_board, chair_view
from ketaflow.infusions.service.charting import (
    VitalsOutcome,
    acknowledge_alert,
    as_reading,
    give_rescue_medication,
    record_adverse_event,
    record_cadss6,
    record_side_effects,
    record_vitals,
)
from ketaflow.infusions.service.closing import (
    DischargeForm,
    add_addendum,
    discharge_patient,
    draft_note,
    sign_note,
)
from ketaflow.infusions.service.idempotency import StoredResponse, fingerprint, run_once
from ketaflow.infusions.service.sessions import (
    OrderInput,
    PrecheckChanges,
    apply_action,
    current_order,
    get_session,
    open_session,
    precheck_problems,
    sessions_for_course,
    sign_order,
    update_prechecks,
)

__all__ = [
    "BoardRow",
    "ChairView",
    "DischargeForm",
    "OrderInput",
    "PrecheckChanges",
    "StoredResponse",
    "VitalsOutcome",
    "acknowledge_alert",
    "add_addendum",
    "apply_action",
    "as_reading",
    "chair_board",
    "chair_view",
    "current_order",
    "discharge_patient",
    "draft_note",
    "fingerprint",
    "get_session",
    "give_rescue_medication",
    "load_session",
    "now",
    "open_session",
    "precheck_problems",
    "record_adverse_event",
    "record_cadss6",
    "record_side_effects",
    "record_vitals",
    "run_once",
    "sessions_for_course",
    "sign_note",
    "sign_order",
    "update_prechecks",
]
