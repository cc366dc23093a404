"""Controlled-substance log pages on both databases: inventory and discrepancies, the receive,
draw, administer and witnessed-waste forms, refusals (422, field named, input kept), reversals
that keep the original, the CSV export, and who may see the log."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.auth.models import StaffUser
from ketaflow.config import Role
from ketaflow.infusions import service
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.models import InfusionSession
from ketaflow.infusions.rules import EntryKind, SessionAction
from tests.infusions.factories import Clinic, infused, make_clinic, ready_to_start, stock
from tests.support.exports import formula_cells, hostile, read_csv
from tests.support.factories import DEFAULT_PASSWORD, make_user
from tests.web.helpers import committed_user, csrf, sign_in

NEXT_YEAR = str(date.today() + timedelta(days=365))


def post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data={"csrf_token": csrf(client), **data})


def arrange(app_db: Session, *, stock_mg: float = 500, infuse: bool = False
            ) -> tuple[Clinic, int]:
    """A nurse and a prescriber, lot K-1 in stock and a session in pre-checks (`infuse`: one
    whose pump has run 41 minutes, the 35 mg order delivered)."""
    clinic = make_clinic(app_db)
    stock(app_db, clinic, "K-1", stock_mg)
    record = ready_to_start(app_db, clinic, lot="K-1")
    if infuse:
        infused(app_db, clinic, record)
    app_db.commit()
    return clinic, record.id


def rows(app_db: Session) -> list[LedgerRow]:
    """The ledger rows (append-only, so never stale). The read transaction is ended (commit:
    nothing is expired) so that on SQLite it does not hold the lock the app's next request
    needs."""
    found = list(app_db.scalars(select(LedgerRow).order_by(LedgerRow.id)))
    app_db.commit()
    return found


def on_hand(app_db: Session, lot: str) -> float:
    stock = ledger.inventory(app_db)[lot]
    app_db.commit()
    return stock


def test_page_shows_inventory_discrepancies_and_entries(app_client: TestClient,
                                                        app_db: Session) -> None:
    clinic, session_id = arrange(app_db)
    E = ledger.EntryInput
    ledger.record_entry(app_db, clinic.nurse_ctx, entry=E(EntryKind.DRAWN, "K-1", 50,
                                                          session_id=session_id))
    ledger.record_entry(app_db, clinic.nurse_ctx, entry=E(EntryKind.ADMINISTERED, "K-1", 35,
                                                          session_id=session_id))
    # The session ran and ended with 15 mg drawn but neither given nor wasted: a discrepancy.
    # The start time is set directly so this test does not depend on the pre-check rules.
    record = app_db.get(InfusionSession, session_id)
    assert record is not None
    record.started_at = datetime.now(UTC) - timedelta(minutes=30)
    service.apply_action(app_db, clinic.nurse_ctx, session_id=session_id,
                         action=SessionAction.ABORT, reason="pump fault")
    app_db.commit()
    assert sign_in(app_client, clinic.nurse.username) == 303
    page = app_client.get("/controlled")
    assert page.status_code == 200
    html = page.text
    inventory = re.search(r"<strong>K-1</strong></td>(.*?)</tr>", html, re.S)
    assert inventory is not None
    cells = re.findall(r'<td class="num[^"]*">([^<]*)', inventory.group(1))
    assert cells == ["50", "500 mg", "50 mg", "35 mg", "0 mg", "450 mg"]
    assert "Discrepancies (1)" in html and '<td class="num unaccounted">15 mg</td>' in html
    assert f'href="/infusions/sessions/{session_id}"' in html
    assert html.count('class="kind kind-') == 3 and "style=" not in html
    assert 'href="/controlled" aria-current="page">Controlled substances' in html
    board = app_client.get("/infusions").text
    assert 'href="/controlled">Controlled-substance log' in board


def test_receive_draw_administer_and_waste_through_the_forms(app_client: TestClient,
                                                             app_db: Session) -> None:
    clinic, session_id = arrange(app_db, infuse=True)
    assert sign_in(app_client, clinic.nurse.username) == 303
    received = post(app_client, "/controlled/receive", {
        "lot_number": "K-2", "drug": "ketamine_hcl", "expiry_date": NEXT_YEAR,
        "concentration_mg_per_ml": "50", "vial_count": "4", "vial_volume_ml": "10",
        "witness_id": str(clinic.prescriber.id), "witness_password": DEFAULT_PASSWORD})
    assert received.status_code == 303
    assert received.headers["location"] == "/controlled?done=receive#entries"
    assert "Receipt recorded." in app_client.get(received.headers["location"]).text
    drawn = post(app_client, "/controlled/draw", {"session_id": str(session_id),
                                                  "lot_number": "K-2", "amount_mg": "50"})
    given = post(app_client, "/controlled/administer", {
        "session_id": str(session_id), "lot_number": "K-2", "amount_mg": "35"})
    wasted = post(app_client, "/controlled/waste", {
        "session_id": str(session_id), "lot_number": "K-2", "amount_mg": "15",
        "witness_id": str(clinic.prescriber.id), "witness_password": DEFAULT_PASSWORD})
    assert [r.status_code for r in (drawn, given, wasted)] == [303, 303, 303]
    found = [(r.kind, r.lot_number, r.amount_mg, r.session_id, r.witness_user_id)
             for r in rows(app_db)[1:]]
    assert found == [(EntryKind.RECEIVED, "K-2", 2000.0, None, clinic.prescriber.id),
                     (EntryKind.DRAWN, "K-2", 50.0, session_id, None),
                     (EntryKind.ADMINISTERED, "K-2", 35.0, session_id, None),
                     (EntryKind.WASTED, "K-2", 15.0, session_id, clinic.prescriber.id)]
    assert rows(app_db)[1].reason == "4 vial(s) x 500 mg (10 mL)"
    assert on_hand(app_db, "K-2") == 1950
    # Recording the same dose again would exceed what was drawn: refused, nothing saved.
    again = post(app_client, "/controlled/administer", {
        "session_id": str(session_id), "lot_number": "K-2", "amount_mg": "35"})
    assert again.status_code == 422 and "exceed what was drawn" in again.text
    assert len(rows(app_db)) == 5


@pytest.mark.parametrize(("path", "data", "message", "field"), [
    ("/controlled/receive", {"lot_number": "K-3", "drug": "ketamine_hcl",
                             "expiry_date": NEXT_YEAR, "concentration_mg_per_ml": "50",
                             "vial_count": "two", "vial_mg": "500"},
     "Number of vials must be a number", "vial_count"),
    ("/controlled/receive", {"lot_number": "K-3", "drug": "ketamine_hcl",
                             "expiry_date": "2001-01-01", "concentration_mg_per_ml": "50",
                             "vial_count": "2", "vial_mg": "500"},
     "Expiry date has passed", "expiry_date"),
    ("/controlled/receive", {"lot_number": "K-1", "drug": "ketamine_hcl",
                             "expiry_date": NEXT_YEAR, "concentration_mg_per_ml": "100",
                             "vial_count": "2", "vial_mg": "500"},
     "Concentration differs from earlier receipts", "concentration_mg_per_ml"),
    ("/controlled/draw", {"lot_number": "K-1", "amount_mg": "9000", "session_id": "SESSION"},
     "Amount (mg) exceeds the lot&#39;s remaining inventory", "amount_mg"),
])
def test_refused_forms_name_the_field_and_keep_the_input(
        app_client: TestClient, app_db: Session, path: str, data: dict[str, str],
        message: str, field: str) -> None:
    clinic, session_id = arrange(app_db)
    data = {k: str(session_id) if v == "SESSION" else v for k, v in data.items()}
    assert sign_in(app_client, clinic.nurse.username) == 303
    refused = post(app_client, path, data)
    assert refused.status_code == 422
    assert message in refused.text
    tag = re.search(rf'<(?:input|select)[^>]*name="{field}"[^>]*>', refused.text)
    assert tag is not None and 'aria-invalid="true"' in tag.group(0)
    for value in data.values():
        assert f'value="{value}"' in refused.text
    assert len(rows(app_db)) == 1


def _waste(app_client: TestClient, session_id: int, witness_id: int,
           password: str) -> Any:
    return post(app_client, "/controlled/waste", {
        "session_id": str(session_id), "lot_number": "K-1", "amount_mg": "15",
        "witness_id": str(witness_id), "witness_password": password})


def _drawn(app_db: Session, clinic: Clinic, session_id: int) -> None:
    ledger.record_entry(app_db, clinic.nurse_ctx, entry=ledger.EntryInput(
        EntryKind.DRAWN, "K-1", 50, session_id=session_id))
    app_db.commit()


def test_the_waster_cannot_witness_their_own_waste(app_client: TestClient,
                                                   app_db: Session) -> None:
    clinic, session_id = arrange(app_db)
    _drawn(app_db, clinic, session_id)
    assert sign_in(app_client, clinic.nurse.username) == 303
    page = app_client.get("/controlled").text
    witness_options = re.search(r'name="witness_id".*?</select>', page, re.S)
    assert witness_options is not None
    assert f'value="{clinic.prescriber.id}"' in witness_options.group(0)
    assert f'value="{clinic.nurse.id}"' not in witness_options.group(0)
    refused = _waste(app_client, session_id, clinic.nurse.id, DEFAULT_PASSWORD)
    assert refused.status_code == 422
    assert "the witness must be a different staff member" in refused.text
    assert [r.kind for r in rows(app_db)] == [EntryKind.RECEIVED, EntryKind.DRAWN]


def test_a_wrong_witness_password_is_refused_and_audited(app_client: TestClient,
                                                         app_db: Session) -> None:
    clinic, session_id = arrange(app_db)
    _drawn(app_db, clinic, session_id)
    assert sign_in(app_client, clinic.nurse.username) == 303
    refused = _waste(app_client, session_id, clinic.prescriber.id, "not-their-password")
    assert refused.status_code == 422
    assert "the witness password is wrong" in refused.text
    assert "not-their-password" not in refused.text  # a password is never sent back
    assert [r.kind for r in rows(app_db)] == [EntryKind.RECEIVED, EntryKind.DRAWN]
    event = app_db.scalars(select(AuditEvent).where(
        AuditEvent.action == "controlled.witness")).one()
    app_db.commit()
    assert (event.outcome, event.actor_user_id, event.entity_id) == (
        "failure", clinic.nurse.id, str(clinic.prescriber.id))
    assert "not-their-password" not in event.detail
    # A deactivated account or a front-desk user is no witness either.
    desk = committed_user(app_db, Role.FRONT_DESK)
    other = _waste(app_client, session_id, desk.id, DEFAULT_PASSWORD)
    assert other.status_code == 422 and "active nurse or prescriber" in other.text


def test_witness_password_guessing_is_throttled_like_sign_in(app_client: TestClient,
                                                             app_db: Session) -> None:
    clinic, session_id = arrange(app_db)
    _drawn(app_db, clinic, session_id)
    assert sign_in(app_client, clinic.nurse.username) == 303
    for _ in range(5):  # the default per-account limit
        assert _waste(app_client, session_id, clinic.prescriber.id, "a-guess!!").status_code == 422
    blocked = _waste(app_client, session_id, clinic.prescriber.id, DEFAULT_PASSWORD)
    assert blocked.status_code == 422 and "too many wrong witness passwords" in blocked.text
    assert [r.kind for r in rows(app_db)] == [EntryKind.RECEIVED, EntryKind.DRAWN]
    # The witness's own sign-in is throttled too: the guesses counted against the account.
    app_client.post("/logout", data={"csrf_token": csrf(app_client)})
    assert sign_in(app_client, clinic.prescriber.username) == 429


def test_a_reversal_keeps_the_original(app_client: TestClient, app_db: Session) -> None:
    clinic, session_id = arrange(app_db)
    _drawn(app_db, clinic, session_id)
    drawn_id = rows(app_db)[-1].id
    assert sign_in(app_client, clinic.prescriber.username) == 303
    no_reason = post(app_client, "/controlled/reverse", {"reverses_id": str(drawn_id)})
    assert no_reason.status_code == 422 and "a reversal needs a reason" in no_reason.text
    assert f'<option value="{drawn_id}" selected>' in no_reason.text
    done = post(app_client, "/controlled/reverse", {"reverses_id": str(drawn_id),
                                                     "reason": "wrong lot scanned"})
    assert done.status_code == 303
    original, reversal = rows(app_db)[1:]
    assert (original.id, original.kind, original.amount_mg) == (drawn_id, EntryKind.DRAWN, 50)
    assert (reversal.kind, reversal.reverses_id, reversal.reason) == (
        EntryKind.REVERSAL, drawn_id, "wrong lot scanned")
    assert on_hand(app_db, "K-1") == 500
    html = app_client.get("/controlled").text
    assert f"reversed by #{reversal.id}" in html and f"reverses #{drawn_id}" in html
    twice = post(app_client, "/controlled/reverse", {"reverses_id": str(drawn_id),
                                                      "reason": "again"})
    assert twice.status_code == 422 and "already been reversed" in twice.text


def test_csv_export_for_a_date_range(app_client: TestClient, app_db: Session) -> None:
    clinic, session_id = arrange(app_db)
    _drawn(app_db, clinic, session_id)
    assert sign_in(app_client, clinic.nurse.username) == 303
    today = datetime.now(UTC).date()
    export = app_client.get("/controlled/export.csv",
                            params={"date_from": str(today), "date_to": str(today)})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert f"controlled-ledger-{today}-{today}.csv" in export.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["kind"], r["lot_number"], r["amount_mg"], r["session_id"], r["staff"])
            for r in table] == [("received", "K-1", "500", "", clinic.nurse.username),
                                ("drawn", "K-1", "50", str(session_id), clinic.nurse.username)]
    earlier = app_client.get("/controlled/export.csv", params={
        "date_from": str(today - timedelta(days=9)), "date_to": str(today - timedelta(days=2))})
    assert earlier.text.strip() == ",".join(ledger_columns())
    backwards = app_client.get("/controlled/export.csv", params={
        "date_from": str(today), "date_to": str(today - timedelta(days=1))})
    assert backwards.status_code == 422
    assert "From must be on or before To" in backwards.text
    assert app_db.scalars(select(AuditEvent).where(
        AuditEvent.action == "controlled.export")).all()


@pytest.mark.parametrize("lead", ["=", "+", "-", "@"])
def test_csv_export_neutralises_formulas_in_every_text_field(
    app_client: TestClient, app_db: Session, lead: str
) -> None:
    clinic = make_clinic(app_db)
    exporter = make_user(app_db, role=Role.NURSE)
    text_fields = ("lot_number", "drug", "reason")
    values = {field: hostile(lead, field) for field in text_fields}
    stock(app_db, clinic, "K-1", 500)
    # Rows from before the formulary hold free text: the export must be safe for those too
    # (written past the append-only guard, as such a row once was).
    app_db.connection().execute(update(LedgerRow.__table__).values(**values))
    # Usernames are validated today ([a-z][a-z0-9._-]*), but the export must not rely on that.
    for user, column in ((clinic.nurse, "staff"), (clinic.prescriber, "witness")):
        values[column] = hostile(lead, column)
        app_db.execute(update(StaffUser).where(StaffUser.id == user.id)
                       .values(username=values[column]))
    app_db.commit()
    assert sign_in(app_client, exporter.username) == 303
    export = app_client.get("/controlled/export.csv")
    assert export.status_code == 200
    table = read_csv(export.text)
    assert formula_cells(table) == []
    [row] = table
    assert {column: row[column] for column in values} == {
        column: "'" + value for column, value in values.items()}
    # Numbers stay numbers a spreadsheet can add up.
    assert (row["amount_mg"], row["concentration_mg_per_ml"]) == ("500", "50")


def ledger_columns() -> tuple[str, ...]:
    from ketaflow.infusions.controlled.views import CSV_COLUMNS
    return CSV_COLUMNS


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.RESEARCHER, Role.ADMIN])
def test_other_roles_are_refused(app_client: TestClient, app_db: Session, role: Role) -> None:
    user = committed_user(app_db, role)
    assert sign_in(app_client, user.username) == 303
    assert app_client.get("/controlled").status_code == 403
    assert app_client.get("/controlled/export.csv").status_code == 403
    assert post(app_client, "/controlled/receive", {"lot_number": "X"}).status_code == 403
    assert "Controlled substances" not in app_client.get("/").text
