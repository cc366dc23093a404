"""Vital signs: impossible values refused with the field named; alerts at every threshold edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ketaflow.infusions.rules import (
    AlertLevel,
    InfusionSettings,
    RuleError,
    VitalsReading,
    assess_reading,
    symptom_alerts,
    validate_reading,
)

OPENED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NOW = OPENED + timedelta(minutes=30)


def reading(**values: object) -> VitalsReading:
    base: dict[str, object] = {"sbp_mmhg": 120, "dbp_mmhg": 80, "hr_bpm": 72,
                               "spo2_percent": 98, "rr_per_min": 14, "rass": 0}
    base.update(values)
    return VitalsReading(taken_at=NOW, **base)  # type: ignore[arg-type]


def refused(r: VitalsReading) -> RuleError:
    with pytest.raises(RuleError) as error:
        validate_reading(r, session_opened_at=OPENED, now=NOW)
    return error.value


def codes(r: VitalsReading, previous: tuple[VitalsReading, ...] = ()) -> list[tuple[str, str]]:
    return [(a.level.value, a.code) for a in assess_reading(r, previous)]


def test_normal_reading_is_valid_and_raises_nothing() -> None:
    validate_reading(reading(), session_opened_at=OPENED, now=NOW)
    assert assess_reading(reading()) == ()


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"spo2_percent": 101}, "spo2_percent", "SpO2 % must be between 50 and 100 %"),
    ({"sbp_mmhg": 80, "dbp_mmhg": 80}, "dbp_mmhg", "DBP mmHg must be below SBP mmHg"),
    ({"sbp_mmhg": 80, "dbp_mmhg": 90}, "dbp_mmhg", "DBP mmHg must be below SBP mmHg"),
    ({"hr_bpm": 0}, "hr_bpm", "HR bpm 0 cannot be recorded for a conscious patient"),
    ({"hr_bpm": -5}, "hr_bpm", "HR bpm cannot be negative"),
    ({"rr_per_min": -1}, "rr_per_min", "RR /min cannot be negative"),
    ({"sbp_mmhg": 400}, "sbp_mmhg", "SBP mmHg must be between 50 and 300 mmHg"),
    ({"hr_bpm": 251}, "hr_bpm", "HR bpm must be between 20 and 250 bpm"),
    ({"rr_per_min": 61}, "rr_per_min", "RR /min must be between 1 and 60 /min"),
    ({"spo2_percent": float("nan")}, "spo2_percent", "SpO2 % must be a number"),
    ({"rass": 5}, "rass", "RASS must be a whole number from -5 to +4"),
    ({"rass": True}, "rass", "RASS must be a whole number from -5 to +4"),
    ({"dbp_mmhg": None}, "dbp_mmhg", "blood pressure needs both systolic and diastolic"),
    ({"sbp_mmhg": None}, "sbp_mmhg", "blood pressure needs both systolic and diastolic"),
])
def test_impossible_values_refused_naming_the_field(
        values: dict[str, object], field: str, message: str) -> None:
    error = refused(reading(**values))
    assert (error.field, str(error)) == (field, message)


def test_empty_reading_refused() -> None:
    error = refused(VitalsReading(taken_at=NOW))
    assert str(error) == "a reading needs at least one value"


def test_plausible_edges_accepted() -> None:
    for values in ({"spo2_percent": 100}, {"spo2_percent": 50}, {"sbp_mmhg": 300},
                   {"hr_bpm": 20}, {"rr_per_min": 4}, {"rass": -5, "hr_bpm": 0}):
        validate_reading(reading(**values), session_opened_at=OPENED, now=NOW)


def test_oximeter_only_reading_accepted() -> None:
    validate_reading(VitalsReading(NOW, spo2_percent=97), session_opened_at=OPENED, now=NOW)


def test_reading_times_outside_the_session_refused() -> None:
    before = VitalsReading(OPENED - timedelta(seconds=1), spo2_percent=98)
    assert refused(before).field == "taken_at"
    validate_reading(VitalsReading(OPENED, spo2_percent=98), session_opened_at=OPENED, now=NOW)
    edge = VitalsReading(NOW + timedelta(seconds=120), spo2_percent=98)
    validate_reading(edge, session_opened_at=OPENED, now=NOW)
    future = VitalsReading(NOW + timedelta(seconds=121), spo2_percent=98)
    assert str(refused(future)) == "Time of the reading is in the future"


def test_severe_bp_needs_a_repeat_then_holds() -> None:
    first = reading(sbp_mmhg=180, dbp_mmhg=90)
    assert codes(first) == [("review", "bp-severe-repeat-now")]
    assert codes(reading(sbp_mmhg=150, dbp_mmhg=110), (first,)) == [("hold", "bp-severe-repeat")]
    # The repeat is compared with the last reading that had a BP, skipping oximeter-only ones.
    oximeter = VitalsReading(NOW, spo2_percent=97)
    assert codes(reading(sbp_mmhg=185, dbp_mmhg=95), (first, oximeter))[0] == (
        "hold", "bp-severe-repeat")
    # A normal reading in between resets the repeat.
    assert codes(first, (first, reading())) == [("review", "bp-severe-repeat-now")]


@pytest.mark.parametrize(("sbp", "dbp", "expected"), [
    (179, 109, [("review", "bp-high")]),
    (160, 80, [("review", "bp-high")]),
    (120, 100, [("review", "bp-high")]),
    (159, 99, []),
    (180, 80, [("review", "bp-severe-repeat-now")]),
    (120, 110, [("review", "bp-severe-repeat-now")]),
])
def test_bp_band_edges(sbp: int, dbp: int, expected: list[tuple[str, str]]) -> None:
    assert codes(reading(sbp_mmhg=sbp, dbp_mmhg=dbp)) == expected


@pytest.mark.parametrize(("spo2", "expected"), [
    (91.9, [("stop", "spo2-low")]), (92, [("review", "spo2-borderline")]),
    (94.9, [("review", "spo2-borderline")]), (95, [])])
def test_spo2_edges(spo2: float, expected: list[tuple[str, str]]) -> None:
    assert codes(reading(spo2_percent=spo2)) == expected


# Below the low edges the default hold/stop limits (HR 50, RR 10, RASS -3) take over: a field
# shows only its most severe alert (tests/infusions/test_vital_sign_criteria.py).
@pytest.mark.parametrize(("values", "expected"), [
    ({"hr_bpm": 49}, [("hold", "hr-low")]), ({"hr_bpm": 50}, []),
    ({"hr_bpm": 120}, []), ({"hr_bpm": 121}, [("review", "hr-out-of-band")]),
    ({"rr_per_min": 9}, [("hold", "rr-low")]), ({"rr_per_min": 10}, []),
    ({"rr_per_min": 24}, []), ({"rr_per_min": 25}, [("review", "rr-out-of-band")]),
    ({"rass": -3}, [("stop", "rass-deep")]), ({"rass": -2}, []),
])
def test_review_band_edges(values: dict[str, object], expected: list[tuple[str, str]]) -> None:
    assert codes(reading(**values)) == expected


def test_low_review_bands_still_apply_when_the_hold_limits_are_lowered() -> None:
    settings = InfusionSettings(hold_hr_below_bpm=45, stop_hr_below_bpm=35,
                                hold_rr_below_per_min=8, stop_rr_below_per_min=6,
                                stop_rass_max=-4)
    alerts = assess_reading(reading(hr_bpm=48, rr_per_min=9, rass=-3), (), settings)
    assert sorted(a.code for a in alerts) == ["hr-out-of-band", "rr-out-of-band",
                                              "sedation-deep"]


def test_alerts_sorted_most_severe_first_and_name_fields() -> None:
    first = reading(sbp_mmhg=190, dbp_mmhg=100)
    alerts = assess_reading(reading(sbp_mmhg=190, dbp_mmhg=100, spo2_percent=90, hr_bpm=130),
                            (first,))
    assert [(a.level, a.field) for a in alerts] == [
        (AlertLevel.STOP, "spo2_percent"), (AlertLevel.HOLD, "sbp_mmhg"),
        (AlertLevel.REVIEW, "hr_bpm")]
    assert alerts[1].message == ("BP at or above 180/110 mmHg on a repeat reading: hold the "
                                 "infusion and call the prescriber")


def test_thresholds_follow_settings() -> None:
    settings = InfusionSettings(stop_spo2_below_percent=90, review_spo2_below_percent=93)
    assert assess_reading(reading(spo2_percent=91), (), settings)[0].level is AlertLevel.REVIEW


def test_red_flag_symptoms_stop() -> None:
    alerts = symptom_alerts(["chest_pain", "severe_headache"])
    assert [a.level for a in alerts] == [AlertLevel.STOP, AlertLevel.STOP]
    assert alerts[0].message.startswith("chest pain: stop the infusion")
    with pytest.raises(RuleError, match="unknown symptom") as error:
        symptom_alerts(["itch"])
    assert error.value.field == "symptoms"
