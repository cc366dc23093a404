"""The words a refusal uses for each input: the field's label as the chair page and the ledger
forms show it, never the Python name (`sbp_mmhg`). The API names the field itself in `field`."""

from __future__ import annotations

import re

FIELD_LABELS: dict[str, str] = {
    # vitals
    "sbp_mmhg": "SBP mmHg",
    "dbp_mmhg": "DBP mmHg",
    "hr_bpm": "HR bpm",
    "spo2_percent": "SpO2 %",
    "rr_per_min": "RR /min",
    "rass": "RASS",
    "taken_at": "Time of the reading",
    "occurred_at": "Time of the event",
    # order and pump
    "drug": "Drug (clinic formulary)",
    "lot_number": "Lot number",
    "expiry_date": "Expiry date",
    "concentration_mg_per_ml": "Concentration (mg/mL)",
    "dose_mg_per_kg": "Dose (mg/kg)",
    "dose_mg": "Dose (mg)",
    "duration_min": "Duration (min)",
    "rate_ml_per_h": "New rate (mL/h)",
    "override_reason": "Override reason",
    "supersede_reason": "Reason for the new order",
    "weight_kg": "Weight (kg)",
    "reason": "Reason",
    "medication": "Medication",
    "route": "Route",
    "description": "Description",
    "action_taken": "Action taken",
    "text": "Addendum",
    # ledger
    "amount_mg": "Amount (mg)",
    "session_id": "Session",
    "vial_count": "Number of vials",
    "vial_volume_ml": "Volume per vial (mL)",
    "vial_mg": "mg per vial",
    "witness_id": "Witness",
    "witness_password": "Witness's password",
    "reverses_id": "Entry to reverse",
    "date_from": "From",
    "date_to": "To",
}


def label(name: str) -> str:
    """The label for field `name` (a scale answer `prefix.item` is named by its item)."""
    return FIELD_LABELS.get(name) or name.rsplit(".", 1)[-1].replace("_", " ")


_NAME = re.compile(r"\b(" + "|".join(sorted(map(re.escape, FIELD_LABELS), key=len,
                                             reverse=True)) + r")\b")


def worded(message: str) -> str:
    """A message from a shared core (dosing, the rules) with every Python field name in it
    replaced by the field's label: "dose_mg_per_kg 2.5 exceeds ..." -> "Dose (mg/kg) 2.5 ..."."""
    return _NAME.sub(lambda m: FIELD_LABELS[m.group(1)], message)
