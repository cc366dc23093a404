"""Suggestions for a new screening from facts already on the patient's record.

Only findings are carried over ("yes" to psychosis history when the diagnosis records it, current
benzodiazepines...) and the latest weight; an item is never pre-answered "no", because a
clearance must be asked, not inferred from a record that may be incomplete.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.clinical.eligibility import Answer
from ketaflow.errors import NotFound
from ketaflow.patients.diagnosis_codes import Episode
from ketaflow.patients.models import Patient, SubstanceUse
from ketaflow.patients.service import current_diagnosis, latest_weight, list_medications
from ketaflow.patients.service.medications import counts_toward_load, is_current
from ketaflow.screening.service.screenings import AnswerEntry, ScreeningEntry

_ELEVATED = frozenset({Episode.HYPOMANIC, Episode.MANIC, Episode.MIXED})
_THEOPHYLLINES = frozenset({"theophylline", "aminophylline"})


def record_suggestions(session: Session, ctx: AuditContext, *, patient_id: int) -> ScreeningEntry:
    """A draft entry holding what the record already says; audited as a clinical read."""
    if session.get(Patient, patient_id) is None:
        raise NotFound("no such patient")
    answers: dict[str, AnswerEntry] = {}
    diagnosis = current_diagnosis(session, patient_id=patient_id)
    if diagnosis is not None:
        if diagnosis.psychosis_history:
            answers["psychosis_history"] = _yes("psychosis history on the diagnosis")
        if diagnosis.substance_use is not SubstanceUse.NONE:
            answers["substance_use_history"] = _yes(
                f"{diagnosis.substance_use.value} substance use on the diagnosis")
        if diagnosis.current_episode in _ELEVATED:
            answers["current_hypomania_mixed"] = _yes(
                f"current episode recorded as {diagnosis.current_episode.value}")
    current = [m for m in list_medications(session, patient_id=patient_id) if is_current(m)]
    benzodiazepines = [m.drug_name for m in current if counts_toward_load(m)]
    if benzodiazepines:
        answers["cns_depressants"] = _yes(", ".join(sorted(benzodiazepines)))
    theophyllines = [m.drug_name for m in current if m.drug_name.lower() in _THEOPHYLLINES]
    if theophyllines:
        answers["theophylline"] = _yes(", ".join(sorted(theophyllines)))
    # Entries marked entered in error never count (`latest_weight` and `is_current` skip them).
    latest = latest_weight(session, patient_id=patient_id)
    weight = latest.weight_kg if latest else None
    record_event(session, ctx, action="screening.prefill", entity_type="patient",
                 entity_id=patient_id, detail={"items": len(answers)})
    return ScreeningEntry(answers=answers, weight_kg=weight)


def _yes(source: str) -> AnswerEntry:
    return AnswerEntry(Answer.YES, f"from the record: {source}")
