"""The live chair page on both databases: the polled status fragment, the overrun alarm raised
once per order (when the page or the fragment is viewed, or a reading is charted), the HOLD/STOP
banner, and the confirmations a stop and a discharge override ask for."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.infusions import service
from ketaflow.infusions.models import InfusionSession, SessionAlert, SessionEvent, VitalsRecord
from ketaflow.infusions.rules import OVERRUN_CODES, AlertLevel, SessionAction, VitalsReading
from tests.infusions.factories import (
    Clinic,
    backdate,
    make_clinic,
    order_input,
    ready_to_start,
)
from tests.web.helpers import csrf, sign_in


def running(db: Session, clinic: Clinic, *, minutes_ago: float = 0) -> InfusionSession:
    record = ready_to_start(db, clinic)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.START)
    if minutes_ago:
        backdate(db, record, minutes_ago)
    return record


def overruns(db: Session, session_id: int) -> list[tuple[str, AlertLevel, int | None]]:
    rows = db.scalars(select(SessionAlert).where(SessionAlert.session_id == session_id,
                                                 SessionAlert.code.in_(OVERRUN_CODES))
                      .order_by(SessionAlert.id))
    return [(a.code, a.level, a.order_id) for a in rows]


def raise_events(db: Session, session_id: int) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "infusion.alert.raise",
        AuditEvent.entity_id == str(session_id))) or 0


# -- services ------------------------------------------------------------------------------

def test_overrun_is_raised_once_however_often_the_page_is_viewed(db: Session) -> None:
    clinic = make_clinic(db)
    record = running(db, clinic, minutes_ago=45)  # a 40-minute order, at the signed rate
    assert overruns(db, record.id) == []
    for _ in range(3):
        view = service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
        live = service.live_view(db, clinic.nurse_ctx, session_id=record.id)
    order_id = view.order.id if view.order else None
    assert overruns(db, record.id) == [("overrun-volume", AlertLevel.STOP, order_id),
                                       ("overrun-duration", AlertLevel.HOLD, order_id)]
    assert raise_events(db, record.id) == 2
    assert [a.code for a in live.alarms] == ["overrun-volume", "overrun-duration"]
    assert {a.code for a in live.overruns} == set(OVERRUN_CODES)
    assert live.running_min is not None and 44.9 < live.running_min < 45.5
    # The open STOP blocks a faster rate and a resume like any other (rules.rates).
    assert "ordered volume exceeded" in live.alarms[0].message


def test_a_stale_second_request_does_not_raise_it_again(db: Session) -> None:
    """Two polls at the same moment: the second one's session was loaded before the first
    raised the alarm; the unique constraint refuses the copy and the transaction goes on."""
    clinic = make_clinic(db)
    record = running(db, clinic, minutes_ago=45)
    stale = service.load_session(db, record.id)
    first = service.raise_overruns(db, clinic.nurse_ctx, stale, at=service.now())
    assert len(first) == 2
    stale.alerts.clear()  # as a concurrent request saw it: no alerts yet
    assert service.raise_overruns(db, clinic.nurse_ctx, stale, at=service.now()) == []
    assert len(overruns(db, record.id)) == 2 and raise_events(db, record.id) == 2


def test_no_overrun_within_the_order_or_while_paused(db: Session) -> None:
    clinic = make_clinic(db)
    record = running(db, clinic, minutes_ago=39)
    service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    assert overruns(db, record.id) == []
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.PAUSE)
    backdate(db, record, 30)  # paused 30 minutes: running time stands at 39
    live = service.live_view(db, clinic.nurse_ctx, session_id=record.id)
    assert overruns(db, record.id) == [] and live.alarms == ()
    assert live.running_min is not None and live.running_min < 40
    assert live.paused_min is not None and live.paused_min >= 30


def test_a_monitor_reading_raises_the_overrun_without_the_page(db: Session) -> None:
    clinic = make_clinic(db)
    record = running(db, clinic, minutes_ago=50)
    service.record_vitals(db, clinic.nurse_ctx, session_id=record.id, reading=VitalsReading(
        datetime.now(UTC), sbp_mmhg=128, dbp_mmhg=80, hr_bpm=74))
    assert [code for code, _, _ in overruns(db, record.id)] == ["overrun-volume",
                                                                  "overrun-duration"]


def test_a_new_order_is_measured_afresh(db: Session) -> None:
    clinic = make_clinic(db)
    record = running(db, clinic, minutes_ago=45)
    service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    first_order = overruns(db, record.id)[0][2]
    # The prescriber orders more over longer (52.5 mg over 60 min; 39.4 mL given so far): its
    # own overrun comes only later.
    service.sign_order(db, clinic.prescriber_ctx, session_id=record.id, order=order_input(
        dose_mg_per_kg=0.75, duration_min=60.0, supersede_reason="more over longer"))
    service.chair_view(db, clinic.nurse_ctx, session_id=record.id)
    assert {order for _, _, order in overruns(db, record.id)} == {first_order}


# -- pages ---------------------------------------------------------------------------------

def post(client: TestClient, path: str, data: dict[str, str]) -> object:
    return client.post(path, data={"csrf_token": csrf(client), **data})


def page_for(app_client: TestClient, app_db: Session, *, minutes_ago: float = 0,
             as_prescriber: bool = False) -> tuple[str, int, Clinic]:
    clinic = make_clinic(app_db)
    record = running(app_db, clinic, minutes_ago=minutes_ago)
    app_db.commit()
    user = clinic.prescriber if as_prescriber else clinic.nurse
    assert sign_in(app_client, user.username) == 303
    return f"/infusions/sessions/{record.id}", record.id, clinic


def counts(app_db: Session, session_id: int) -> tuple[int, ...]:
    app_db.rollback()
    found = tuple(app_db.scalar(select(func.count()).select_from(model).where(
        model.session_id == session_id)) or 0
        for model in (VitalsRecord, SessionEvent, SessionAlert))
    app_db.commit()  # end the read: on SQLite it would hold up the app's next request
    return found


def status_of(app_db: Session, session_id: int) -> str:
    app_db.rollback()
    found = app_db.scalar(select(InfusionSession.status).where(InfusionSession.id == session_id))
    app_db.commit()
    return "" if found is None else found.value


def test_live_fragment_shows_the_status_and_writes_nothing(app_client: TestClient,
                                                           app_db: Session) -> None:
    page, session_id, _ = page_for(app_client, app_db, minutes_ago=12)
    html = app_client.get(page).text
    assert 'id="live"' in html and 'hx-trigger="every 5s"' in html
    assert f'hx-get="/infusions/sessions/{session_id}/_live?seen="' in html
    before = counts(app_db, session_id)
    fragment = app_client.get(f"{page}/_live?seen=")
    assert fragment.status_code == 200
    text = fragment.text
    assert "<html" not in text and "<form" not in text  # the status region only, no forms
    assert 'id="status">running<' in text
    assert "of 40 min running" in text and "mg base of 35.0 mg ordered" in text
    assert "OVERDUE by 2 min: interval reading at" in text
    assert "hx-swap-oob" not in text  # the page already shows these (no) alerts
    assert counts(app_db, session_id) == before


def test_fragment_brings_new_alerts_and_the_banner_out_of_band(app_client: TestClient,
                                                               app_db: Session) -> None:
    page, session_id, clinic = page_for(app_client, app_db)
    # A monitor's reading through the API while the page is open: SBP 85 holds the infusion.
    outcome = service.record_vitals(app_db, clinic.nurse_ctx, session_id=session_id,
                                    reading=VitalsReading(datetime.now(UTC), sbp_mmhg=85,
                                                          dbp_mmhg=50, hr_bpm=70))
    alert_id = outcome.alerts[0].id
    app_db.commit()
    text = app_client.get(f"{page}/_live?seen=").text
    assert text.count('hx-swap-oob="true"') == 2
    assert 'id="alarm-banner"' in text and "SBP below 90 mmHg" in text
    assert "BP 85/50 mmHg, HR 70 bpm" in text  # the monitor's reading itself
    assert f'data-alarm-ids="{alert_id}"' in text
    assert "Alerts needing action (1)" in text
    assert "A prescriber acknowledges HOLD alerts" in text  # a nurse cannot close a HOLD
    assert "hx-swap-oob" not in app_client.get(f"{page}/_live?seen={alert_id}").text
    # The whole page (no JavaScript, a reload) shows the same banner at the top.
    html = app_client.get(page).text
    assert html.index('id="alarm-banner"') < html.index('id="live"') < html.index('id="actions"')
    assert 'role="alert" id="alarm-banner"' in html and "Hold (pause) the infusion" in html


def test_live_fragment_raises_and_shows_the_overrun(app_client: TestClient,
                                                    app_db: Session) -> None:
    page, session_id, _ = page_for(app_client, app_db, minutes_ago=44)
    text = app_client.get(f"{page}/_live?seen=").text
    assert 'id="overrun-overrun-duration"' in text and "OVERRUN" in text
    assert "ordered duration passed: running 44 of 40 min" in text
    assert "Stop the infusion now." in text  # the volume alarm is a STOP
    app_client.get(page)
    app_client.get(f"{page}/_live?seen=")
    app_db.rollback()
    assert raise_events(app_db, session_id) == 2


def test_fragment_has_the_chair_pages_permission(app_client: TestClient,
                                                 app_db: Session) -> None:
    page, _, _ = page_for(app_client, app_db)
    app_client.post("/logout", data={"csrf_token": csrf(app_client)})
    refused = app_client.get(f"{page}/_live", follow_redirects=False)
    assert refused.status_code in (303, 401)


def test_stop_needs_the_confirmation(app_client: TestClient, app_db: Session) -> None:
    page, session_id, _ = page_for(app_client, app_db, minutes_ago=41)
    html = app_client.get(page).text
    assert 'name="confirm_stop" id="f-confirm-stop" required' in html
    refused = post(app_client, f"{page}/action", {"action": "stop"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert 'Tick &#34;Yes, stop the infusion now&#34; to stop the infusion' in \
        refused.text  # type: ignore[attr-defined]
    assert status_of(app_db, session_id) == "running"
    done = post(app_client, f"{page}/action", {"action": "stop", "confirm_stop": "on"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert status_of(app_db, session_id) == "stopped"


def test_discharge_override_needs_the_confirmation(app_client: TestClient,
                                                   app_db: Session) -> None:
    page, session_id, _ = page_for(app_client, app_db, minutes_ago=40,
                                   as_prescriber=True)
    for action in ("stop", "begin_observation"):
        post(app_client, f"{page}/action", {"action": action, "confirm_stop": "on"})
    html = app_client.get(page).text
    assert 'name="confirm_override"' in html
    # Too early for discharge and no scores: only a prescriber's override could discharge.
    form = {"override_reason": "patient well, escort waiting"}
    refused = post(app_client, f"{page}/discharge", form)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "I confirm the override" in refused.text  # type: ignore[attr-defined]
    assert 'value="patient well, escort waiting"' in refused.text  # type: ignore[attr-defined]
    assert status_of(app_db, session_id) == "observation"
