"""Shared helpers for the scales tests (plain functions exposed as fixtures)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ketaflow.scales.instruments import Instrument, ScoringRule, get_instrument


def answers_for_total(instrument_id: str, total: int) -> list[int]:
    """Asked-item answers (item order) reaching `total`, filling items greedily from the first.

    For QIDS-SR16 only the first item of each domain is used, so the domain rule and the plain sum
    agree and the requested total is exact.
    """
    instrument: Instrument = get_instrument(instrument_id)
    answers = {item.id: item.min_score for item in instrument.asked_items}
    base = instrument.min_total
    assert base is not None and instrument.max_total is not None
    assert base <= total <= instrument.max_total, (instrument_id, total)
    remaining = total - base
    if instrument.rule is ScoringRule.DOMAIN_MAX:
        fillable = [instrument.item(domain.item_ids[0]) for domain in instrument.domains]
    else:
        fillable = [item for item in instrument.asked_items if item.in_total]
    for item in fillable:
        step = min(remaining, item.max_score - item.min_score)
        answers[item.id] += step
        remaining -= step
    assert remaining == 0
    return [answers[item.id] for item in instrument.asked_items]


@pytest.fixture
def make_answers() -> Callable[[str, int], list[int]]:
    return answers_for_total
