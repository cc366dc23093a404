"""The ledger reconciled with the infusion record (both databases): the administer step never
runs ahead of the pump, and the report's figures, computed here independently from the order's
rate and the session's running time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.errors import ValidationFailed
from ketaflow.infusions import service
from ketaflow.infusions.controlled import reconciliation
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import EntryKind, SessionAction
from tests.infusions.factories import (
    Clinic,
    backdate,
    make_clinic,
    make_course,
    ready_to_start,
    stock,
)
from tests.patients.factories import make_patient
from tests.support.exports import formula_cells, read_csv
from tests.web.helpers import api_token, committed_user, sign_in

TODAY = datetime.now(UTC).date()
LOT = "R-1"


def _waste(db: Session, clinic: Clinic, session_id: int, amount_mg: float) -> None:
    """Witnessed waste (the password step is the pages' and API's own test)."""
    ledger.record_entry(db, clinic.nurse_ctx, witness_confirmed=True, entry=ledger.EntryInput(
        EntryKind.WASTED, LOT, amount_mg, session_id=session_id,
        witness_user_id=clinic.prescriber.id))


def _ran_and_aborted(db: Session, clinic: Clinic, family_name: str, *, minutes: float,
                     drawn_mg: float) -> InfusionSession:
    """A patient's session that ran `minutes` at the ordered rate and was then stopped
    (aborted: closed, nothing more will be charted), with `drawn_mg` drawn from LOT."""
    patient = make_patient(db, family_name=family_name)
    record = ready_to_start(db, clinic, make_course(db, clinic, patient=patient), lot=LOT)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.START)
    ledger.draw(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=drawn_mg, session_id=record.id)
    backdate(db, record, minutes)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.ABORT,
                         reason="line occluded")
    return service.load_session(db, record.id)


def _delivered_by_hand(record: InfusionSession) -> float:
    """Rate x running time at the order's concentration: the record had no pause or rate
    change, so this is all the pump gave (independent of the pump-history replay)."""
    order = record.orders[-1]
    assert record.started_at is not None and record.ended_at is not None
    minutes = (record.ended_at - record.started_at).total_seconds() / 60
    return order.rate_ml_per_h * minutes / 60 * order.concentration_mg_per_ml


@dataclass
class Scene:
    clinic: Clinic
    balanced: InfusionSession   # stopped at 20 min: 17.5 mg given, the rest wasted
    short: InfusionSession      # ran 41 min, but only 30 mg logged as given and 5 mg wasted


def _scene(db: Session) -> Scene:
    clinic = make_clinic(db)
    stock(db, clinic, LOT, 500)
    balanced = _ran_and_aborted(db, clinic, "Quill", minutes=20, drawn_mg=35)
    given = round(_delivered_by_hand(balanced), 3)
    ledger.administer(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=given,
                      session_id=balanced.id)
    _waste(db, clinic, balanced.id, 35 - given)
    short = _ran_and_aborted(db, clinic, "Ravel", minutes=41, drawn_mg=40)
    ledger.administer(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=30, session_id=short.id)
    _waste(db, clinic, short.id, 5)
    return Scene(clinic, balanced, short)


def test_administered_is_refused_beyond_what_the_pump_delivered(db: Session) -> None:
    clinic = make_clinic(db)
    stock(db, clinic, LOT, 500)
    record = ready_to_start(db, clinic, lot=LOT)
    # Before the start nothing has been delivered.
    ledger.draw(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=36, session_id=record.id)
    with pytest.raises(ValidationFailed) as before_start:
        ledger.administer(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=1,
                          session_id=record.id)
    assert before_start.value.field == "amount_mg"
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id, action=SessionAction.START)
    backdate(db, record, 1.1)
    # The issue: 36 mg "administered" after 1.1 min was accepted.
    with pytest.raises(ValidationFailed) as early:
        ledger.administer(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=36,
                          session_id=record.id)
    assert early.value.field == "amount_mg"
    assert "shows delivered so far" in early.value.detail
    assert "tolerance 0.5 mg" in early.value.detail
    assert [r.kind for r in ledger.ledger_rows(db, clinic.nurse_ctx)
            if r.session_id == record.id] == [EntryKind.DRAWN]
    # What has run so far may be recorded (the tolerance covers rounding), in parts.
    so_far = 52.5 * 1.1 / 60
    ledger.administer(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=round(so_far, 2),
                      session_id=record.id)
    with pytest.raises(ValidationFailed):
        ledger.administer(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=1,
                          session_id=record.id)
    backdate(db, record, 40)
    ledger.administer(db, clinic.nurse_ctx, lot_number=LOT, amount_mg=34, session_id=record.id)


def test_report_figures_per_session_and_per_lot(db: Session) -> None:
    scene = _scene(db)
    report = reconciliation.build_report(db, start=TODAY - timedelta(days=1),
                                         end=TODAY + timedelta(days=1), timezone="UTC")
    lines = {s.line.session_id: s for s in report.sessions}
    assert set(lines) == {scene.balanced.id, scene.short.id}
    balanced, short = lines[scene.balanced.id], lines[scene.short.id]
    expected_balanced = _delivered_by_hand(scene.balanced)
    expected_short = _delivered_by_hand(scene.short)
    assert expected_balanced == pytest.approx(17.5, abs=0.05)  # 52.5 mL/h for 20 min
    assert balanced.line.delivered_mg == pytest.approx(expected_balanced, abs=1e-6)
    assert (balanced.line.drawn_mg, balanced.line.wasted_mg) == (35, pytest.approx(
        35 - round(expected_balanced, 3)))
    assert not balanced.line.flagged
    assert short.line.delivered_mg == pytest.approx(expected_short, abs=1e-6)
    assert short.line.discrepancy_mg == pytest.approx(30 - expected_short, abs=1e-6)
    assert short.line.unaccounted_mg == pytest.approx(5)
    assert short.line.delivery_flagged and short.line.accounting_flagged
    assert reconciliation.flags(short, 0.5) == [
        "administered differs from delivered by more than 0.5 mg",
        "drawn is not administered + wasted"]
    assert short.patient is not None and short.patient.family_name == "Ravel"
    assert (short.order_lot, short.line.lots) == (LOT, (LOT,))
    [lot] = [m for m in report.lots if m.lot_number == LOT]
    assert (lot.opening_mg, lot.received_mg, lot.drawn_mg) == (0, 500, 75)
    assert lot.wasted_mg == pytest.approx(35 - round(expected_balanced, 3) + 5)
    assert lot.balance_mg == pytest.approx(425) == ledger.inventory(db)[LOT]


def test_a_range_before_the_sessions_lists_none_and_bad_ranges_name_the_field(
        db: Session) -> None:
    _scene(db)
    earlier = reconciliation.build_report(db, start=TODAY - timedelta(days=9),
                                          end=TODAY - timedelta(days=2), timezone="UTC")
    assert earlier.sessions == []
    with pytest.raises(ValidationFailed) as refused:
        reconciliation.report_range(TODAY, TODAY - timedelta(days=1), TODAY)
    assert refused.value.field == "date_from" and "From must be on or before To" \
        in refused.value.detail
    with pytest.raises(ValidationFailed):
        reconciliation.report_range(TODAY - timedelta(days=400), TODAY, TODAY)


def test_the_monthly_ranges_are_this_month_so_far_and_the_last_whole_month() -> None:
    assert reconciliation.month_ranges(date(2027, 1, 14)) == [
        ("This month so far", date(2027, 1, 1), date(2027, 1, 14)),
        ("Last month (December 2026)", date(2026, 12, 1), date(2026, 12, 31))]
    assert reconciliation.month_ranges(date(2028, 3, 1))[1][1:] == (date(2028, 2, 1),
                                                                   date(2028, 2, 29))


def test_page_csv_and_api(app_client: TestClient, app_db: Session) -> None:
    scene = _scene(app_db)
    stock(app_db, scene.clinic, "=SUM(1+1)", 100)  # a hostile lot number, as text once was
    app_db.commit()
    assert sign_in(app_client, scene.clinic.nurse.username) == 303
    html = app_client.get("/controlled/reconciliation").text
    assert "1 flagged" in html and "RAVEL" in html and "QUILL" in html
    assert f'<tr class="flagged" data-session="{scene.short.id}">' in html
    assert f'<tr class="" data-session="{scene.balanced.id}">' in html
    assert "MRN" in html and "born" in html and "reconciled" in html
    assert "/controlled/reconciliation" in app_client.get("/controlled").text
    bad = app_client.get("/controlled/reconciliation",
                         params={"date_from": str(TODAY), "date_to": str(TODAY - timedelta(1))})
    assert bad.status_code == 422 and "From must be on or before To" in bad.text
    exported = app_client.get("/controlled/reconciliation.csv")
    assert exported.status_code == 200 and "attachment" in exported.headers[
        "content-disposition"]
    session_part, lot_part = exported.text.split("\r\n\r\n")  # sessions, a blank row, lots
    rows, lot_rows = read_csv(session_part), read_csv(lot_part)
    sessions = {r["session_id"]: r for r in rows}
    assert sessions[str(scene.short.id)]["flags"].startswith("administered differs")
    assert sessions[str(scene.short.id)]["administered_mg"] == "30"
    assert sessions[str(scene.balanced.id)]["flags"] == ""
    assert {r["lot_number"]: r["balance_mg"] for r in lot_rows}[LOT] == "425"
    assert "'=SUM(1+1)" in exported.text
    assert formula_cells(rows) == formula_cells(lot_rows) == []
    token = api_token(app_db, scene.clinic.nurse)
    got = app_client.get("/api/v1/controlled/reconciliation",
                         headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200
    body = got.json()
    by_id = {s["session_id"]: s for s in body["sessions"]}
    assert by_id[scene.short.id]["flagged"] and not by_id[scene.balanced.id]["flagged"]
    assert by_id[scene.short.id]["unaccounted_mg"] == 5.0
    assert by_id[scene.short.id]["patient_name"].startswith("RAVEL")
    assert by_id[scene.short.id]["mrn"] and by_id[scene.short.id]["date_of_birth"]
    assert {lot["lot_number"]: lot["balance_mg"] for lot in body["lots"]}[LOT] == 425.0
    problem = app_client.get("/api/v1/controlled/reconciliation", params={
        "date_from": str(TODAY), "date_to": str(TODAY - timedelta(1))},
        headers={"Authorization": f"Bearer {token}"})
    assert problem.status_code == 422 and problem.json()["field"] == "date_from"
    assert problem.headers["content-type"].startswith("application/problem+json")
    front = api_token(app_db, committed_user(app_db, Role.FRONT_DESK))
    assert app_client.get("/api/v1/controlled/reconciliation",
                          headers={"Authorization": f"Bearer {front}"}).status_code == 403
    audited = app_db.scalars(select(AuditEvent).where(
        AuditEvent.action == "controlled.reconciliation.read")).all()
    assert audited and scene.short.id in json.loads(audited[-1].detail)["flagged_session_ids"]
