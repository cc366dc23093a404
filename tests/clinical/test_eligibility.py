"""Eligibility screening: checklist classification, vitals thresholds, YMRS, pregnancy, outcome."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ketaflow.clinical.bp_gate import BpGateSettings
from ketaflow.clinical.eligibility import (
    CHECKLIST,
    CHECKLIST_BY_KEY,
    CHECKLIST_V1,
    Answer,
    BaselineVitals,
    EligibilitySettings,
    FindingKind,
    ItemKind,
    Outcome,
    PregnancyStatus,
    ScreeningInput,
    checklist_signed_with,
    evaluate_eligibility,
)


def clear_answers() -> dict[str, Answer]:
    """Every item answered so that it raises no finding."""
    return {item.key: Answer.YES if item.kind is ItemKind.REQUIREMENT else Answer.NO
            for item in CHECKLIST}


def vitals(sbp: int = 120, dbp: int = 80, weight_kg: float = 70.0) -> BaselineVitals:
    return BaselineVitals(sbp, dbp, 72, 98, weight_kg)


def entry(**overrides: Any) -> ScreeningInput:
    values: dict[str, Any] = {
        "answers": clear_answers(), "vitals": vitals(), "ymrs_total": 4,
        "pregnancy": PregnancyStatus.NOT_APPLICABLE,
    }
    return ScreeningInput(**(values | overrides))


def with_answer(key: str, answer: Answer) -> dict[str, Answer]:
    return clear_answers() | {key: answer}


def test_every_item_has_a_kind_and_a_source() -> None:
    keys = [item.key for item in CHECKLIST]
    assert len(keys) == len(set(keys))
    for item in CHECKLIST:
        assert item.source and item.question.endswith("?")
    kinds = {item.key: item.kind for item in CHECKLIST}
    assert kinds["bipolar_depression_confirmed"] is ItemKind.REQUIREMENT
    assert kinds["escort_arranged"] is ItemKind.REQUIREMENT
    assert kinds["current_psychotic_features"] is ItemKind.CONTRAINDICATION
    assert kinds["psychosis_history"] is ItemKind.CAUTION
    assert kinds["substance_use_history"] is ItemKind.CAUTION
    assert kinds["vascular_disease"] is ItemKind.CONTRAINDICATION
    assert kinds["bp_icp_hazard"] is ItemKind.CONTRAINDICATION
    assert kinds["current_hypomania_mixed"] is ItemKind.CONTRAINDICATION
    assert kinds["hypersensitivity"] is ItemKind.CONTRAINDICATION
    assert kinds["cns_depressants"] is ItemKind.CAUTION


# Issue 11, item 4: each new or changed item with its kind and the label section it cites.
@pytest.mark.parametrize(("key", "kind", "cites"), [
    ("bp_icp_hazard", ItemKind.CONTRAINDICATION, "Spravato (esketamine) USPI 5.6"),
    ("cardio_cerebrovascular", ItemKind.CAUTION, "Spravato (esketamine) USPI 5.6"),
    ("hypertensive_encephalopathy", ItemKind.CAUTION, "Spravato (esketamine) USPI 5.6"),
    ("severe_hepatic_impairment", ItemKind.CONTRAINDICATION, "Spravato (esketamine) USPI 8.6"),
    ("dissociative_use_disorder", ItemKind.CAUTION, "Spravato (esketamine) USPI 5.4"),
    ("substance_use_history", ItemKind.CAUTION, "#substance-use-disorder"),
    ("theophylline", ItemKind.CAUTION, "Ketalar (ketamine) USPI, revised 10/2024 7.1"),
    ("cns_depressants", ItemKind.CAUTION, "Andrashko et al., Front Psychiatry 2020;11:844"),
])
def test_issue_11_items_kind_and_label_section(key: str, kind: ItemKind, cites: str) -> None:
    item = CHECKLIST_BY_KEY[key]
    assert item.kind is kind
    assert cites in item.source
    assert "docs/clinical-sources.md#" in item.source


def test_theophylline_is_a_caution_to_consider_an_alternative() -> None:
    result = evaluate_eligibility(entry(answers=with_answer("theophylline", Answer.YES)))
    assert result.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS
    assert result.findings[0].message == ("Takes theophylline or aminophylline? yes: may lower "
                                          "the seizure threshold: consider an alternative")


def test_cns_depressant_finding_does_not_credit_the_ketalar_label_with_the_cut_off() -> None:
    item = CHECKLIST_BY_KEY["cns_depressants"]
    assert "one small unipolar study (n = 47)" in item.why
    ketalar, andrashko = item.source.split("; Andrashko")
    assert "8 mg" not in ketalar and "Front Psychiatry 2020;11:844" in andrashko


def test_version_1_answers_are_judged_with_version_1() -> None:
    """A screening signed with the first checklist: theophylline was a contraindication then,
    the new items were never asked, and neither changes its evaluation."""
    v1 = {i.key: Answer.YES if i.kind is ItemKind.REQUIREMENT else Answer.NO
          for i in CHECKLIST_V1} | {"theophylline": Answer.YES}
    assert checklist_signed_with(set(v1)) is CHECKLIST_V1
    result = evaluate_eligibility(entry(answers=v1, checklist=CHECKLIST_V1))
    assert result.outcome is Outcome.NOT_ELIGIBLE and result.complete
    assert [(f.key, f.kind) for f in result.findings] == [
        ("theophylline", FindingKind.CONTRAINDICATION)]
    # Judged with today's checklist the same answers are incomplete, not a crash.
    current = evaluate_eligibility(entry(answers=v1))
    assert current.outcome is Outcome.INCOMPLETE
    assert {m.key for m in current.unanswered} == {
        "dissociative_use_disorder", "bp_icp_hazard", "cardio_cerebrovascular",
        "hypertensive_encephalopathy", "severe_hepatic_impairment"}
    assert checklist_signed_with(set(clear_answers())) is CHECKLIST


def test_breastfeeding_follows_the_spravato_label() -> None:
    result = evaluate_eligibility(entry(pregnancy=PregnancyStatus.BREASTFEEDING))
    assert result.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS
    (finding,) = result.findings
    assert finding.message == ("breastfeeding: advise the patient not to breastfeed during "
                               "treatment")
    assert "Spravato (esketamine) USPI 8.2" in finding.source


def test_clear_screening_is_eligible() -> None:
    result = evaluate_eligibility(entry())
    assert result.outcome is Outcome.ELIGIBLE
    assert result.findings == () and result.complete


@pytest.mark.parametrize("item", [i for i in CHECKLIST if i.kind is ItemKind.CONTRAINDICATION])
def test_each_contraindication_makes_not_eligible(item: Any) -> None:
    result = evaluate_eligibility(entry(answers=with_answer(item.key, Answer.YES)))
    assert result.outcome is Outcome.NOT_ELIGIBLE
    (finding,) = result.findings
    assert (finding.key, finding.kind, finding.source) == (
        item.key, FindingKind.CONTRAINDICATION, item.source)


@pytest.mark.parametrize("item", [i for i in CHECKLIST if i.kind is ItemKind.CAUTION])
def test_each_caution_keeps_eligible_with_cautions(item: Any) -> None:
    result = evaluate_eligibility(entry(answers=with_answer(item.key, Answer.YES)))
    assert result.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS
    assert [f.kind for f in result.findings] == [FindingKind.CAUTION]


@pytest.mark.parametrize("key", ["bipolar_depression_confirmed", "escort_arranged"])
def test_unmet_requirement_makes_not_eligible(key: str) -> None:
    result = evaluate_eligibility(entry(answers=with_answer(key, Answer.NO)))
    assert result.outcome is Outcome.NOT_ELIGIBLE
    assert result.findings[0].kind is FindingKind.REQUIREMENT_NOT_MET


def test_unknown_and_missing_answers_make_incomplete_and_are_named() -> None:
    answers = clear_answers()
    del answers["hypersensitivity"]
    answers["theophylline"] = Answer.UNKNOWN
    result = evaluate_eligibility(entry(answers=answers, vitals=None, ymrs_total=None,
                                        pregnancy=None))
    assert result.outcome is Outcome.INCOMPLETE and not result.complete
    assert [m.key for m in result.unanswered] == [
        "hypersensitivity", "theophylline", "vitals", "ymrs", "pregnancy"]
    assert result.unanswered[2].label == "Baseline vital signs"


def test_findings_are_listed_even_when_incomplete() -> None:
    answers = with_answer("current_psychotic_features", Answer.YES)
    result = evaluate_eligibility(entry(answers=answers, ymrs_total=None))
    assert result.outcome is Outcome.INCOMPLETE
    assert result.findings[0].key == "current_psychotic_features"


def test_unknown_item_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown checklist items: made_up"):
        ScreeningInput(answers={"made_up": Answer.YES})


@pytest.mark.parametrize(("sbp", "dbp", "expected"), [
    (140, 90, None),
    (141, 80, FindingKind.CAUTION),
    (130, 91, FindingKind.CAUTION),
    (159, 99, FindingKind.CAUTION),
    (160, 80, FindingKind.CONTRAINDICATION),
    (130, 100, FindingKind.CONTRAINDICATION),
])
def test_baseline_blood_pressure_edges(sbp: int, dbp: int, expected: FindingKind | None) -> None:
    result = evaluate_eligibility(entry(vitals=vitals(sbp, dbp)))
    bp = [f for f in result.findings if f.key == "baseline_bp"]
    if expected is None:
        assert bp == []
        return
    assert bp[0].kind is expected
    if expected is FindingKind.CONTRAINDICATION:
        assert "defer" in bp[0].message and "common practice, unverified" in bp[0].source
    else:
        assert "prescriber review" in bp[0].message and "Spravato" in bp[0].source


def test_bp_thresholds_are_clinic_settings() -> None:
    strict = EligibilitySettings(bp_gate=BpGateSettings(review_sbp_above_mmhg=130))
    result = evaluate_eligibility(entry(vitals=vitals(135, 80)), settings=strict)
    assert result.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS
    with pytest.raises(ValueError, match="below the defer"):
        EligibilitySettings(bp_gate=BpGateSettings(review_sbp_above_mmhg=170))
    with pytest.raises(ValueError, match="positive whole number"):
        EligibilitySettings(ymrs_hypomania_min=0)


@pytest.mark.parametrize(("weight", "ok"), [(29.9, False), (30.0, True), (250.0, True),
                                            (250.5, False)])
def test_weight_must_be_in_the_dosing_range(weight: float, ok: bool) -> None:
    result = evaluate_eligibility(entry(vitals=vitals(weight_kg=weight)))
    assert (result.outcome is Outcome.ELIGIBLE) is ok
    if not ok:
        assert result.findings[0].kind is FindingKind.REQUIREMENT_NOT_MET
        assert "30-250 kg" in result.findings[0].message


@pytest.mark.parametrize("kwargs", [
    {"systolic_mmhg": 40}, {"diastolic_mmhg": 130, "systolic_mmhg": 120},
    {"heart_rate_bpm": 300}, {"spo2_pct": 101}, {"weight_kg": 0.0},
    {"weight_kg": float("inf")}, {"spo2_pct": 97.5},
])
def test_impossible_vitals_are_refused(kwargs: dict[str, Any]) -> None:
    values: dict[str, Any] = {"systolic_mmhg": 120, "diastolic_mmhg": 80, "heart_rate_bpm": 70,
                              "spo2_pct": 98, "weight_kg": 70.0}
    with pytest.raises(ValueError):
        BaselineVitals(**(values | kwargs))


@pytest.mark.parametrize(("ymrs", "outcome"), [(11, Outcome.ELIGIBLE), (12, Outcome.NOT_ELIGIBLE),
                                               (30, Outcome.NOT_ELIGIBLE)])
def test_baseline_ymrs_threshold(ymrs: int, outcome: Outcome) -> None:
    result = evaluate_eligibility(entry(ymrs_total=ymrs))
    assert result.outcome is outcome
    if outcome is Outcome.NOT_ELIGIBLE:
        assert "current (hypo)mania" in result.findings[0].message


def test_prescriber_reason_turns_high_ymrs_into_a_caution() -> None:
    result = evaluate_eligibility(entry(ymrs_total=13, ymrs_override_reason="irritability from "
                                        "akathisia, not hypomania"))
    assert result.outcome is Outcome.ELIGIBLE_WITH_CAUTIONS
    assert "reason to proceed" in result.findings[0].message
    blank = evaluate_eligibility(entry(ymrs_total=13, ymrs_override_reason="  "))
    assert blank.outcome is Outcome.NOT_ELIGIBLE


def test_ymrs_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0 to 60"):
        entry(ymrs_total=61)


def test_pregnancy_statuses() -> None:
    assert evaluate_eligibility(entry(pregnancy=PregnancyStatus.PREGNANT)).outcome is (
        Outcome.NOT_ELIGIBLE)
    assert evaluate_eligibility(entry(pregnancy=PregnancyStatus.BREASTFEEDING)).outcome is (
        Outcome.ELIGIBLE_WITH_CAUTIONS)
    no_date = evaluate_eligibility(entry(pregnancy=PregnancyStatus.NEGATIVE_TEST))
    assert no_date.outcome is Outcome.INCOMPLETE
    assert [m.key for m in no_date.unanswered] == ["pregnancy_test_on"]
    dated = evaluate_eligibility(entry(pregnancy=PregnancyStatus.NEGATIVE_TEST,
                                       pregnancy_test_on=date(2026, 1, 2)))
    assert dated.outcome is Outcome.ELIGIBLE


def test_not_meeting_resistance_is_a_caution_and_unknown_is_nothing() -> None:
    assert evaluate_eligibility(entry(resistance_meets=False)).outcome is (
        Outcome.ELIGIBLE_WITH_CAUTIONS)
    assert evaluate_eligibility(entry(resistance_meets=True)).outcome is Outcome.ELIGIBLE
    assert evaluate_eligibility(entry(resistance_meets=None)).outcome is Outcome.ELIGIBLE


def test_contraindication_outranks_cautions() -> None:
    answers = clear_answers() | {"psychosis_history": Answer.YES, "hypersensitivity": Answer.YES}
    result = evaluate_eligibility(entry(answers=answers))
    assert result.outcome is Outcome.NOT_ELIGIBLE
    assert {f.kind for f in result.findings} == {FindingKind.CAUTION, FindingKind.CONTRAINDICATION}


def test_outcome_flags() -> None:
    assert Outcome.ELIGIBLE.allows_course and Outcome.ELIGIBLE_WITH_CAUTIONS.allows_course
    assert not Outcome.NOT_ELIGIBLE.allows_course and not Outcome.INCOMPLETE.allows_course
    assert Outcome.ELIGIBLE_WITH_CAUTIONS.label == "eligible with cautions"
