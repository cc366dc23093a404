"""ISBD 2025 treatment resistance: hand-worked trials against the adequacy table."""

from __future__ import annotations

import pytest

from ketaflow.clinical.resistance import (
    ADEQUACY_TABLE,
    SOURCE_EARLIER,
    SOURCE_ISBD_2025,
    BipolarType,
    TrialInput,
    TrialResponse,
    evaluate_resistance,
    evaluate_trial,
    normalise_drug,
)

BP1, BP2 = BipolarType.BIPOLAR_I, BipolarType.BIPOLAR_II


def trial(*drugs: tuple[str, float], weeks: float = 8, adherent: bool = True,
          response: TrialResponse = TrialResponse.NONE, level: float | None = None) -> TrialInput:
    return TrialInput(drugs, weeks, adherent, response, level)


def test_adequate_quetiapine_counts_with_its_reason() -> None:
    result = evaluate_trial(BP1, trial(("quetiapine", 400), weeks=8))
    assert result.counts
    assert result.reasons == (
        "counts: quetiapine adequately dosed for >= 8 weeks, adherence verified, no response",)
    assert result.source == SOURCE_ISBD_2025
    assert result.regimen is not None and result.regimen.name == "quetiapine"


def test_dose_below_range_names_the_range() -> None:
    result = evaluate_trial(BP1, trial(("quetiapine", 200)))
    assert not result.counts
    assert result.reasons == ("quetiapine 200 mg/d is below the adequate 300-600 mg/d",)


@pytest.mark.parametrize(("dose", "counts"), [(299, False), (300, True), (600, True)])
def test_quetiapine_dose_edges(dose: float, counts: bool) -> None:
    assert evaluate_trial(BP1, trial(("quetiapine", dose))).counts is counts


def test_dose_above_range_still_counts_and_says_so() -> None:
    result = evaluate_trial(BP1, trial(("quetiapine", 800)))
    assert result.counts
    assert "quetiapine 800 mg/d is above the labelled 300-600 mg/d" in result.reasons[0]
    assert "counted as adequately dosed" in result.reasons[0]


@pytest.mark.parametrize(("drug", "dose", "min_weeks"), [
    ("quetiapine", 300, 8), ("lurasidone", 20, 6), ("cariprazine", 1.5, 6),
    ("lumateperone", 42, 6),
])
def test_duration_edges(drug: str, dose: float, min_weeks: float) -> None:
    assert evaluate_trial(BP1, trial((drug, dose), weeks=min_weeks)).counts
    short = evaluate_trial(BP1, trial((drug, dose), weeks=min_weeks - 0.5))
    assert not short.counts
    assert short.reasons[0] == (
        f"{min_weeks - 0.5:g} weeks < {min_weeks:g} weeks required for {drug}")


def test_six_weeks_of_quetiapine_is_too_short() -> None:
    result = evaluate_trial(BP1, trial(("quetiapine", 400), weeks=6))
    assert result.reasons == ("6 weeks < 8 weeks required for quetiapine",)


def test_cariprazine_and_lumateperone_dose_edges() -> None:
    assert not evaluate_trial(BP1, trial(("cariprazine", 1.4), weeks=6)).counts
    assert evaluate_trial(BP1, trial(("cariprazine", 3), weeks=6)).counts
    low = evaluate_trial(BP1, trial(("lumateperone", 21), weeks=6))
    assert low.reasons == ("lumateperone 21 mg/d is below the adequate 42 mg/d",)


def test_olanzapine_fluoxetine_is_one_regimen_of_two_drugs() -> None:
    ok = evaluate_trial(BP1, trial(("olanzapine", 6), ("fluoxetine", 25), weeks=8))
    assert ok.counts
    assert ok.regimen is not None and ok.regimen.name == "olanzapine + fluoxetine"
    low = evaluate_trial(BP1, trial(("olanzapine", 5), ("fluoxetine", 20), weeks=8))
    assert low.reasons == (
        "olanzapine 5 mg/d is below the adequate 6-12 mg/d",
        "fluoxetine 20 mg/d is below the adequate 25-75 mg/d",
    )


def test_olanzapine_alone_is_history_and_points_to_the_combination() -> None:
    result = evaluate_trial(BP1, trial(("olanzapine", 10), weeks=12))
    assert not result.counts and result.history_only
    assert result.reasons[0].startswith("olanzapine is not an approved treatment")
    assert result.reasons[1] == (
        "the approved regimen is olanzapine + fluoxetine (all its drugs together)")


@pytest.mark.parametrize("drug", ["lurasidone", "cariprazine"])
def test_bipolar_i_only_regimens_are_refused_for_bipolar_ii(drug: str) -> None:
    result = evaluate_trial(BP2, trial((drug, 3 if drug == "cariprazine" else 60), weeks=10))
    assert not result.counts
    assert result.reasons == (
        f"{drug} is not approved for bipolar II depression (ISBD 2025 adequacy table)",)


def test_combination_is_bipolar_i_only() -> None:
    result = evaluate_trial(BP2, trial(("olanzapine", 6), ("fluoxetine", 25), weeks=8))
    assert result.reasons == (
        "olanzapine + fluoxetine is not approved for bipolar II depression "
        "(ISBD 2025 adequacy table)",)


def test_bipolar_ii_table_is_quetiapine_and_lumateperone() -> None:
    approved = {r.name for r in ADEQUACY_TABLE if BP2 in r.bipolar_types}
    assert approved == {"quetiapine", "lumateperone"}
    assert evaluate_trial(BP2, trial(("lumateperone", 42), weeks=6)).counts


def test_adherence_and_response_reasons() -> None:
    result = evaluate_trial(BP1, trial(("quetiapine", 400), adherent=False,
                                       response=TrialResponse.REMISSION))
    assert result.reasons == ("adherence not verified",
                              "responded (remission): not a failed trial")
    responded = evaluate_trial(BP1, trial(("quetiapine", 400), response=TrialResponse.RESPONSE))
    assert responded.reasons == ("responded (response): not a failed trial",)


def test_partial_response_counts_and_intolerance_does_not() -> None:
    partial = evaluate_trial(BP1, trial(("quetiapine", 400), response=TrialResponse.PARTIAL))
    assert partial.counts and "partial response only" in partial.reasons[0]
    intolerant = evaluate_trial(BP1, trial(("quetiapine", 400),
                                           response=TrialResponse.NOT_TOLERATED))
    assert not intolerant.counts
    assert intolerant.reasons == (
        "not tolerated: intolerance is not non-response, so the trial does not count",)


def test_lithium_is_history_with_the_earlier_definition() -> None:
    met = evaluate_trial(BP1, trial(("lithium", 900), weeks=6, level=0.8))
    assert not met.counts and met.source == SOURCE_EARLIER
    assert met.reasons[1] == (
        "lithium 0.8 mmol/L would have met the earlier lithium >= 0.8 mmol/L for 6 weeks "
        "definition; it does not count toward ISBD 2025")
    low = evaluate_trial(BP1, trial(("lithium", 600), weeks=6, level=0.7))
    assert "would not have met" in low.reasons[1]
    short = evaluate_trial(BP1, trial(("lithium", 900), weeks=5, level=1.0))
    assert "would not have met" in short.reasons[1]
    unknown = evaluate_trial(BP1, trial(("Lithium carbonate", 900), weeks=8))
    assert "no lithium level recorded" in unknown.reasons[1]


def test_background_drug_does_not_hide_an_approved_regimen() -> None:
    result = evaluate_trial(BP1, trial(("quetiapine", 300), ("lithium", 800)))
    assert result.counts
    assert result.reasons[0].startswith("lithium treated as background")


def test_brand_names_and_release_suffixes_are_normalised() -> None:
    assert normalise_drug("  Seroquel XR ") == "quetiapine"
    assert normalise_drug("VRAYLAR") == "cariprazine"
    assert evaluate_trial(BP1, trial(("Latuda", 40), weeks=6)).counts


def test_two_different_adequate_failures_meet_the_definition() -> None:
    result = evaluate_resistance(BP1, [
        trial(("quetiapine", 400), weeks=8),
        trial(("lurasidone", 80), weeks=6, response=TrialResponse.PARTIAL),
    ])
    assert result.meets and result.adequate_failed_count == 2
    assert result.verdict.startswith("meets the ISBD 2025 definition")
    assert "2 of 2" in result.verdict


def test_one_adequate_failure_does_not_meet() -> None:
    result = evaluate_resistance(BP1, [trial(("quetiapine", 400)), trial(("quetiapine", 200))])
    assert not result.meets
    assert result.verdict.startswith("does not meet") and "1 of 2" in result.verdict


def test_same_regimen_twice_counts_once() -> None:
    result = evaluate_resistance(BP2, [trial(("quetiapine", 400)), trial(("quetiapine", 600))])
    assert result.adequate_failed_count == 1 and not result.meets
    second = result.trials[1]
    assert not second.counts
    assert second.reasons == (
        "same regimen as trial 1: the definition asks for two different treatments, "
        "so it counts once",)


def test_no_trials_does_not_meet() -> None:
    result = evaluate_resistance(BP1, [])
    assert not result.meets and result.adequate_failed_count == 0


def test_required_count_is_configurable_but_positive() -> None:
    assert evaluate_resistance(BP1, [trial(("quetiapine", 400))], required_count=1).meets
    with pytest.raises(ValueError, match="required_count"):
        evaluate_resistance(BP1, [], required_count=0)


@pytest.mark.parametrize("kwargs", [
    {"drugs": ()},
    {"drugs": (("", 10.0),)},
    {"drugs": (("quetiapine", 0.0),)},
    {"drugs": (("quetiapine", float("nan")),)},
    {"duration_weeks": -1.0},
    {"serum_level_mmol_per_l": -0.1},
])
def test_invalid_trials_are_refused(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"drugs": (("quetiapine", 400.0),), "duration_weeks": 8.0,
                               "adherence_verified": True, "response": TrialResponse.NONE}
    with pytest.raises(ValueError):
        TrialInput(**(base | kwargs))  # type: ignore[arg-type]
