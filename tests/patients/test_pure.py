"""Pure rules: unit conversion and ranges, ICD-10-CM derivation, the drug catalogue."""

from __future__ import annotations

import math

import pytest

from ketaflow.patients import medication_catalogue as cat
from ketaflow.patients import units
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity, icd10_code
from ketaflow.patients.medication_catalogue import DoseUnit, DrugClass, Interaction

BP1, BP2 = BipolarType.BIPOLAR_I, BipolarType.BIPOLAR_II


# ------------------------------------------------------------------ units


def test_pounds_and_inches_convert_by_exact_definitions() -> None:
    assert units.KG_PER_LB == 0.45359237 and units.CM_PER_IN == 2.54
    assert units.weight_to_kg(100, "lb").value == 45.359237
    assert units.weight_to_kg(150, "LB").value == 150 * 0.45359237
    assert units.height_to_cm(70, "in").value == 177.8
    converted = units.weight_to_kg(154.3, "lb")
    assert (converted.entered_value, converted.entered_unit) == (154.3, "lb")


def test_kilograms_and_centimetres_are_stored_as_entered() -> None:
    kg = units.weight_to_kg(72.5, "kg")
    assert (kg.value, kg.entered_value, kg.entered_unit) == (72.5, 72.5, "kg")
    cm = units.height_to_cm(168, " cm ")
    assert (cm.value, cm.entered_unit) == (168, "cm")


@pytest.mark.parametrize("unit", [None, "", "  "])
def test_missing_unit_is_refused(unit: str | None) -> None:
    with pytest.raises(units.MeasurementError, match=r"state the unit \(kg\|lb\)") as err:
        units.weight_to_kg(70, unit)
    assert err.value.field == "weight_unit"
    with pytest.raises(units.MeasurementError, match=r"cm\|in") as err:
        units.height_to_cm(170, unit)
    assert err.value.field == "height_unit"


@pytest.mark.parametrize("unit", ["stone", "g", "lbs", "pounds"])
def test_unknown_weight_unit_is_refused(unit: str) -> None:
    with pytest.raises(units.MeasurementError, match=r"unknown unit: use kg\|lb"):
        units.weight_to_kg(70, unit)


@pytest.mark.parametrize("unit", ["m", "ft", "mm", "inch"])
def test_unknown_height_unit_is_refused(unit: str) -> None:
    with pytest.raises(units.MeasurementError, match="unknown unit"):
        units.height_to_cm(170, unit)


@pytest.mark.parametrize(
    ("value", "unit"),
    [(19.99, "kg"), (350.01, "kg"), (44, "lb"), (772, "lb"), (math.nan, "kg"), (math.inf, "kg")],
)
def test_weight_outside_human_range_is_refused(value: float, unit: str) -> None:
    with pytest.raises(units.MeasurementError, match="weight must be between 20 and 350 kg") as e:
        units.weight_to_kg(value, unit)
    assert e.value.field == "weight"


@pytest.mark.parametrize("value", [20.0, 350.0])
def test_weight_limits_are_inclusive(value: float) -> None:
    assert units.weight_to_kg(value, "kg").value == value


@pytest.mark.parametrize(("value", "unit"), [(99.9, "cm"), (250.1, "cm"), (39, "in"), (99, "in")])
def test_height_outside_human_range_is_refused(value: float, unit: str) -> None:
    with pytest.raises(units.MeasurementError, match="height must be between 100 and 250 cm"):
        units.height_to_cm(value, unit)


def test_bmi() -> None:
    assert units.bmi(80, 200) == pytest.approx(20.0)


# ------------------------------------------------------------------ ICD-10-CM


@pytest.mark.parametrize(
    ("episode", "severity", "code"),
    [
        (Episode.DEPRESSED, None, "F31.30"),
        (Episode.DEPRESSED, Severity.MILD, "F31.31"),
        (Episode.DEPRESSED, Severity.MODERATE, "F31.32"),
        (Episode.DEPRESSED, Severity.SEVERE, "F31.4"),
        (Episode.DEPRESSED, Severity.SEVERE_PSYCHOTIC, "F31.5"),
        (Episode.MANIC, None, "F31.10"),
        (Episode.MANIC, Severity.MILD, "F31.11"),
        (Episode.MANIC, Severity.MODERATE, "F31.12"),
        (Episode.MANIC, Severity.SEVERE, "F31.13"),
        (Episode.MANIC, Severity.SEVERE_PSYCHOTIC, "F31.2"),
        (Episode.MIXED, None, "F31.60"),
        (Episode.MIXED, Severity.MILD, "F31.61"),
        (Episode.MIXED, Severity.MODERATE, "F31.62"),
        (Episode.MIXED, Severity.SEVERE, "F31.63"),
        (Episode.MIXED, Severity.SEVERE_PSYCHOTIC, "F31.64"),
        (Episode.HYPOMANIC, None, "F31.0"),
        (Episode.EUTHYMIC, None, "F31.70"),
    ],
)
def test_bipolar_i_codes(episode: Episode, severity: Severity | None, code: str) -> None:
    assert icd10_code(BP1, episode, severity) == code


@pytest.mark.parametrize(
    ("episode", "severity"),
    [
        (Episode.DEPRESSED, None),
        (Episode.DEPRESSED, Severity.MILD),
        (Episode.DEPRESSED, Severity.SEVERE_PSYCHOTIC),
        (Episode.MIXED, Severity.MODERATE),
        (Episode.HYPOMANIC, None),
        (Episode.EUTHYMIC, None),
    ],
)
def test_bipolar_ii_is_always_f31_81(episode: Episode, severity: Severity | None) -> None:
    assert icd10_code(BP2, episode, severity) == "F31.81"


@pytest.mark.parametrize("episode", [Episode.HYPOMANIC, Episode.EUTHYMIC])
@pytest.mark.parametrize("bipolar_type", list(BipolarType))
def test_severity_for_an_episode_without_one_is_refused(
    episode: Episode, bipolar_type: BipolarType
) -> None:
    with pytest.raises(ValueError, match="has no severity"):
        icd10_code(bipolar_type, episode, Severity.MILD)


def test_bipolar_ii_with_a_manic_episode_is_refused() -> None:
    with pytest.raises(ValueError, match="manic episode means bipolar I"):
        icd10_code(BP2, Episode.MANIC, None)


# ------------------------------------------------------------------ catalogue


@pytest.mark.parametrize(
    ("drug", "equivalent_to_10_mg_diazepam"),
    [
        ("diazepam", 10),
        ("alprazolam", 0.5),
        ("clonazepam", 0.5),
        ("lorazepam", 1),
        ("oxazepam", 20),
        ("temazepam", 20),
        ("chlordiazepoxide", 25),
        ("nitrazepam", 10),
        ("clobazam", 20),
    ],
)
def test_ashton_equivalents(drug: str, equivalent_to_10_mg_diazepam: float) -> None:
    dose = equivalent_to_10_mg_diazepam
    assert cat.diazepam_equivalent_mg_per_day(drug, dose, DoseUnit.MG_PER_DAY) == pytest.approx(10)
    assert "Ashton CH" in cat.BENZODIAZEPINE_SOURCE and "2002" in cat.BENZODIAZEPINE_SOURCE


def test_lorazepam_2_mg_is_20_mg_diazepam_and_brand_names_resolve() -> None:
    assert cat.diazepam_equivalent_mg_per_day("Ativan", 2, DoseUnit.MG_PER_DAY) == 20
    assert cat.diazepam_equivalent_mg_per_day(" LORAZEPAM ", 2000, DoseUnit.MCG_PER_DAY) == 20


def test_no_equivalent_for_non_benzodiazepines_or_non_daily_units() -> None:
    assert cat.diazepam_equivalent_mg_per_day("quetiapine", 300, DoseUnit.MG_PER_DAY) is None
    assert cat.diazepam_equivalent_mg_per_day("diazepam", 70, DoseUnit.MG_PER_WEEK) is None
    assert cat.diazepam_equivalent_mg_per_day("unheard-of", 1, DoseUnit.MG_PER_DAY) is None


def test_benzodiazepine_load_totals_and_flags_strictly_above_8() -> None:
    at_limit = cat.benzodiazepine_load(
        [("diazepam", 3, DoseUnit.MG_PER_DAY), ("alprazolam", 0.25, DoseUnit.MG_PER_DAY)]
    )
    assert at_limit.total_diazepam_mg_per_day == pytest.approx(8) and not at_limit.flagged
    over = cat.benzodiazepine_load(
        [("clonazepam", 0.5, DoseUnit.MG_PER_DAY), ("temazepam", 10, DoseUnit.MG_PER_DAY)]
    )
    assert over.total_diazepam_mg_per_day == pytest.approx(15) and over.flagged
    assert over.flag_text.startswith("linked to a weaker ketamine response in one retrospective "
                                     "study of unipolar depression (Andrashko et al.")
    assert "n = 47" in over.flag_text and "not a label threshold" in over.flag_text
    assert "Ketalar" not in over.flag_source and "2020;11:844" in over.flag_source
    odd = cat.benzodiazepine_load([("mystery-pam", 1, DoseUnit.MG_PER_DAY)])
    assert odd.unconverted == ("mystery-pam",) and odd.total_diazepam_mg_per_day == 0


def test_lookup_classes_and_aliases() -> None:
    assert cat.lookup("Seroquel").name == "quetiapine"  # type: ignore[union-attr]
    assert cat.lookup("lithium carbonate").drug_class is DrugClass.MOOD_STABILISER  # type: ignore[union-attr]
    assert cat.lookup("St John\u2019s  Wort").name == "st john's wort"  # type: ignore[union-attr]
    assert cat.lookup("aspirin") is None


def test_interaction_notes_most_severe_first_with_triggering_drugs_and_sources() -> None:
    notes = cat.interaction_notes(
        ["lamotrigine", "Ativan", "theophylline", "clarithromycin", "aspirin", "lorazepam"]
    )
    kinds = [note.kind for note, _ in notes]
    # Theophylline is a caution since issue 11 (Ketalar USPI 7.1), so cautions keep catalogue
    # order and no note is "avoid".
    assert kinds == [
        Interaction.BENZODIAZEPINE,
        Interaction.CYP_INHIBITOR,
        Interaction.THEOPHYLLINE,
        Interaction.LAMOTRIGINE,
    ]
    assert notes[0][1] == ["lorazepam"]
    assert notes[2][0].severity == "caution"
    assert "may lower the seizure threshold: consider an alternative" in notes[2][0].text
    assert "7.1" in notes[2][0].source
    assert all(note.source for note, _ in notes)
    assert "effect on antidepressant response is unknown" in notes[3][0].text


@pytest.mark.parametrize(
    ("drug", "kind"),
    [
        ("carbamazepine", Interaction.CYP_INDUCER),
        ("rifampicin", Interaction.CYP_INDUCER),
        ("st john's wort", Interaction.CYP_INDUCER),
        ("ketoconazole", Interaction.CYP_INHIBITOR),
        ("ticlopidine", Interaction.CYP_INHIBITOR),
        ("methylphenidate", Interaction.SYMPATHOMIMETIC),
        ("phenelzine", Interaction.MAOI),
        ("aminophylline", Interaction.THEOPHYLLINE),
        ("oxycodone", Interaction.CNS_DEPRESSANT),
    ],
)
def test_interaction_classes(drug: str, kind: Interaction) -> None:
    assert [note.kind for note, _ in cat.interaction_notes([drug])] == [kind]


# Issue 11, item 8: Z-drugs in the load. Ashton: zolpidem 20 mg and zopiclone 15 mg ~ diazepam
# 10 mg (zolpidem 10 ~ zopiclone 7.5 ~ diazepam 5); eszopiclone and zaleplon: no cited
# equivalent, so listed as not converted.
@pytest.mark.parametrize(("drug", "mg_per_day", "diazepam_mg_per_day"), [
    ("zolpidem", 10, 5.0),          # 10 x 10/20
    ("Ambien", 5, 2.5),             # 5 x 10/20
    ("zopiclone", 7.5, 5.0),        # 7.5 x 10/15
    ("Imovane", 3.75, 2.5),         # 3.75 x 10/15
])
def test_z_drug_equivalents(drug: str, mg_per_day: float, diazepam_mg_per_day: float) -> None:
    assert cat.diazepam_equivalent_mg_per_day(drug, mg_per_day, DoseUnit.MG_PER_DAY) == (
        pytest.approx(diazepam_mg_per_day))


def test_z_drugs_count_in_the_load_by_hand() -> None:
    # lorazepam 0.5 mg = 5 mg, zolpidem 10 mg = 5 mg, zopiclone 3.75 mg = 2.5 mg: 12.5 > 8.
    load = cat.benzodiazepine_load([
        ("lorazepam", 0.5, DoseUnit.MG_PER_DAY), ("zolpidem", 10, DoseUnit.MG_PER_DAY),
        ("zopiclone", 3.75, DoseUnit.MG_PER_DAY), ("eszopiclone", 3, DoseUnit.MG_PER_DAY),
        ("Sonata", 10, DoseUnit.MG_PER_DAY)])
    assert load.total_diazepam_mg_per_day == pytest.approx(12.5) and load.flagged
    assert load.unconverted == ("eszopiclone", "sonata")
    # zolpidem 10 mg + zopiclone 3.75 mg = 7.5 mg: not above 8.
    assert not cat.benzodiazepine_load([("zolpidem", 10, DoseUnit.MG_PER_DAY),
                                        ("zopiclone", 3.75, DoseUnit.MG_PER_DAY)]).flagged


def test_z_drugs_are_filed_as_other_but_count_toward_the_load() -> None:
    for name in ("zolpidem", "zopiclone", "eszopiclone", "zaleplon"):
        drug = cat.lookup(name)
        assert drug is not None and drug.drug_class is DrugClass.OTHER and drug.counts_toward_load
    assert "zolpidem 10 mg ~ zopiclone 7.5 mg ~ diazepam 5 mg" in cat.BENZODIAZEPINE_SOURCE


def test_snomed_concept_per_bipolar_type() -> None:
    """Issue 11, item 5: 371596008 bipolar I, 83225003 bipolar II; 13746004 only generic."""
    from ketaflow.patients.diagnosis_codes import SNOMED_BIPOLAR_DISORDER, snomed_code
    assert snomed_code(BipolarType.BIPOLAR_I) == "371596008"
    assert snomed_code(BipolarType.BIPOLAR_II) == "83225003"
    assert SNOMED_BIPOLAR_DISORDER == "13746004"
