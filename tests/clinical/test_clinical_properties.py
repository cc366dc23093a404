"""Hypothesis properties of the clinical cores."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ketaflow.clinical.course_plan import Frequency, planned_dates, suggest_maintenance
from ketaflow.clinical.eligibility import (
    CHECKLIST,
    Answer,
    BaselineVitals,
    FindingKind,
    Outcome,
    PregnancyStatus,
    ScreeningInput,
    evaluate_eligibility,
)
from ketaflow.clinical.maudsley import MaudsleyBand, MaudsleyInput, Severity, score_maudsley
from ketaflow.clinical.resistance import (
    ADEQUACY_TABLE,
    BipolarType,
    TrialInput,
    TrialResponse,
    evaluate_resistance,
)

DRUGS = ["quetiapine", "lurasidone", "olanzapine", "fluoxetine", "cariprazine", "lumateperone",
         "lithium", "lamotrigine", "sertraline"]

trials = st.builds(
    TrialInput,
    drugs=st.lists(st.tuples(st.sampled_from(DRUGS), st.floats(0.5, 900)), min_size=1,
                   max_size=2, unique_by=lambda d: d[0]).map(tuple),
    duration_weeks=st.floats(0, 52),
    adherence_verified=st.booleans(),
    response=st.sampled_from(list(TrialResponse)),
)


@st.composite
def adequate_trials(draw: st.DrawFn, bipolar_type: BipolarType) -> TrialInput:
    regimen = draw(st.sampled_from([r for r in ADEQUACY_TABLE if bipolar_type in r.bipolar_types]))
    drugs = tuple((c.drug, draw(st.floats(c.min_mg_per_day, c.max_mg_per_day)))
                  for c in regimen.components)
    return TrialInput(drugs, draw(st.floats(regimen.min_weeks, 52)), True,
                      draw(st.sampled_from([TrialResponse.NONE, TrialResponse.PARTIAL])))


@given(st.data(), st.sampled_from(list(BipolarType)), st.lists(trials, max_size=6))
def test_adding_an_adequate_trial_never_undoes_meets(
    data: st.DataObject, bipolar_type: BipolarType, history: list[TrialInput]
) -> None:
    before = evaluate_resistance(bipolar_type, history)
    extra = data.draw(adequate_trials(bipolar_type))
    after = evaluate_resistance(bipolar_type, [*history, extra])
    assert after.adequate_failed_count >= before.adequate_failed_count
    assert after.meets or not before.meets
    assert after.trials[-1].regimen is not None


@given(st.sampled_from(list(BipolarType)), st.lists(trials, max_size=6))
def test_every_trial_has_a_reason_and_the_count_matches(
    bipolar_type: BipolarType, history: list[TrialInput]
) -> None:
    result = evaluate_resistance(bipolar_type, history)
    assert all(t.reasons and t.source for t in result.trials)
    assert result.adequate_failed_count == sum(t.counts for t in result.trials)
    assert [t.index for t in result.trials] == list(range(1, len(history) + 1))


@given(st.dates(date(2020, 1, 1), date(2035, 1, 1)), st.integers(1, 12),
       st.sampled_from(list(Frequency)), st.booleans())
def test_planned_dates_strictly_increase_and_number_n(
    start: date, count: int, frequency: Frequency, skip_weekends: bool
) -> None:
    dates = planned_dates(start, count, frequency, skip_weekends=skip_weekends)
    assert len(dates) == count
    assert dates[0] >= start
    assert all(a < b for a, b in itertools.pairwise(dates))
    if skip_weekends or frequency in (Frequency.MON_WED_FRI, Frequency.MON_THU):
        assert all(d.weekday() < 5 for d in dates)
    if frequency is Frequency.EVERY_3_DAYS:
        assert all(b - a >= timedelta(days=3) for a, b in itertools.pairwise(dates))


@given(st.dates(date(2020, 1, 1), date(2035, 1, 1)))
def test_maintenance_visits_strictly_increase(last: date) -> None:
    visits = [v.on for v in suggest_maintenance(last).visits]
    assert visits[0] > last
    assert all(a < b for a, b in itertools.pairwise(visits))


@given(st.integers(0, 1200), st.sampled_from(list(Severity)), st.integers(1, 100),
       st.booleans(), st.booleans())
def test_maudsley_total_in_range_and_band_consistent(
    months: int, severity: Severity, failures: int, augmentation: bool, ect: bool
) -> None:
    score = score_maudsley(MaudsleyInput(months, severity, failures, augmentation, ect))
    assert 3 <= score.total <= 15
    expected = (MaudsleyBand.MILD if score.total <= 6 else
                MaudsleyBand.MODERATE if score.total <= 10 else MaudsleyBand.SEVERE)
    assert score.band is expected


answers = st.fixed_dictionaries({}, optional={
    item.key: st.sampled_from(list(Answer)) for item in CHECKLIST})


@given(answers, st.none() | st.integers(0, 60), st.none() | st.sampled_from(
    [PregnancyStatus.NOT_APPLICABLE, PregnancyStatus.PREGNANT, PregnancyStatus.BREASTFEEDING]),
    st.integers(90, 200), st.integers(50, 89))
def test_outcome_follows_findings_and_unanswered(
    given_answers: dict[str, Answer], ymrs: int | None, pregnancy: PregnancyStatus | None,
    sbp: int, dbp: int,
) -> None:
    result = evaluate_eligibility(ScreeningInput(
        answers=given_answers, vitals=BaselineVitals(sbp, dbp, 70, 97, 70.0), ymrs_total=ymrs,
        pregnancy=pregnancy))
    if result.unanswered:
        assert result.outcome is Outcome.INCOMPLETE
    elif any(f.kind is not FindingKind.CAUTION for f in result.findings):
        assert result.outcome is Outcome.NOT_ELIGIBLE
    elif result.findings:
        assert result.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS
    else:
        assert result.outcome is Outcome.ELIGIBLE
    answered = {k for k, v in given_answers.items() if v is not Answer.UNKNOWN}
    missing_items = {m.key for m in result.unanswered} & {i.key for i in CHECKLIST}
    assert missing_items == {i.key for i in CHECKLIST} - answered
