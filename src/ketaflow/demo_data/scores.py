"""Rating answers for a wanted total, scored by the app's own scoring, so a generated rating's
stored answers, total and result are exactly what `assessments.service` would have stored.

Suicidality items stay at 0: a generated rating never raises a safety alert (alerts are rows
the generator does not write), and no synthetic patient is shown as at risk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from ketaflow.scales import get_instrument
from ketaflow.scales.scoring import score

# Items left at 0 (MADRS item 10, QIDS-SR16 item 12, PHQ-9 item 9).
SUICIDALITY_ITEMS = frozenset({"suicidal_thoughts", "death_suicide_thoughts",
                               "self_harm_thoughts"})


@dataclass(frozen=True)
class StoredRating:
    """The JSON texts and scored fields of one rating, as the assessment tables hold them."""

    instrument_version: str
    answers_json: str
    total: int
    severity: str | None
    flags_json: str
    subscores_json: str
    result_json: str


@cache
def max_total(instrument_id: str) -> int:
    """The highest total reachable with the suicidality items at 0."""
    return _rating(instrument_id, 10_000).total


def rating_for(instrument_id: str, total: int) -> StoredRating:
    """Answers scoring `total` (clipped to what the instrument reaches), cached per total."""
    return _rating(instrument_id, max(0, total))


@cache
def _rating(instrument_id: str, wanted: int) -> StoredRating:
    items = [item for item in get_instrument(instrument_id).asked_items
             if item.id not in SUICIDALITY_ITEMS]
    top = {item.id: max(option.score for option in item.options) for item in items}
    answers = {item.id: 0 for item in get_instrument(instrument_id).asked_items}
    result = score(instrument_id, answers)
    raised = True
    # Raise items one step at a time, round robin, keeping a step only if the total rises
    # (QIDS-SR16 scores the maximum of some item groups, so not every step counts).
    while raised and (result.total or 0) < wanted:
        raised = False
        for item in items:
            if answers[item.id] >= top[item.id] or (result.total or 0) >= wanted:
                continue
            answers[item.id] += 1
            trial = score(instrument_id, answers)
            if (trial.total or 0) > (result.total or 0):
                result, raised = trial, True
            else:
                answers[item.id] -= 1
    return StoredRating(
        instrument_version=result.instrument_version,
        answers_json=json.dumps(dict(result.answers), sort_keys=True),
        total=result.total or 0,
        severity=None if result.severity is None else result.severity.label,
        flags_json=json.dumps([str(flag) for flag in result.flags]),
        subscores_json=json.dumps(dict(result.subscores), sort_keys=True),
        result_json=json.dumps(result.to_dict(), sort_keys=True),
    )
