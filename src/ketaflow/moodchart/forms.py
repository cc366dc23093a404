"""The daily entry form's fields (the same form on the patient's phone and for clinicians)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ketaflow.errors import ValidationFailed
from ketaflow.mood.entries import LABELS, POLES
from ketaflow.moodchart.service import EntryInput
from ketaflow.patients.models import Medication
from ketaflow.web import forms as web_forms

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Anchor:
    value: int
    words: str


# Our own wording: each score anchored to how much the mood got in the way of the day.
ANCHORS = (Anchor(0, "Not at all"), Anchor(1, "Mild: I did my usual day"),
           Anchor(2, "Moderate: it got in the way of my day"),
           Anchor(3, "Severe: I could do little of my day"))
POLE_QUESTIONS = {
    "depressed": "Low or depressed mood",
    "elevated": "High, elevated or speeded-up mood",
    "irritable": "Irritable or angry",
    "anxious": "Anxious or worried",
}
FIELD_LABELS = {**LABELS, "day": "Day", "life_event_impact": "Impact of the event",
                "life_event": "Life event", "note": "Note"}


def parse_entry(form: web_forms.Form, medications: list[Medication], *, today: date
                ) -> EntryInput:
    """The typed entry, or ValidationFailed naming the field as its label reads."""
    scores = {}
    for pole in POLES:
        raw = form.get(pole, "")
        if raw == "":
            raise ValidationFailed(f"{POLE_QUESTIONS[pole]}: choose 0 to 3", field=pole)
        scores[pole] = web_forms.parse_whole_number(raw, pole, LABELS[pole])
    sleep = web_forms.optional_number(form, "sleep_h", LABELS["sleep_h"])
    impact = web_forms.optional_int(form, "life_event_impact", FIELD_LABELS["life_event_impact"])
    taken = {m.id: form.get(f"taken.{m.id}") == "yes" for m in medications
             if form.get(f"taken.{m.id}") in ("yes", "no")}
    return EntryInput(
        day=web_forms.optional_date(form, "day", "Day") or today, sleep_h=sleep,
        medications_taken=taken, life_event=web_forms.text(form, "life_event"),
        life_event_impact=impact, psychotic_symptoms=form.get("psychotic_symptoms") == "yes",
        menses={"yes": True, "no": False}.get(form.get("menses", "")),
        note=web_forms.text(form, "note"), **scores)


def form_key(form: web_forms.Form) -> str | None:
    value = form.get("form_key", "")
    return value if _KEY.match(value) else None
