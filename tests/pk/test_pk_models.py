"""Model registry: exact published values, recorded facts and visible doubts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ketaflow.pk import (
    BASE_PER_HYDROCHLORIDE,
    MODELS,
    Covariates,
    Ke0Source,
    PKInputError,
    Salt,
    Sex,
    get_model,
    model_parameters,
    to_base_mg,
)

ADULT = Covariates(weight_kg=70.0, age_years=40.0, height_cm=175.0, sex=Sex.MALE)


def params(model: str, covariates: Covariates = ADULT) -> dict[str, float | None]:
    return model_parameters(model, covariates).describe()


def test_domino_constants_exact() -> None:
    p = params("domino")
    assert p["v1_l"] == pytest.approx(0.063 * 70, rel=1e-15)
    expected = {"k10": 0.4381, "k12": 0.5921, "k13": 0.5900, "k21": 0.2470, "k31": 0.0146}
    for name, value in expected.items():
        assert p[f"{name}_per_min"] == pytest.approx(value, rel=1e-14)
    assert p["ke0_per_min"] == 0.652


@pytest.mark.parametrize(
    ("model", "v1_per_kg", "k10", "k12", "k21", "ke0"),
    [
        ("clements", 1.7522, 0.0109, 0.0186, 0.0137, 5.2),
        ("hijazi", 1.08, 0.0333, 0.0088, 0.0030, 4.773),
    ],
)
def test_two_compartment_adult_constants_exact(
    model: str, v1_per_kg: float, k10: float, k12: float, k21: float, ke0: float
) -> None:
    p = params(model)
    assert p["v1_l"] == pytest.approx(v1_per_kg * 70, rel=1e-15)
    assert (p["k10_per_min"], p["k12_per_min"], p["k21_per_min"]) == pytest.approx(
        (k10, k12, k21), rel=1e-14
    )
    assert p["ke0_per_min"] == ke0
    assert p["v3_l"] is None


def test_kamp_scales_linearly_with_weight() -> None:
    p = params("kamp", Covariates(weight_kg=35.0, age_years=40.0, height_cm=160.0, sex=Sex.FEMALE))
    assert (p["v1_l"], p["v2_l"], p["v3_l"]) == pytest.approx((12.5, 28.0, 78.5), rel=1e-14)
    per_min = (p["cl_l_per_min"], p["q2_l_per_min"], p["q3_l_per_min"])
    assert per_min == pytest.approx((84 / 120, 161 / 120, 79 / 120), rel=1e-14)


@pytest.mark.parametrize(
    ("model", "v1", "v2", "cl", "q"),
    [
        ("herd", 38.7, 102.0, 90.0, 215.0),
        ("hornik", 32.8, 152.0, 38.9, 54.9),
        ("elkomy", 57.3, 152.0, 60.6, 73.2),
        ("sherwin", 20.5, 220.0, 87.9, 87.3),
    ],
)
def test_allometric_models_exact(model: str, v1: float, v2: float, cl: float, q: float) -> None:
    weight = 28.0
    p = params(model, Covariates(weight_kg=weight, age_years=8.0, height_cm=130.0, sex=Sex.MALE))
    size = weight / 70.0
    assert (p["v1_l"], p["v2_l"]) == pytest.approx((v1 * size, v2 * size), rel=1e-14)
    flows = (cl / 60 * size**0.75, q / 60 * size**0.75)
    assert (p["cl_l_per_min"], p["q2_l_per_min"]) == pytest.approx(flows, rel=1e-14)


def test_herd_variability_as_lognormal_omega() -> None:
    omega = MODELS["herd"].info.omega()
    assert omega["v1"] == pytest.approx(math.sqrt(math.log(1 + 0.64**2)))
    assert omega["cl"] == pytest.approx(math.sqrt(math.log(1 + 0.381**2)))
    assert set(omega) == {"v1", "v2", "cl", "q2"}


def test_ke0_sources_are_never_presented_as_published_when_assumed() -> None:
    sources = {key: model.info.ke0_source for key, model in MODELS.items()}
    assert sources["herd"] is Ke0Source.PUBLISHED  # Herd 2008, t1/2ke0 11 s
    assert params("herd")["ke0_per_min"] == pytest.approx(math.log(2) / (11 / 60))
    for key in ("domino", "clements", "hijazi", "kamp", "hornik"):
        assert sources[key] is Ke0Source.ASSUMED
        assert any("assumed" in w for w in model_parameters(key, ADULT).warnings)
    for key in ("elkomy", "sherwin"):
        assert sources[key] is Ke0Source.NONE
        assert params(key)["ke0_per_min"] is None


def test_reference_doubts_stay_visible() -> None:
    assert any("Hornik clearance" in w for w in model_parameters("hornik", ADULT).warnings)
    assert any("opentiva flags age > 18" in w for w in model_parameters("hijazi", ADULT).warnings)
    assert any("venous delay" in w for w in model_parameters("kamp", ADULT).warnings)


def test_out_of_range_covariates_warn() -> None:
    herd = model_parameters("herd", ADULT).warnings
    assert any("above the source study's 14 years" in w for w in herd)
    child = Covariates(weight_kg=25.0, age_years=7.0, height_cm=120.0, sex=Sex.FEMALE)
    assert not any("source study" in w for w in model_parameters("herd", child).warnings)
    assert any(
        "below the source study's 18 years" in w for w in model_parameters("domino", child).warnings
    )


def test_every_model_records_its_facts() -> None:
    assert set(MODELS) == {
        "domino",
        "clements",
        "hijazi",
        "kamp",
        "herd",
        "hornik",
        "elkomy",
        "sherwin",
    }
    for model in MODELS.values():
        info = model.info
        assert info.citation and info.population and info.sampling_site
        assert info.enantiomer == "racemic"


def test_lookup_is_case_insensitive_and_rejects_unknown() -> None:
    assert get_model("  DoMiNo ").info.key == "domino"
    with pytest.raises(PKInputError) as caught:
        get_model("propofol")
    assert caught.value.field == "model"


def test_salt_conversion_is_explicit() -> None:
    assert to_base_mg(100.0, Salt.BASE) == 100.0
    assert to_base_mg(100.0, Salt.HYDROCHLORIDE) == pytest.approx(100.0 * 237.7 / 274.2)
    assert pytest.approx(0.867, abs=5e-4) == BASE_PER_HYDROCHLORIDE


@pytest.mark.parametrize(
    ("weight", "field"), [(19.9, "weight_kg"), (300.1, "weight_kg"), (math.nan, "weight_kg")]
)
def test_covariates_reject_impossible_weights(weight: float, field: str) -> None:
    with pytest.raises(PKInputError) as caught:
        Covariates(weight_kg=weight, age_years=40.0, height_cm=175.0, sex=Sex.MALE)
    assert caught.value.field == field
    assert "between 20 and 300 kg" in str(caught.value)


def test_model_functions_are_vectorised() -> None:
    weights = np.array([30.0, 70.0, 140.0])
    kinetics = MODELS["kamp"].kinetics_for_weight(weights)
    np.testing.assert_allclose(kinetics.v1_l, 25.0 * weights / 70.0)


def test_hornik_range_is_the_study_range() -> None:
    """Hornik 2018: age 0.02-17.6 years, weight 2.4-176.1 kg (113 children)."""
    hornik = MODELS["hornik"].info.covariate_range
    assert hornik.weight_kg == (2.4, 176.1)
    assert hornik.age_years == (0.02, 17.6)
    teenager = Covariates(weight_kg=176.1, age_years=17.6, height_cm=180.0, sex=Sex.MALE)
    assert not any("source study" in w for w in model_parameters("hornik", teenager).warnings)
    heavy = Covariates(weight_kg=177.0, age_years=17.7, height_cm=180.0, sex=Sex.MALE)
    warnings = model_parameters("hornik", heavy).warnings
    assert any("above the source study's 176.1 kg" in w for w in warnings)
    assert any("above the source study's 17.6 years" in w for w in warnings)


def test_kamp_is_labelled_arterial() -> None:
    info = MODELS["kamp"].info
    assert info.sampling_site.startswith("arterial")
    assert "arterial" in info.name
    assert info.plasma_label == "arterial plasma"
    assert MODELS["domino"].info.plasma_label == "plasma"
    assert any("arterial" in w for w in model_parameters("kamp", ADULT).warnings)


def test_every_citation_points_to_its_entry_in_clinical_sources() -> None:
    for key, model in MODELS.items():
        assert "docs/clinical-sources.md#" in model.info.citation, key
