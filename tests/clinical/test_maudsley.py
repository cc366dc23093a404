"""Maudsley Staging Method: parameter levels, band edges and validation (Fekadu 2009)."""

from __future__ import annotations

import pytest

from ketaflow.clinical.maudsley import (
    UNIPOLAR_NOTE,
    MaudsleyBand,
    MaudsleyInput,
    Severity,
    band_for,
    duration_points,
    score_maudsley,
    treatment_failure_points,
)


@pytest.mark.parametrize(("months", "points"), [(0, 1), (12, 1), (13, 2), (24, 2), (25, 3)])
def test_duration_edges(months: int, points: int) -> None:
    assert duration_points(months) == points


@pytest.mark.parametrize(("failures", "points"), [
    (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4), (10, 4), (11, 5), (40, 5),
])
def test_treatment_failure_edges(failures: int, points: int) -> None:
    assert treatment_failure_points(failures) == points


@pytest.mark.parametrize(("total", "band"), [
    (3, MaudsleyBand.MILD), (6, MaudsleyBand.MILD), (7, MaudsleyBand.MODERATE),
    (10, MaudsleyBand.MODERATE), (11, MaudsleyBand.SEVERE), (15, MaudsleyBand.SEVERE),
])
def test_band_edges(total: int, band: MaudsleyBand) -> None:
    assert band_for(total) is band


@pytest.mark.parametrize("total", [2, 16])
def test_band_outside_range_is_refused(total: int) -> None:
    with pytest.raises(ValueError, match="3-15"):
        band_for(total)


def test_lowest_and_highest_possible_scores() -> None:
    low = score_maudsley(MaudsleyInput(6, Severity.SUBSYNDROMAL, 1, False, False))
    assert (low.total, low.band) == (3, MaudsleyBand.MILD)
    high = score_maudsley(MaudsleyInput(36, Severity.SEVERE_WITH_PSYCHOSIS, 11, True, True))
    assert (high.total, high.band) == (15, MaudsleyBand.SEVERE)


def test_hand_worked_moderate_case() -> None:
    # 18 months (2) + moderate (3) + 3 antidepressants (2) + augmentation (1) + no ECT (0) = 8
    score = score_maudsley(MaudsleyInput(18, Severity.MODERATE, 3, True, False))
    assert (score.duration_points, score.severity_points, score.treatment_failure_points,
            score.augmentation_points, score.ect_points) == (2, 3, 2, 1, 0)
    assert score.total == 8 and score.band is MaudsleyBand.MODERATE
    assert "unipolar" in score.note and score.note == UNIPOLAR_NOTE
    assert "Fekadu" in score.source


def test_hand_worked_band_boundary_6_and_7() -> None:
    # 12 months (1) + mild (2) + 4 failures (2) + augmentation (1) = 6 -> mild
    six = score_maudsley(MaudsleyInput(12, Severity.MILD, 4, True, False))
    assert (six.total, six.band) == (6, MaudsleyBand.MILD)
    # one more month moves duration to sub-acute: 7 -> moderate
    seven = score_maudsley(MaudsleyInput(13, Severity.MILD, 4, True, False))
    assert (seven.total, seven.band) == (7, MaudsleyBand.MODERATE)


def test_hand_worked_band_boundary_10_and_11() -> None:
    # 25 months (3) + severe without psychosis (4) + 3 failures (2) + ECT (1) = 10 -> moderate
    ten = score_maudsley(MaudsleyInput(25, Severity.SEVERE_WITHOUT_PSYCHOSIS, 3, False, True))
    assert (ten.total, ten.band) == (10, MaudsleyBand.MODERATE)
    eleven = score_maudsley(MaudsleyInput(25, Severity.SEVERE_WITHOUT_PSYCHOSIS, 3, True, True))
    assert (eleven.total, eleven.band) == (11, MaudsleyBand.SEVERE)


@pytest.mark.parametrize(("months", "failures"), [(-1, 1), (1201, 1), (6, 0), (6, 101)])
def test_out_of_range_inputs_are_refused(months: int, failures: int) -> None:
    with pytest.raises(ValueError, match="whole number"):
        MaudsleyInput(months, Severity.MILD, failures, False, False)


def test_bool_and_text_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        MaudsleyInput(True, Severity.MILD, 1, False, False)
    with pytest.raises(ValueError, match="severity"):
        MaudsleyInput(6, "mild", 1, False, False)  # type: ignore[arg-type]
