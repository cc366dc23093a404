"""The instrument definitions themselves: registry, ranges, licence positions, citations."""

from __future__ import annotations

from dataclasses import fields

import pytest

from ketaflow.scales import INSTRUMENTS, ScaleThresholds, get_instrument, instrument_ids
from ketaflow.scales.instruments import Licence, Rater, ScoringRule
from ketaflow.scales.instruments.public import PFIZER_ATTRIBUTION

EXPECTED = {
    # id: (items, min total, max total, rater)
    "phq9": (9, 0, 27, Rater.SELF),
    "gad7": (7, 0, 21, Rater.SELF),
    "qids-sr16": (16, 0, 27, Rater.SELF),
    "madrs": (10, 0, 60, Rater.CLINICIAN),
    "ymrs": (11, 0, 60, Rater.CLINICIAN),
    "asrm": (5, 0, 20, Rater.SELF),
    "cadss6": (6, 0, 24, Rater.CLINICIAN),
    "bprs-positive": (4, 4, 28, Rater.CLINICIAN),
    "cssrs-screener": (7, None, None, Rater.CLINICIAN),
    "aldrete": (5, 0, 10, Rater.NURSE),
    "padss": (5, 2, 10, Rater.NURSE),  # bleeding item fixed at 2 for ketamine
    "side-effects": (10, 0, 27, Rater.NURSE),
}


def test_registry_has_exactly_the_instruments() -> None:
    assert instrument_ids() == tuple(EXPECTED)


@pytest.mark.parametrize("instrument_id", list(EXPECTED))
def test_shape(instrument_id: str) -> None:
    instrument = get_instrument(instrument_id)
    count, low, high, rater = EXPECTED[instrument_id]
    assert (len(instrument.items), instrument.min_total, instrument.max_total,
            instrument.rater) == (count, low, high, rater)
    assert [item.number for item in instrument.items] == list(range(1, count + 1))
    assert len({item.id for item in instrument.items}) == count
    assert instrument.version
    assert instrument.citation and instrument.licence_note
    for item in instrument.items:
        scores = item.scores
        assert list(scores) == sorted(scores) == list(range(scores[0], scores[-1] + 1))


@pytest.mark.parametrize("instrument_id", list(EXPECTED))
def test_bands_are_contiguous_and_cover_the_range(instrument_id: str) -> None:
    instrument = get_instrument(instrument_id)
    if not instrument.bands:
        return
    assert instrument.bands[0].low == instrument.min_total
    assert instrument.bands[-1].high == instrument.max_total
    for before, after in zip(instrument.bands, instrument.bands[1:], strict=False):
        assert after.low == before.high + 1


@pytest.mark.parametrize("instrument_id", list(EXPECTED))
def test_threshold_names_exist(instrument_id: str) -> None:
    names = {spec.name for spec in fields(ScaleThresholds)}
    assert set(get_instrument(instrument_id).thresholds) <= names


def test_ymrs_items_with_double_weight() -> None:
    ymrs = get_instrument("ymrs")
    assert [item.number for item in ymrs.items if item.max_score == 8] == [5, 6, 8, 9]
    assert all(item.max_score == 4 for item in ymrs.items if item.number not in {5, 6, 8, 9})


def test_qids_domains_cover_each_item_once() -> None:
    qids = get_instrument("qids-sr16")
    covered = [item_id for domain in qids.domains for item_id in domain.item_ids]
    assert sorted(covered) == sorted(item.id for item in qids.items)
    assert len(qids.domains) == 9


@pytest.mark.parametrize("instrument_id", ["phq9", "gad7"])
def test_public_instruments_ship_wording_and_attribution(instrument_id: str) -> None:
    instrument = get_instrument(instrument_id)
    assert instrument.licence is Licence.PUBLIC_WORDING
    assert instrument.attribution == PFIZER_ATTRIBUTION
    assert "No permission required to reproduce, translate, display or distribute." in (
        PFIZER_ATTRIBUTION)
    assert all(item.text for item in instrument.items)
    assert [o.label for o in instrument.items[0].options] == [
        "Not at all", "Several days", "More than half the days", "Nearly every day"]


def test_phq9_wording_and_codes() -> None:
    phq9 = get_instrument("phq9")
    assert phq9.items[8].text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way")
    assert phq9.items[8].code is not None and phq9.items[8].code.code == "44260-8"
    assert phq9.total_code is not None and phq9.total_code.code == "44261-6"
    assert phq9.panel_code is not None and phq9.panel_code.code == "44249-1"
    gad7 = get_instrument("gad7")
    assert gad7.total_code is not None and gad7.total_code.code == "70274-6"


def test_cssrs_screener_carries_the_screener_panel_code() -> None:
    """Issue 11, item 5: 93373-9 is the screener ("recent"); 93245-9 is the full scale."""
    cssrs = get_instrument("cssrs-screener")
    assert cssrs.panel_code is not None and cssrs.panel_code.code == "93373-9"
    assert "screener - recent" in cssrs.panel_code.display


@pytest.mark.parametrize("instrument_id", [i for i, d in INSTRUMENTS.items()
                                           if d.licence is not Licence.PUBLIC_WORDING])
def test_licensed_instruments_carry_names_only(instrument_id: str) -> None:
    instrument = get_instrument(instrument_id)
    for item in instrument.items:
        assert item.text is None
        assert item.name and len(item.name) <= 60
        if instrument.rule is ScoringRule.RISK_LEVEL:
            assert [o.label for o in item.options] == ["No", "Yes"]
        else:
            # Anchor wording is copyrighted: option labels are the bare numbers.
            assert [o.label for o in item.options] == [str(s) for s in item.scores]


def test_item_names_from_the_brief() -> None:
    assert get_instrument("madrs").items[0].name == "Apparent sadness"
    assert get_instrument("ymrs").items[0].name == "Elevated mood"
    assert get_instrument("madrs").items[2].id == "inner_tension"


def test_cssrs_is_licensed_exclusively_and_gated() -> None:
    cssrs = get_instrument("cssrs-screener")
    assert cssrs.licence is Licence.NO_ELECTRONIC_WORDING
    assert [item.ref for item in cssrs.items] == ["1", "2", "3", "4", "5", "6", "6b"]
    assert [item.asked_if_yes for item in cssrs.items] == [
        None, None, "suicidal_thoughts", "suicidal_thoughts", "suicidal_thoughts", None,
        "behaviour_lifetime"]


def test_padss_states_the_bleeding_rule() -> None:
    bleeding = get_instrument("padss").item("surgical_bleeding")
    assert bleeding.fixed_score == 2
    assert bleeding.fixed_reason is not None and "scored 2" in bleeding.fixed_reason
    assert [item.id for item in get_instrument("padss").asked_items] == [
        "vital_signs", "activity_mental_status", "pain_nausea_vomiting", "intake_output"]


def test_unknown_item_lookup() -> None:
    with pytest.raises(KeyError):
        get_instrument("madrs").item("nope")
