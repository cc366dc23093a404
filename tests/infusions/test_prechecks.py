"""Pre-checks, the pre-infusion BP gate (every edge) and the signed order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from ketaflow.clinical.bp_gate import BpGateSettings
from ketaflow.infusions.rules import (
    BpGate,
    InfusionSettings,
    OrderDetails,
    PrecheckInput,
    PregnancyTest,
    VitalsReading,
    bp_gate,
    missing_prechecks,
)

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def order(**overrides: object) -> OrderDetails:
    values: dict[str, object] = {
        "drug": "ketamine", "lot_number": "L123", "expiry_date": date(2027, 1, 1),
        "concentration_mg_per_ml": 1.0, "dose_mg": 35.0, "rate_ml_per_h": 52.5, "signed": True}
    values.update(overrides)
    return OrderDetails(**values)  # type: ignore[arg-type]


def complete(**overrides: object) -> PrecheckInput:
    base = PrecheckInput(
        identity_confirmed=True, consent_current=True, fasting_confirmed=True,
        escort_confirmed=True, transport_confirmed=True,
        pregnancy_test=PregnancyTest.NOT_APPLICABLE,
        pre_infusion_vitals=VitalsReading(NOW, sbp_mmhg=120, dbp_mmhg=80, hr_bpm=70),
        self_report_found=True, unacknowledged_alerts=0, order=order())
    return replace(base, **overrides)  # type: ignore[arg-type]


def fields_of(checks: PrecheckInput) -> list[str]:
    return [p.field for p in missing_prechecks(checks, today=TODAY)]


@pytest.mark.parametrize(("sbp", "dbp", "gate"), [
    (140, 90, BpGate.OK),        # at the guide: not above it
    (141, 90, BpGate.REVIEW),
    (140, 91, BpGate.REVIEW),
    (159, 99, BpGate.REVIEW),
    (160, 80, BpGate.DEFER),     # 160/100 inclusive
    (120, 100, BpGate.DEFER),
    (100, 60, BpGate.OK),
])
def test_bp_gate_edges(sbp: int, dbp: int, gate: BpGate) -> None:
    assert bp_gate(sbp, dbp) is gate


def test_bp_gate_follows_settings() -> None:
    settings = InfusionSettings(bp_gate=BpGateSettings(review_sbp_above_mmhg=130,
                                                       defer_sbp_min_mmhg=150))
    assert bp_gate(131, 70, settings) is BpGate.REVIEW
    assert bp_gate(150, 70, settings) is BpGate.DEFER


def test_settings_refuse_defer_below_review() -> None:
    with pytest.raises(ValueError, match="defer_sbp_min_mmhg"):
        InfusionSettings(bp_gate=BpGateSettings(defer_sbp_min_mmhg=140))


def test_settings_describe_shows_labels_and_sources() -> None:
    info = {s.name: s for s in InfusionSettings(hold_sbp_min_mmhg=170).describe()}
    assert info["hold_sbp_min_mmhg"].value == 170
    assert info["hold_sbp_min_mmhg"].default == 180
    review = info["review_sbp_above_mmhg"]
    assert "Spravato USPI 5.6" in review.source and review.ref == "bp-gate"
    assert "docs/clinical-sources.md#bp-gate" in review.source


def test_complete_prechecks_have_nothing_missing() -> None:
    assert missing_prechecks(complete(), today=TODAY) == ()


def test_empty_prechecks_list_everything() -> None:
    assert fields_of(PrecheckInput()) == [
        "identity_confirmed", "consent_current", "fasting_confirmed", "escort_confirmed",
        "transport_confirmed", "self_report", "pregnancy_test", "pre_infusion_vitals",
        "order"]


def test_review_bp_needs_prescriber_review() -> None:
    high = VitalsReading(NOW, sbp_mmhg=145, dbp_mmhg=85)
    assert fields_of(complete(pre_infusion_vitals=high)) == ["bp_review_by_prescriber"]
    assert fields_of(complete(pre_infusion_vitals=high, bp_review_by_prescriber=True)) == []


def test_defer_bp_blocks_even_with_review() -> None:
    problems = missing_prechecks(
        complete(pre_infusion_vitals=VitalsReading(NOW, sbp_mmhg=165, dbp_mmhg=85),
                 bp_review_by_prescriber=True), today=TODAY)
    assert [p.message for p in problems] == [
        "pre-infusion BP at or above 160/100 mmHg: defer the infusion"]


def test_vitals_without_bp_do_not_count() -> None:
    assert fields_of(complete(pre_infusion_vitals=VitalsReading(NOW, spo2_percent=98))) == [
        "pre_infusion_vitals"]


def test_pregnancy_positive_blocks_negative_passes() -> None:
    assert fields_of(complete(pregnancy_test=PregnancyTest.POSITIVE)) == ["pregnancy_test"]
    assert fields_of(complete(pregnancy_test=PregnancyTest.NEGATIVE)) == []


def test_unacknowledged_alerts_block() -> None:
    problems = missing_prechecks(complete(unacknowledged_alerts=2), today=TODAY)
    assert [(p.field, p.message) for p in problems] == [("alerts", "2 alert(s) not acknowledged")]


def test_self_report_found_or_overridden_with_a_reason() -> None:
    assert fields_of(complete(self_report_found=False)) == ["self_report"]
    # A blank reason is no reason: the check still blocks.
    assert fields_of(complete(self_report_found=False, self_report_override_reason="  ")) == [
        "self_report"]
    assert fields_of(complete(self_report_found=False,
                              self_report_override_reason="patient declined")) == []


def test_open_patient_alerts_block_until_acknowledged() -> None:
    problems = missing_prechecks(complete(open_patient_alerts=1), today=TODAY)
    assert [(p.field, p.message) for p in problems] == [
        ("patient_alerts", "1 suicidality/switch alert(s) open: a prescriber must acknowledge "
                           "them")]
    # An override of the self-report check does not reach the alerts.
    assert fields_of(complete(open_patient_alerts=2, self_report_found=False,
                              self_report_override_reason="declined")) == ["patient_alerts"]


def test_order_problems_each_named() -> None:
    bad = order(drug=" ", lot_number="", expiry_date=None, concentration_mg_per_ml=0,
                dose_mg=float("nan"), rate_ml_per_h=None, signed=False)
    assert fields_of(complete(order=bad)) == [
        "drug", "lot_number", "expiry_date", "concentration_mg_per_ml", "dose_mg",
        "rate_ml_per_h", "order"]


def test_expiry_edges() -> None:
    assert fields_of(complete(order=order(expiry_date=TODAY))) == []  # usable on its expiry day
    assert fields_of(complete(order=order(expiry_date=date(2026, 11, 24)))) == ["expiry_date"]
