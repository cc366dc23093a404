"""One list of drug names for the catalogue and the resistance rules (issue 11, item 6):
olanzapine/fluoxetine counts under each of its names."""

from __future__ import annotations

import pytest

from ketaflow.clinical import drug_names
from ketaflow.clinical.resistance import (
    BipolarType,
    TrialInput,
    TrialResponse,
    evaluate_resistance,
    evaluate_trial,
)
from ketaflow.patients import medication_catalogue as cat

OFC_NAMES = ["Symbyax", "SYMBYAX", "olanzapine/fluoxetine", "Olanzapine / Fluoxetine",
             "olanzapine-fluoxetine", "olanzapine - fluoxetine", "olanzapine+fluoxetine",
             "olanzapine + fluoxetine", "olanzapine fluoxetine", "olanzapine and fluoxetine",
             "olanzapine/fluoxetine combination", "OFC", "fluoxetine/olanzapine",
             "fluoxetine-olanzapine"]


def ofc_trial(name: str, second: str = "fluoxetine") -> TrialInput:
    return TrialInput(((name, 6), (second, 25)), 8, True, TrialResponse.NONE)


@pytest.mark.parametrize("name", OFC_NAMES)
def test_each_name_is_the_combination_in_both_places(name: str) -> None:
    assert drug_names.generic_name(name) == "olanzapine-fluoxetine"
    assert cat.lookup(name) is cat.CATALOGUE["olanzapine-fluoxetine"]


@pytest.mark.parametrize("name", OFC_NAMES)
def test_each_name_counts_as_the_approved_regimen(name: str) -> None:
    result = evaluate_trial(BipolarType.BIPOLAR_I, ofc_trial(name))
    assert result.counts, result.reasons
    assert result.regimen is not None and result.regimen.name == "olanzapine + fluoxetine"
    assert result.trial.doses == {"olanzapine": 6, "fluoxetine": 25}


@pytest.mark.parametrize("second", ["fluoxetine", "Prozac", "Symbyax", ""])
def test_the_second_dose_is_fluoxetine_whatever_it_was_filed_under(second: str) -> None:
    assert evaluate_trial(BipolarType.BIPOLAR_I, ofc_trial("Symbyax", second)).counts


def test_two_symbyax_trials_and_a_quetiapine_trial_meet_the_definition() -> None:
    trials = [ofc_trial("Symbyax"), TrialInput((("seroquel xr", 400),), 8, True,
                                               TrialResponse.PARTIAL)]
    assert evaluate_resistance(BipolarType.BIPOLAR_I, trials).meets


def test_a_combination_with_one_dose_says_which_dose_is_missing() -> None:
    result = evaluate_trial(BipolarType.BIPOLAR_I,
                            TrialInput((("Symbyax", 6),), 8, True, TrialResponse.NONE))
    assert not result.counts and result.history_only
    assert result.reasons[-1] == ("olanzapine-fluoxetine was recorded with one dose, taken as "
                                  "the olanzapine dose: record the fluoxetine dose as the "
                                  "second drug's dose")


def test_combination_is_still_bipolar_i_only() -> None:
    result = evaluate_trial(BipolarType.BIPOLAR_II, ofc_trial("OFC"))
    assert not result.counts
    assert "not approved for bipolar II depression" in result.reasons[0]


def test_catalogue_aliases_are_the_shared_list() -> None:
    for drug in cat.CATALOGUE.values():
        assert drug.aliases == drug_names.ALIASES[drug.name]
    assert set(cat.CATALOGUE) <= set(drug_names.ALIASES)
    for combination, components in drug_names.COMBINATIONS.items():
        assert combination in cat.CATALOGUE
        assert all(c in cat.CATALOGUE for c in components)


def test_unknown_names_pass_through_normalised() -> None:
    assert drug_names.generic_name("aspirin") is None
    assert drug_names.generic_or_typed("  Aspirin  XR ") == "aspirin"
    assert drug_names.generic_or_typed("Seroquel XR") == "quetiapine"
