"""Submitted HTML form fields (all strings) into service inputs, and stored rows back into fields.

Every problem raises ValidationFailed naming the field, so the form re-renders with the message
beside it and everything the user typed kept.
"""

from __future__ import annotations

from ketaflow.clinical.eligibility import CHECKLIST, Answer, PregnancyStatus
from ketaflow.clinical.maudsley import Severity as MaudsleySeverity
from ketaflow.screening.models import Screening
from ketaflow.screening.service import AnswerEntry, MaudsleyEntry, ScreeningEntry
from ketaflow.web.forms import (
    Form,
    optional_bool,
    optional_choice,
    optional_date,
    optional_int,
)
from ketaflow.web.forms import optional_number as optional_float

VITAL_FIELDS = (
    ("systolic_mmhg", "Systolic BP (mmHg)"),
    ("diastolic_mmhg", "Diastolic BP (mmHg)"),
    ("heart_rate_bpm", "Heart rate (beats/min)"),
    ("spo2_pct", "SpO2 (%)"),
)


def screening_entry(form: Form) -> ScreeningEntry:
    answers = {}
    for item in CHECKLIST:
        answer = optional_choice(form, f"answer_{item.key}", Answer, "answer")
        if answer is not None:
            answers[item.key] = AnswerEntry(answer, form.get(f"note_{item.key}") or None)
    vitals = {name: optional_int(form, name, label) for name, label in VITAL_FIELDS}
    return ScreeningEntry(
        answers=answers,
        **vitals,
        weight_kg=optional_float(form, "weight_kg", "Weight"),
        ymrs_total=optional_int(form, "ymrs_total", "Baseline YMRS"),
        pregnancy_status=optional_choice(form, "pregnancy_status", PregnancyStatus,
                                         "pregnancy status"),
        pregnancy_test_on=optional_date(form, "pregnancy_test_on", "Pregnancy test date"),
        maudsley=MaudsleyEntry(
            episode_months=optional_int(form, "maudsley_episode_months", "Episode duration"),
            severity=optional_choice(form, "maudsley_severity", MaudsleySeverity, "severity"),
            failed_antidepressants=optional_int(form, "maudsley_failed_antidepressants",
                                                "Failed antidepressants"),
            augmentation_used=optional_bool(form, "maudsley_augmentation_used"),
            ect_used=optional_bool(form, "maudsley_ect_used"),
        ),
        note=form.get("note") or None,
    )


def screening_form(row: Screening) -> Form:
    """A stored screening as form values, to edit a draft."""
    form: Form = {}
    for answer in row.answers:
        form[f"answer_{answer.item_key}"] = answer.answer.value
        form[f"note_{answer.item_key}"] = answer.note or ""
    for name in ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct",
                 "ymrs_total", "maudsley_episode_months", "maudsley_failed_antidepressants"):
        value = getattr(row, name)
        form[name] = "" if value is None else str(value)
    form["weight_kg"] = "" if row.weight_kg is None else f"{row.weight_kg:g}"
    form["pregnancy_status"] = row.pregnancy_status.value if row.pregnancy_status else ""
    form["pregnancy_test_on"] = row.pregnancy_test_on.isoformat() if row.pregnancy_test_on else ""
    form["maudsley_severity"] = row.maudsley_severity.value if row.maudsley_severity else ""
    for name in ("maudsley_augmentation_used", "maudsley_ect_used"):
        value = getattr(row, name)
        form[name] = "" if value is None else ("yes" if value else "no")
    form["note"] = row.note or ""
    return form


def entry_form(entry: ScreeningEntry) -> Form:
    """Suggested values (answers and weight) as form values, for a new screening."""
    form: Form = {}
    for key, given in entry.answers.items():
        form[f"answer_{key}"] = given.answer.value
        form[f"note_{key}"] = given.note or ""
    if entry.weight_kg is not None:
        form["weight_kg"] = f"{entry.weight_kg:g}"
    return form
