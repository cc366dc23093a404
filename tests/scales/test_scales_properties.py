"""Hypothesis properties of the scoring engine over every scored instrument."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaflow.scales import INSTRUMENTS, RiskLevel, ScaleInputError, get_instrument, score
from ketaflow.scales.instruments import Instrument, ScoringRule

SCORED = [i.id for i in INSTRUMENTS.values() if i.rule is not ScoringRule.RISK_LEVEL]
FAST = settings(max_examples=60, deadline=None)


def valid_answers(instrument: Instrument) -> st.SearchStrategy[list[int]]:
    return st.tuples(*(st.integers(item.min_score, item.max_score)
                       for item in instrument.asked_items)).map(list)


@pytest.mark.parametrize("instrument_id", SCORED)
@FAST
@given(data=st.data())
def test_total_within_range_and_band_contains_it(instrument_id: str, data: st.DataObject) -> None:
    instrument = get_instrument(instrument_id)
    result = score(instrument, data.draw(valid_answers(instrument)))
    assert result.total is not None and instrument.min_total is not None
    assert instrument.min_total <= result.total <= (instrument.max_total or 0)
    if instrument.bands:
        assert result.severity is not None and result.severity.contains(result.total)


@pytest.mark.parametrize("instrument_id", SCORED)
@FAST
@given(data=st.data())
def test_total_is_monotone_in_each_answer(instrument_id: str, data: st.DataObject) -> None:
    instrument = get_instrument(instrument_id)
    answers = data.draw(valid_answers(instrument))
    index = data.draw(st.integers(0, len(answers) - 1))
    item = instrument.asked_items[index]
    raised = list(answers)
    raised[index] = data.draw(st.integers(answers[index], item.max_score))
    before, after = score(instrument, answers).total, score(instrument, raised).total
    assert before is not None and after is not None
    assert after >= before


@pytest.mark.parametrize("instrument_id", SCORED)
@FAST
@given(data=st.data())
def test_any_out_of_range_answer_is_refused(instrument_id: str, data: st.DataObject) -> None:
    instrument = get_instrument(instrument_id)
    answers = data.draw(valid_answers(instrument))
    index = data.draw(st.integers(0, len(answers) - 1))
    item = instrument.asked_items[index]
    answers[index] = data.draw(st.integers(max_value=item.min_score - 1)
                               | st.integers(min_value=item.max_score + 1))
    with pytest.raises(ScaleInputError) as caught:
        score(instrument, answers)
    assert caught.value.item_id == item.id
    assert f"{item.min_score}-{item.max_score}" in str(caught.value)


@pytest.mark.parametrize("instrument_id", SCORED)
@FAST
@given(data=st.data())
def test_rescoring_stored_answers_is_identical(instrument_id: str, data: st.DataObject) -> None:
    instrument = get_instrument(instrument_id)
    result = score(instrument, data.draw(valid_answers(instrument)))
    assert score(instrument, dict(result.answers)) == result


QIDS = get_instrument("qids-sr16")


@settings(max_examples=150, deadline=None)
@given(answers=valid_answers(QIDS))
def test_qids_domain_rule_never_exceeds_the_plain_sum(answers: list[int]) -> None:
    result = score(QIDS, answers)
    assert result.total is not None
    assert result.total <= sum(answers)
    assert result.total == sum(result.subscores.values())


@st.composite
def qids_one_item_per_domain(draw: st.DrawFn) -> list[int]:
    """Answers where each multi-item domain has at most one non-zero item."""
    answers = dict.fromkeys((item.id for item in QIDS.items), 0)
    for domain in QIDS.domains:
        chosen = draw(st.sampled_from(domain.item_ids))
        answers[chosen] = draw(st.integers(0, 3))
    return [answers[item.id] for item in QIDS.items]


@settings(max_examples=150, deadline=None)
@given(answers=qids_one_item_per_domain())
def test_qids_domain_rule_equals_sum_without_overlap(answers: list[int]) -> None:
    # With one symptom per domain there is nothing to de-duplicate: the two rules agree.
    assert score(QIDS, answers).total == sum(answers)


CSSRS = get_instrument("cssrs-screener")


@settings(max_examples=200, deadline=None)
@given(answers=st.lists(st.sampled_from([True, False, None]), min_size=7, max_size=7))
def test_cssrs_accepts_exactly_the_skip_logic(answers: list[bool | None]) -> None:
    one, two, three, four, five, six, six_b = answers
    follow_ups_ok = all(v is not None for v in (three, four, five)) if two else (
        all(v is None for v in (three, four, five)))
    behaviour_ok = six_b is not None if six else six_b is None
    valid = one is not None and two is not None and six is not None and follow_ups_ok and (
        behaviour_ok)
    if not valid:
        with pytest.raises(ScaleInputError):
            score(CSSRS, answers)
        return
    risk = score(CSSRS, answers).risk_level
    # Independent statement of the reference's rule.
    if four or five or six_b:
        assert risk is RiskLevel.HIGH
    elif three or six:
        assert risk is RiskLevel.MODERATE
    elif one or two:
        assert risk is RiskLevel.LOW
    else:
        assert risk is RiskLevel.NONE
