"""Exact scoring of every instrument on hand-worked cases, band edges, flags and refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ketaflow.scales import (
    DEFAULT_THRESHOLDS,
    INSTRUMENTS,
    Flag,
    RiskLevel,
    ScaleInputError,
    UnknownInstrumentError,
    get_instrument,
    score,
)
from ketaflow.scales.scoring import evaluate_flags

MakeAnswers = Callable[[str, int], list[int]]


def test_phq9_sum_band_and_item9() -> None:
    # 1+2+3+0+1+2+3+0+1 = 13 -> moderate (10-14); item 9 = 1 > 0 -> screen.
    result = score("phq9", [1, 2, 3, 0, 1, 2, 3, 0, 1])
    assert result.total == 13
    assert result.total_range == (0, 27)
    assert result.severity is not None and result.severity.label == "moderate"
    assert (result.severity.low, result.severity.high) == (10, 14)
    assert result.flags == (Flag.SUICIDALITY_ITEM_POSITIVE, Flag.CSSRS_SCREEN_NEEDED,
                            Flag.SUICIDALITY_URGENT)


def test_phq9_item9_zero_raises_no_flag() -> None:
    # 3*8 + 0 = 24 -> severe, but item 9 is 0.
    result = score("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0])
    assert result.total == 24
    assert result.severity is not None and result.severity.label == "severe"
    assert result.flags == ()


def test_gad7_sum_and_band() -> None:
    # 3+3+2+2+1+1+0 = 12 -> moderate (10-14).
    result = score("gad7", [3, 3, 2, 2, 1, 1, 0])
    assert result.total == 12
    assert result.severity is not None and result.severity.label == "moderate"
    assert result.flags == ()


def test_qids_domain_maxima() -> None:
    answers = [
        3, 1, 0, 2,  # sleep items 1-4 -> max 3
        2,  # sad mood -> 2
        0, 1, 2, 0,  # appetite/weight items 6-9 -> max 2
        1, 1, 0, 2, 3,  # concentration 1, self-view 1, suicidal 0, interest 2, energy 3
        1, 2,  # psychomotor 15-16 -> max 2
    ]
    result = score("qids-sr16", answers)
    # Domains: 3 + 2 + 2 + 1 + 1 + 0 + 2 + 3 + 2 = 16 (the plain item sum would be 21).
    assert result.total == 16
    assert sum(answers) == 21
    assert dict(result.subscores) == {
        "sleep": 3, "sad_mood": 2, "appetite_weight": 2, "concentration": 1, "self_view": 1,
        "suicidal_ideation": 0, "interest": 2, "energy": 3, "psychomotor": 2,
    }
    assert result.severity is not None and result.severity.label == "severe"
    assert result.flags == ()


def test_qids_item12_positive() -> None:
    answers = [0] * 16
    answers[11] = 1  # item 12: thoughts of death or suicide
    result = score("qids-sr16", answers)
    assert result.total == 1
    assert Flag.SUICIDALITY_ITEM_POSITIVE in result.flags
    assert Flag.CSSRS_SCREEN_NEEDED in result.flags


def test_madrs_sum_without_flags() -> None:
    # 3+4+2+4+1+3+3+2+2+1 = 25 -> moderate (20-34); item 10 = 1 < 2.
    result = score("madrs", [3, 4, 2, 4, 1, 3, 3, 2, 2, 1])
    assert result.total == 25
    assert result.severity is not None and result.severity.label == "moderate"
    assert result.flags == ()


@pytest.mark.parametrize(
    ("item10", "expected"),
    [
        (1, ()),
        (2, (Flag.SUICIDALITY_ITEM_POSITIVE, Flag.MADRS_ITEM10_SCREEN)),
        (3, (Flag.SUICIDALITY_ITEM_POSITIVE, Flag.MADRS_ITEM10_SCREEN)),
        (4, (Flag.SUICIDALITY_ITEM_POSITIVE, Flag.MADRS_ITEM10_SCREEN,
             Flag.MADRS_ITEM10_SAME_DAY_REVIEW)),
    ],
)
def test_madrs_item10_edges(item10: int, expected: tuple[Flag, ...]) -> None:
    result = score("madrs", [0] * 9 + [item10])
    assert result.flags == expected


def test_ymrs_double_weighted_items() -> None:
    # 0-4 items: 2 + 1 + 0 + 3 + 1 + 1 + 2 = 10; 0-8 items (5, 6, 8, 9): 6 + 4 + 2 + 0 = 12.
    result = score("ymrs", [2, 1, 0, 3, 6, 4, 1, 2, 0, 1, 2])
    assert result.total == 22
    assert result.severity is not None and result.severity.label == "manic"
    assert result.flags == (Flag.POSSIBLE_SWITCH, Flag.PROBABLE_MANIA)


def test_ymrs_item_ranges() -> None:
    assert score("ymrs", [0, 0, 0, 0, 8, 8, 0, 8, 8, 0, 0]).total == 32
    with pytest.raises(ScaleInputError) as caught:
        score("ymrs", [0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0])
    assert str(caught.value) == "ymrs item 4 (sleep) must be an integer 0-4 (got 5)"
    with pytest.raises(ScaleInputError, match=r"ymrs item 5 \(irritability\) .* 0-8 \(got 9\)"):
        score("ymrs", [0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0])


# Issue 11, item 10: the alert words follow the band (Int J Bipolar Disord 2021, table 1):
# 12-20 hypomanic -> possible switch only; >= 21 manic -> probable mania.
@pytest.mark.parametrize(
    ("total", "band", "expected"),
    [
        (11, "none", ()),
        (12, "hypomanic", (Flag.POSSIBLE_SWITCH,)),
        (19, "hypomanic", (Flag.POSSIBLE_SWITCH,)),
        (20, "hypomanic", (Flag.POSSIBLE_SWITCH,)),
        (21, "manic", (Flag.POSSIBLE_SWITCH, Flag.PROBABLE_MANIA)),
        (60, "manic", (Flag.POSSIBLE_SWITCH, Flag.PROBABLE_MANIA)),
    ],
)
def test_ymrs_switch_edges(total: int, band: str, expected: tuple[Flag, ...],
                           make_answers: MakeAnswers) -> None:
    result = score("ymrs", make_answers("ymrs", total))
    assert result.total == total
    assert result.severity is not None and result.severity.label == band
    assert result.flags == expected


def test_ymrs_probable_mania_starts_where_the_manic_band_starts() -> None:
    manic = next(b for b in get_instrument("ymrs").bands if b.label == "manic")
    assert DEFAULT_THRESHOLDS.ymrs_probable_mania_min == manic.low == 21


def test_asrm_cutoff() -> None:
    # 1+2+1+1+1 = 6 -> probable (hypo)mania; 5 stays below.
    result = score("asrm", [1, 2, 1, 1, 1])
    assert result.total == 6
    assert result.severity is not None and result.severity.label == "probable (hypo)mania"
    assert result.flags == (Flag.POSSIBLE_SWITCH,)
    assert score("asrm", [1, 1, 1, 1, 1]).flags == ()


def test_cadss6_and_bprs_positive() -> None:
    # CADSS-6: 1+2+0+1+3+0 = 7, no bands.
    cadss = score("cadss6", [1, 2, 0, 1, 3, 0])
    assert (cadss.total, cadss.severity, cadss.flags) == (7, None, ())
    # BPRS positive items start at 1: 1+2+1+3 = 7, range 4-28.
    bprs = score("bprs-positive", [1, 2, 1, 3])
    assert (bprs.total, bprs.total_range) == (7, (4, 28))
    with pytest.raises(ScaleInputError) as caught:
        score("bprs-positive", [0, 2, 1, 3])
    assert caught.value.item_id == "conceptual_disorganisation"
    assert caught.value.allowed == "an integer 1-7"


def test_aldrete_discharge() -> None:
    # 2+2+1+2+2 = 9 -> criterion met; 2+2+1+2+1 = 8 -> not met.
    assert score("aldrete", [2, 2, 1, 2, 2]).flags == (Flag.DISCHARGE_CRITERION_MET,)
    assert score("aldrete", [2, 2, 1, 2, 1]).flags == (Flag.DISCHARGE_CRITERION_NOT_MET,)


def test_padss_bleeding_scored_two_by_rule() -> None:
    # Four asked items 2+1+2+2 = 7, plus surgical bleeding fixed at 2 -> 9.
    result = score("padss", [2, 1, 2, 2])
    assert result.total == 9
    assert result.answers["surgical_bleeding"] == 2
    assert result.flags == (Flag.DISCHARGE_CRITERION_MET,)
    # Re-scoring the stored answers (which include the fixed item) gives the same result.
    assert score("padss", result.answers) == result
    with pytest.raises(ScaleInputError, match=r"padss item 4 \(surgical_bleeding\) is scored 2"):
        score("padss", {**result.answers, "surgical_bleeding": 1})
    with pytest.raises(ScaleInputError, match="padss expects 4 answers"):
        score("padss", [2, 1, 2, 2, 2])


def test_side_effect_checklist() -> None:
    # Nine symptoms 0+1+2+0+0+3+1+0+1 = 8; tolerability 7 is reported apart from the total.
    result = score("side-effects", [0, 1, 2, 0, 0, 3, 1, 0, 1, 7])
    assert result.total == 8
    assert dict(result.subscores) == {"tolerability": 7}
    assert result.flags == (Flag.SEVERE_SIDE_EFFECT,)
    assert score("side-effects", [0] * 9 + [10]).flags == ()
    with pytest.raises(ScaleInputError, match=r"item 10 \(tolerability\) .* 0-10 \(got 11\)"):
        score("side-effects", [0] * 9 + [11])


# --- band edges ---------------------------------------------------------------------------------

BAND_EDGES = [
    (instrument.id, band.label, total)
    for instrument in INSTRUMENTS.values()
    for band in instrument.bands
    for total in sorted({band.low, band.high})
]


@pytest.mark.parametrize(("instrument_id", "label", "total"), BAND_EDGES)
def test_every_band_edge(instrument_id: str, label: str, total: int,
                         make_answers: MakeAnswers) -> None:
    result = score(instrument_id, make_answers(instrument_id, total))
    assert result.total == total
    assert result.severity is not None and result.severity.label == label


def test_band_edges_cover_the_reference_table() -> None:
    # Spot-check the edges against the clinical reference, section 4.
    def bands(instrument_id: str) -> list[tuple[int, int]]:
        return [(b.low, b.high) for b in get_instrument(instrument_id).bands]

    assert bands("phq9") == [(0, 4), (5, 9), (10, 14), (15, 19), (20, 27)]
    assert bands("gad7") == [(0, 4), (5, 9), (10, 14), (15, 21)]
    assert bands("qids-sr16") == [(0, 5), (6, 10), (11, 15), (16, 20), (21, 27)]
    assert bands("madrs") == [(0, 6), (7, 19), (20, 34), (35, 60)]
    assert bands("ymrs") == [(0, 11), (12, 20), (21, 60)]


@pytest.mark.parametrize(("instrument_id", "setting"),
                         [("aldrete", "aldrete_discharge_min"), ("padss", "padss_discharge_min")])
def test_discharge_edges(instrument_id: str, setting: str, make_answers: MakeAnswers) -> None:
    edge = getattr(DEFAULT_THRESHOLDS, setting)
    assert edge == 9
    below = score(instrument_id, make_answers(instrument_id, edge - 1))
    at = score(instrument_id, make_answers(instrument_id, edge))
    assert below.flags == (Flag.DISCHARGE_CRITERION_NOT_MET,)
    assert at.flags == (Flag.DISCHARGE_CRITERION_MET,)


def test_thresholds_change_flags() -> None:
    result = score("ymrs", [2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0])  # total 12
    assert result.flags == (Flag.POSSIBLE_SWITCH,)
    stricter = DEFAULT_THRESHOLDS.with_changes(ymrs_possible_switch_min=13)
    assert score("ymrs", result.answers, stricter).flags == ()
    assert evaluate_flags(result, stricter) == ()


# --- C-SSRS screener ----------------------------------------------------------------------------

Y, N, SKIP = True, False, None


@pytest.mark.parametrize(
    ("answers", "risk", "flags"),
    [
        # items:  1  2  3     4     5     6  6b
        ([N, N, SKIP, SKIP, SKIP, N, SKIP], RiskLevel.NONE, ()),
        ([Y, N, SKIP, SKIP, SKIP, N, SKIP], RiskLevel.LOW, ()),
        ([Y, Y, N, N, N, N, SKIP], RiskLevel.LOW, ()),
        ([N, Y, Y, N, N, N, SKIP], RiskLevel.MODERATE, (Flag.CSSRS_MODERATE,)),
        ([N, N, SKIP, SKIP, SKIP, Y, N], RiskLevel.MODERATE, (Flag.CSSRS_MODERATE,)),
        ([Y, Y, N, Y, N, N, SKIP], RiskLevel.HIGH, (Flag.CSSRS_HIGH,)),
        ([Y, Y, Y, N, Y, N, SKIP], RiskLevel.HIGH, (Flag.CSSRS_HIGH,)),
        ([N, N, SKIP, SKIP, SKIP, Y, Y], RiskLevel.HIGH, (Flag.CSSRS_HIGH,)),
    ],
)
def test_cssrs_risk_levels(answers: list[bool | None], risk: RiskLevel,
                           flags: tuple[Flag, ...]) -> None:
    result = score("cssrs-screener", answers)
    assert result.risk_level is risk
    assert result.flags == flags
    assert (result.total, result.severity) == (None, None)
    # Skipped items are absent from the stored answers; yes/no stored as 1/0.
    asked = {item.id for item, value in zip(get_instrument("cssrs-screener").items, answers,
                                            strict=True) if value is not None}
    assert set(result.answers) == asked


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([N, N, N, SKIP, SKIP, N, SKIP],
         "cssrs-screener item 3 (thoughts_with_method) must be left out because item 2 is no "
         "(got no)"),
        ([N, Y, N, SKIP, N, N, SKIP],
         "cssrs-screener item 4 (intent_without_plan) is missing: must be yes or no because "
         "item 2 is yes"),
        ([N, N, SKIP, SKIP, SKIP, N, Y],
         "cssrs-screener item 6b (behaviour_past_3_months) must be left out because item 6 is no "
         "(got yes)"),
        ([N, N, SKIP, SKIP, SKIP, Y, SKIP],
         "cssrs-screener item 6b (behaviour_past_3_months) is missing: must be yes or no because "
         "item 6 is yes"),
        ([SKIP, N, SKIP, SKIP, SKIP, N, SKIP],
         "cssrs-screener item 1 (wish_to_be_dead) is missing: must be yes or no"),
        ([N, N, SKIP, SKIP, SKIP, SKIP, SKIP],
         "cssrs-screener item 6 (behaviour_lifetime) is missing: must be yes or no"),
        ([2, N, SKIP, SKIP, SKIP, N, SKIP],
         "cssrs-screener item 1 (wish_to_be_dead) must be yes or no (got 2)"),
    ],
)
def test_cssrs_skip_logic_refusals(answers: list[object], message: str) -> None:
    with pytest.raises(ScaleInputError) as caught:
        score("cssrs-screener", answers)
    assert str(caught.value) == message


def test_cssrs_accepts_mapping_without_skipped_items() -> None:
    result = score("cssrs-screener", {"wish_to_be_dead": True, "suicidal_thoughts": False,
                                      "behaviour_lifetime": False})
    assert result.risk_level is RiskLevel.LOW


# --- refusals -----------------------------------------------------------------------------------


def test_too_few_answers_names_the_first_missing_item() -> None:
    with pytest.raises(ScaleInputError) as caught:
        score("madrs", [1, 2, 3])
    assert str(caught.value) == (
        "madrs item 4 (reduced_sleep) is missing: madrs expects 10 answers (got 3)")
    assert caught.value.item_id == "reduced_sleep"
    assert caught.value.allowed == "an integer 0-6"


def test_too_many_answers() -> None:
    with pytest.raises(ScaleInputError, match=r"madrs expects 10 answers \(got 11\)"):
        score("madrs", [0] * 11)


@pytest.mark.parametrize("bad", [7, -1, True, 2.0, "3", None])
def test_bad_values_are_refused(bad: object) -> None:
    answers: list[object] = [0] * 10
    answers[2] = bad
    with pytest.raises(ScaleInputError) as caught:
        score("madrs", answers)
    assert caught.value.item_id == "inner_tension"
    assert "madrs item 3 (inner_tension)" in str(caught.value)
    assert "0-6" in str(caught.value)


def test_mapping_input() -> None:
    ids = [item.id for item in get_instrument("gad7").items]
    assert score("gad7", dict(zip(ids, [1] * 7, strict=True))).total == 7
    with pytest.raises(ScaleInputError, match="gad7 has no item 'bogus'"):
        score("gad7", {**dict(zip(ids, [1] * 7, strict=True)), "bogus": 1})
    with pytest.raises(ScaleInputError, match=r"gad7 item 7 \(afraid\) is missing"):
        score("gad7", dict(zip(ids[:6], [1] * 6, strict=True)))


def test_unknown_instrument() -> None:
    with pytest.raises(UnknownInstrumentError, match="unknown instrument 'hamd'"):
        score("hamd", [0])


def test_scale_input_error_is_a_value_error() -> None:
    assert issubclass(ScaleInputError, ValueError)


def test_string_answers_are_not_a_sequence_of_answers() -> None:
    with pytest.raises(TypeError):
        score("asrm", "01234")


def test_result_is_frozen_and_serialisable() -> None:
    result = score("phq9", [0] * 9)
    with pytest.raises(AttributeError):
        result.total = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.answers["interest"] = 3  # type: ignore[index]
    assert result.to_dict()["severity"] == {"label": "minimal", "low": 0, "high": 4}
    assert result.to_dict()["flags"] == []
