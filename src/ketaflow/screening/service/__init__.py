"""Screening and consent use cases, split by concept. Services never commit."""

from ketaflow.screening.service.consent import (
    latest_consent,
    list_consents,
    list_witnesses,
    read_consents,
    record_consent,
    staff_names,
)
from ketaflow.screening.service.evaluation import (
    ScreeningEvaluation,
    eligibility_settings,
    evaluate_resistance,
    evaluate_row,
)
from ketaflow.screening.service.prefill import record_suggestions
from ketaflow.screening.service.screenings import (
    AnswerEntry,
    MaudsleyEntry,
    ScreeningEntry,
    ScreeningSummary,
    ScreeningView,
    amend_screening,
    current_signed_screening,
    list_screenings,
    load_screening,
    read_screening,
    screening_summary,
    sign_screening,
    start_screening,
    update_screening,
)

__all__ = [
    "AnswerEntry",
    "MaudsleyEntry",
    "ScreeningEntry",
    "ScreeningEvaluation",
    "ScreeningSummary",
    "ScreeningView",
    "amend_screening",
    "current_signed_screening",
    "eligibility_settings",
    "evaluate_resistance",
    "evaluate_row",
    "latest_consent",
    "list_consents",
    "list_screenings",
    "list_witnesses",
    "load_screening",
    "read_consents",
    "read_screening",
    "record_consent",
    "record_suggestions",
    "screening_summary",
    "sign_screening",
    "staff_names",
    "start_screening",
    "update_screening",
]
