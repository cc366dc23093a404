"""The dangerous-reading criteria (issue 11, item 12) as a literal table, written out by hand.

Clinic defaults (docs/clinical-sources.md#vital-sign-criteria): SBP < 90 or more than 20% below
the pre-infusion value: hold; HR < 50: hold, < 40 or 0 (no pulse): stop; RR < 10: hold, < 8 or
0 (apnoea): stop; RASS <= -3: stop; RASS >= +3: hold. Each row is (reading fields, pre-infusion
SBP, expected level of the most severe alert, expected rule id); None means no alert at all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.infusions import service
from ketaflow.infusions.rules import AlertLevel, SessionAction, VitalsReading, assess_reading
from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS, InfusionSettings
from ketaflow.sourced import describe
from tests.infusions.factories import make_clinic, ready_to_start
from tests.infusions.test_api import BASE, started
from tests.web.helpers import csrf, sign_in

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
# Calm, alert, normal vitals: every row changes only what it tests.
CALM = {"sbp_mmhg": 120, "dbp_mmhg": 80, "hr_bpm": 70, "spo2_percent": 98, "rr_per_min": 14,
        "rass": 0}

TABLE: list[tuple[dict[str, float], float | None, str | None, str | None]] = [
    # Hypotension.
    ({"sbp_mmhg": 60, "dbp_mmhg": 30}, None, "hold", "sbp-low"),
    ({"sbp_mmhg": 89, "dbp_mmhg": 60}, None, "hold", "sbp-low"),
    ({"sbp_mmhg": 90, "dbp_mmhg": 60}, None, None, None),
    ({"sbp_mmhg": 90, "dbp_mmhg": 60}, 110, None, None),       # 18.2% below 110
    ({"sbp_mmhg": 96, "dbp_mmhg": 60}, 120, None, None),       # exactly 20% below: not more
    ({"sbp_mmhg": 95, "dbp_mmhg": 60}, 120, "hold", "sbp-drop"),  # 20.8% below 120
    ({"sbp_mmhg": 112, "dbp_mmhg": 70}, 150, "hold", "sbp-drop"),  # 25.3% below 150
    # Bradycardia and no pulse (0 is chartable only with RASS -5).
    ({"hr_bpm": 50}, None, None, None),
    ({"hr_bpm": 49}, None, "hold", "hr-low"),
    ({"hr_bpm": 40}, None, "hold", "hr-low"),
    ({"hr_bpm": 39}, None, "stop", "hr-very-low"),
    ({"hr_bpm": 0, "rass": -5}, None, "stop", "pulse-absent"),
    # Bradypnoea and apnoea.
    ({"rr_per_min": 10}, None, None, None),
    ({"rr_per_min": 9}, None, "hold", "rr-low"),
    ({"rr_per_min": 8}, None, "hold", "rr-low"),
    ({"rr_per_min": 7}, None, "stop", "rr-very-low"),
    ({"rr_per_min": 4}, None, "stop", "rr-very-low"),
    ({"rr_per_min": 0}, None, "stop", "apnoea"),
    # Sedation depth and agitation (RASS).
    ({"rass": -2}, None, None, None),
    ({"rass": -3}, None, "stop", "rass-deep"),
    ({"rass": -5}, None, "stop", "rass-deep"),
    ({"rass": 2}, None, None, None),
    ({"rass": 3}, None, "hold", "rass-agitated"),
    ({"rass": 4}, None, "hold", "rass-agitated"),
]


def reading(fields: dict[str, float]) -> VitalsReading:
    return VitalsReading(NOW, **{**CALM, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(("fields", "baseline", "level", "rule"), TABLE)
def test_literal_table(fields: dict[str, float], baseline: float | None, level: str | None,
                       rule: str | None) -> None:
    alerts = assess_reading(reading(fields), baseline_sbp_mmhg=baseline)
    if level is None:
        assert alerts == ()
    else:
        assert (alerts[0].level.value, alerts[0].code) == (level, rule)


def test_the_readings_the_review_found_unalerted() -> None:
    """60/30 held; HR 0 with RASS -5 and RR 4 stopped on all three counts, with no review."""
    assert [(a.level, a.code) for a in assess_reading(reading(
        {"sbp_mmhg": 60, "dbp_mmhg": 30}))] == [(AlertLevel.HOLD, "sbp-low")]
    alerts = assess_reading(reading({"hr_bpm": 0, "rass": -5, "rr_per_min": 4}))
    assert [(a.level, a.code) for a in alerts] == [
        (AlertLevel.STOP, "pulse-absent"), (AlertLevel.STOP, "rr-very-low"),
        (AlertLevel.STOP, "rass-deep")]
    assert [(a.level, a.code) for a in assess_reading(reading({"rass": 4}))] == [
        (AlertLevel.HOLD, "rass-agitated")]


@pytest.mark.parametrize(("fields", "text"), [
    ({"sbp_mmhg": 60, "dbp_mmhg": 30}, "SBP below 90 mmHg: hold the infusion, lay the patient "
     "flat, repeat the BP and call the prescriber"),
    ({"hr_bpm": 39}, "heart rate below 40 bpm: stop the infusion, call for help, check airway "
     "and breathing and circulation; call the emergency team"),
    ({"hr_bpm": 0, "rass": -5}, "no pulse: stop the infusion, call the emergency team and "
     "start resuscitation"),
    ({"rr_per_min": 7}, "respiratory rate below 8/min: stop the infusion, call for help, check "
     "airway and breathing; support ventilation"),
    ({"rr_per_min": 0}, "apnoea: stop the infusion, call for help, open the airway and "
     "ventilate"),
    ({"rass": -4}, "RASS -4 (at or below -3, deep sedation): stop the infusion, call for help, "
     "check airway and breathing"),
    ({"rass": 3}, "RASS +3 (at or above +3, agitation or emergence reaction): hold the "
     "infusion, keep the patient safe, calm the room, call the prescriber"),
])
def test_each_alert_says_what_to_do(fields: dict[str, float], text: str) -> None:
    assert assess_reading(reading(fields))[0].message == text


def test_drop_message_names_the_pre_infusion_value() -> None:
    [alert] = assess_reading(reading({"sbp_mmhg": 95, "dbp_mmhg": 60}), baseline_sbp_mmhg=120)
    assert alert.message == ("SBP more than 20% below the pre-infusion 120 mmHg: hold the "
                             "infusion, repeat the BP and call the prescriber")


def test_criteria_follow_the_clinic_settings() -> None:
    settings = InfusionSettings(hold_sbp_below_mmhg=100, hold_rass_min=4)
    assert assess_reading(reading({"sbp_mmhg": 95, "dbp_mmhg": 60}), (), settings)[0].code == (
        "sbp-low")
    assert assess_reading(reading({"rass": 3}), (), settings) == ()


def test_stop_limit_above_its_hold_limit_refused() -> None:
    with pytest.raises(ValueError, match="stop_hr_below_bpm must not be above hold_hr_below_bpm"):
        InfusionSettings(stop_hr_below_bpm=55)
    with pytest.raises(ValueError, match="stop_rr_below_per_min must not be above"):
        InfusionSettings(hold_rr_below_per_min=6)


def test_new_settings_carry_bounds_sources_and_the_anchor() -> None:
    infos = {i.name: i for i in describe(DEFAULT_SETTINGS)}
    names = ("hold_sbp_below_mmhg", "hold_sbp_drop_above_percent", "hold_hr_below_bpm",
             "stop_hr_below_bpm", "hold_rr_below_per_min", "stop_rr_below_per_min",
             "stop_rass_max", "hold_rass_min")
    assert [infos[n].default for n in names] == [90, 20, 50, 40, 10, 8, -3, 3]
    for name in names:
        info = infos[name]
        assert info.ref == "vital-sign-criteria"
        assert info.minimum is not None and info.maximum is not None
        assert info.minimum <= info.default <= info.maximum
        assert info.source.startswith("clinic default (unverified); events from ACEP")
        assert "doi:10.1016/j.annemergmed.2010.11.030" in info.source
    assert "Sessler et al., Am J Respir Crit Care Med 2002;166:1338-1344" in (
        infos["stop_rass_max"].source)


def test_drop_is_measured_from_the_last_bp_before_the_start(db: Session) -> None:
    """The service passes the pre-infusion systolic (122 in ready_to_start): 97 is 20.5% below."""
    clinic = make_clinic(db)
    record = ready_to_start(db, clinic)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.START)
    outcome = service.record_vitals(db, clinic.nurse_ctx, session_id=record.id,
                                    reading=VitalsReading(datetime.now(UTC), sbp_mmhg=97,
                                                          dbp_mmhg=60, hr_bpm=70))
    assert [(a.level, a.code) for a in outcome.alerts] == [(AlertLevel.HOLD, "sbp-drop")]
    kept = service.record_vitals(db, clinic.nurse_ctx, session_id=record.id,
                                 reading=VitalsReading(datetime.now(UTC), sbp_mmhg=98,
                                                       dbp_mmhg=60, hr_bpm=70))
    assert kept.alerts == []  # 19.7% below 122


def test_chair_page_shows_what_to_do_and_a_nurse_cannot_close_it(
        app_client: TestClient, app_db: Session) -> None:
    clinic = make_clinic(app_db)
    record = ready_to_start(app_db, clinic)
    service.apply_action(app_db, clinic.nurse_ctx, session_id=record.id,
                         action=SessionAction.START)
    app_db.commit()
    assert sign_in(app_client, clinic.nurse.username) == 303
    page = f"/infusions/sessions/{record.id}"
    for values in ({"sbp_mmhg": "60", "dbp_mmhg": "30", "hr_bpm": "70"},
                   {"rr_per_min": "0", "spo2_percent": "90"}):
        saved = app_client.post(f"{page}/vitals", data={"csrf_token": csrf(app_client), **values})
        assert saved.status_code == 303
    html = app_client.get(page).text
    assert "Alerts needing action (3)" in html
    assert "SBP below 90 mmHg: hold the infusion, lay the patient flat" in html
    assert "apnoea: stop the infusion, call for help, open the airway and ventilate" in html
    assert "A prescriber acknowledges HOLD alerts: call the prescriber now." in html
    assert "A prescriber acknowledges STOP alerts: call the prescriber now." in html
    # Hold and stop alerts are the prescriber's to close: the nurse gets no form for them.
    assert re.findall(r"/alerts/(\d+)/acknowledge", html) == []


def test_api_charts_apnoea_and_no_pulse_and_answers_with_stop_alerts(
        app_client: TestClient, app_db: Session) -> None:
    nurse, _, session_id = started(app_client, app_db)
    body = nurse.post(f"{BASE}/{session_id}/vitals",
                      {"hr_bpm": 0, "rr_per_min": 0, "rass": -5}, expect=201)
    assert [(a["level"], a["code"]) for a in body["alerts"]] == [
        ("stop", "pulse-absent"), ("stop", "apnoea"), ("stop", "rass-deep")]
