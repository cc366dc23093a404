"""Controlled-substance ledger input hardening on both databases: receipts bounded by the
formulary's vial sizes and witnessed by another clinical user, draws and waste bounded by stock
with the limit in the message, references to missing records as 422s naming the field; and on
PostgreSQL, the per-lot lock, proved with two connections racing for the last stock."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ketaflow.config import Role, Settings
from ketaflow.db import make_engine, make_session_factory, transaction
from ketaflow.errors import KetaflowError, ValidationFailed
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.controlled.models import LedgerRow
from ketaflow.infusions.rules import EntryKind
from tests.infusions.factories import (
    Clinic,
    ctx_for,
    infused,
    make_clinic,
    ready_to_start,
    stock,
)
from tests.infusions.test_api import started
from tests.support.databases import PostgresDatabases
from tests.support.factories import DEFAULT_PASSWORD, make_user

NEXT_YEAR = date.today() + timedelta(days=365)


def _receipt(**changes: object) -> ledger.Receipt:
    values: dict[str, object] = {
        "lot_number": "R-1", "drug": "ketamine_hcl", "expiry_date": NEXT_YEAR,
        "concentration_mg_per_ml": 50.0, "vial_count": 4, "vial_volume_ml": 10.0}
    values.update(changes)
    return ledger.Receipt(**values)  # type: ignore[arg-type]


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(LedgerRow)) or 0


def _refused(db: Session, call: Callable[[], object], field: str,
             says: str | None = None) -> ValidationFailed:
    before = _count(db)
    with pytest.raises(ValidationFailed) as error:
        call()
    assert error.value.field == field, error.value.detail
    if says is not None:
        assert says in error.value.detail
    assert _count(db) == before
    return error.value


@pytest.mark.parametrize(("changes", "field", "says"), [
    ({"vial_count": 51}, "vial_count", "from 1 to 50"),
    ({"vial_count": 0}, "vial_count", "from 1 to 50"),
    ({"vial_volume_ml": None, "vial_mg": 600.0}, "vial_mg", "at most 500 mg"),
    ({"vial_volume_ml": 30.0}, "vial_volume_ml", "at most 500 mg"),
    ({"concentration_mg_per_ml": 25.0}, "concentration_mg_per_ml", "10, 50, 100 mg/mL"),
    ({"drug": "ketamine (base)"}, "drug", "ketamine_hcl"),
    ({"expiry_date": date(2062, 1, 1)}, "expiry_date", "days ahead"),
])
def test_receipts_are_bounded_by_the_formulary(db: Session, settings: Settings,
                                               changes: dict[str, object], field: str,
                                               says: str) -> None:
    clinic = make_clinic(db)
    _refused(db, lambda: ledger.receive_vials(
        db, clinic.nurse_ctx, settings, receipt=_receipt(**changes),
        witness_id=clinic.prescriber.id, witness_password=DEFAULT_PASSWORD), field, says)


def test_a_receipt_is_witnessed_by_another_active_clinical_user(db: Session,
                                                                settings: Settings) -> None:
    clinic = make_clinic(db)

    def receive(witness_id: int | None, password: str = DEFAULT_PASSWORD) -> object:
        return ledger.receive_vials(db, clinic.nurse_ctx, settings, receipt=_receipt(),
                                    witness_id=witness_id, witness_password=password)

    _refused(db, lambda: receive(None), "witness_id")
    _refused(db, lambda: receive(clinic.nurse.id), "witness_id", "different staff member")
    _refused(db, lambda: receive(987_654), "witness_id", "active nurse or prescriber")
    for role in (Role.RESEARCHER, Role.ADMIN, Role.FRONT_DESK):
        other = make_user(db, role=role)
        _refused(db, lambda o=other: receive(o.id), "witness_id",  # type: ignore[misc]
                 "active nurse or prescriber")
    retired = make_user(db, role=Role.NURSE)
    retired.is_active = False
    db.flush()
    _refused(db, lambda: receive(retired.id), "witness_id")
    with pytest.raises(ledger.WitnessRefused):
        receive(clinic.prescriber.id, "wrong password")
    # Without the password step (record_entry directly) a receipt is refused too.
    _refused(db, lambda: ledger.record_entry(db, clinic.nurse_ctx, entry=ledger.EntryInput(
        EntryKind.RECEIVED, "R-9", 100, witness_user_id=clinic.prescriber.id)),
        "witness_password")
    row = receive(clinic.prescriber.id)
    assert isinstance(row, LedgerRow)
    assert (row.amount_mg, row.witness_user_id, row.drug) == (2000.0, clinic.prescriber.id,
                                                             "ketamine_hcl")


def test_draws_and_waste_are_bounded_by_what_the_lot_and_session_hold(
        db: Session, settings: Settings) -> None:
    clinic = make_clinic(db)
    stock(db, clinic, "S-1", 50)
    record = infused(db, clinic, ready_to_start(db, clinic, lot="S-1"))
    ledger.draw(db, clinic.nurse_ctx, lot_number="S-1", amount_mg=40, session_id=record.id)
    _refused(db, lambda: ledger.draw(db, clinic.nurse_ctx, lot_number="S-1", amount_mg=11,
                                     session_id=record.id), "amount_mg", "10 mg of S-1 in stock")
    ledger.administer(db, clinic.nurse_ctx, lot_number="S-1", amount_mg=35,
                      session_id=record.id)
    _refused(db, lambda: ledger.waste(
        db, clinic.nurse_ctx, settings, lot_number="S-1", amount_mg=6, session_id=record.id,
        witness_id=clinic.prescriber.id, witness_password=DEFAULT_PASSWORD),
        "amount_mg", "5 mg of S-1 still open")
    _refused(db, lambda: ledger.record_entry(db, clinic.nurse_ctx, witness_confirmed=True,
                                             entry=ledger.EntryInput(
        EntryKind.RECEIVED, "S-2", 10_000_000, witness_user_id=clinic.prescriber.id)),
        "amount_mg", "largest plausible receipt of 25000 mg")


def test_references_to_missing_records_are_422_naming_the_field(db: Session) -> None:
    clinic = make_clinic(db)
    stock(db, clinic, "M-1", 100)
    record = ready_to_start(db, clinic, lot="M-1")
    E = ledger.EntryInput
    _refused(db, lambda: ledger.draw(db, clinic.nurse_ctx, lot_number="M-1", amount_mg=5,
                                     session_id=424242), "session_id")
    _refused(db, lambda: ledger.administer(db, clinic.nurse_ctx, lot_number="M-1",
                                           amount_mg=5, session_id=424242), "session_id")
    _refused(db, lambda: ledger.reverse(db, clinic.nurse_ctx, entry_id=424242,
                                        reason="typo"), "reverses_id")
    _refused(db, lambda: ledger.record_entry(db, clinic.nurse_ctx, entry=E(
        EntryKind.DRAWN, "M-1", 5, session_id=record.id, witness_user_id=424242)), "witness_id")


def test_the_api_routes_each_kind_through_its_use_case(app_client: TestClient,
                                                       app_db: Session) -> None:
    nurse, prescriber, session_id = started(app_client, app_db)
    path = "/api/v1/controlled/entries"
    me = prescriber.get("/api/v1/me")
    receipt = {"kind": "received", "lot_number": "A-1", "drug": "ketamine_hcl",
               "expiry_date": str(NEXT_YEAR), "concentration_mg_per_ml": 10,
               "vial_count": 2, "vial_volume_ml": 20, "witness_user_id": me["id"],
               "witness_password": DEFAULT_PASSWORD}
    cases = [
        ({**receipt, "amount_mg": 400}, "amount_mg"),
        ({**receipt, "session_id": session_id}, "session_id"),
        ({**receipt, "witness_user_id": 424242}, "witness_user_id"),
        ({**receipt, "vial_count": 500}, "vial_count"),
        ({"kind": "drawn", "lot_number": "A-1", "amount_mg": 5, "session_id": 424242},
         "session_id"),
        ({"kind": "drawn", "lot_number": "A-1", "amount_mg": 5, "session_id": session_id,
          "witness_user_id": me["id"]}, "witness_user_id"),
        ({"kind": "reversal", "reverses_id": 424242, "reason": "typo"}, "reverses_id"),
    ]
    for body, field in cases:
        refused = app_client.post(path, headers=nurse.headers, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["field"] == field, (body, refused.json())
    assert nurse.post(path, receipt, expect=201)["amount_mg"] == 400
    drawn = {"kind": "drawn", "lot_number": "A-1", "amount_mg": 401, "session_id": session_id}
    over = nurse.post(path, drawn, expect=422)
    assert over["field"] == "amount_mg" and "400 mg of A-1 in stock" in over["detail"]


def test_witness_password_guessing_over_the_api_is_throttled_with_429(
        app_client: TestClient, app_db: Session) -> None:
    nurse, prescriber, _ = started(app_client, app_db)
    witness = prescriber.get("/api/v1/me")["id"]
    receipt = {"kind": "received", "lot_number": "T-1", "drug": "ketamine_hcl",
               "expiry_date": str(NEXT_YEAR), "concentration_mg_per_ml": 10,
               "vial_count": 1, "vial_volume_ml": 20, "witness_user_id": witness}
    path = "/api/v1/controlled/entries"
    for _ in range(5):  # the default per-account limit
        wrong = nurse.post(path, {**receipt, "witness_password": "a-guess!!"}, expect=422)
        assert wrong["field"] == "witness_password"
    blocked = app_client.post(path, headers=nurse.headers,
                              json={**receipt, "witness_password": DEFAULT_PASSWORD})
    assert blocked.status_code == 429, blocked.text
    assert blocked.headers["content-type"].startswith("application/problem+json")
    assert blocked.json()["field"] == "witness_password"
    assert "too many wrong witness passwords" in blocked.json()["detail"]


# ---------------------------------------------------------------- PostgreSQL: the lot lock


@pytest.fixture
def pg_factory(postgres_databases: PostgresDatabases):  # type: ignore[no-untyped-def]
    url = postgres_databases.fresh()
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()
    postgres_databases.drop(url)


def test_the_lock_is_per_lot(pg_factory) -> None:  # type: ignore[no-untyped-def]
    holder, other = pg_factory(), pg_factory()
    try:
        ledger.lock_lot(holder, "LOT-A")
        other.execute(text("SET LOCAL lock_timeout = '300ms'"))
        ledger.lock_lot(other, "LOT-B")  # another lot: granted at once
        with pytest.raises(OperationalError, match="lock timeout"):
            ledger.lock_lot(other, "LOT-A")  # the same lot: waits for the holder
    finally:
        other.rollback()
        holder.rollback()
        other.close()
        holder.close()


def _arrange_race(factory) -> tuple[Clinic, int]:  # type: ignore[no-untyped-def]
    with transaction(factory) as db:
        clinic = make_clinic(db)
        stock(db, clinic, "RACE-1", 50)
        session_id = ready_to_start(db, clinic, lot="RACE-1").id
    return clinic, session_id


def test_two_draws_for_the_last_stock_on_separate_connections(
        pg_factory, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Stock for one 40 mg draw; two nurses' tablets submit at the same instant. Exactly one
    draw is recorded, the other is refused naming the amount and what is left.

    To make the race certain rather than likely, each draw waits (up to 2 s) after reading the
    lot's entries for the other one to have read them too. With the lot lock the second draw
    cannot read until the first commits, so the wait just times out; without the lock both
    read 50 mg in stock, both pass, and the test fails."""
    clinic, session_id = _arrange_race(pg_factory)
    ctx = ctx_for(clinic.nurse)
    start, both_read = threading.Barrier(2), threading.Barrier(2)
    read_entries = ledger._entries

    def entries_then_wait(db: Session, lot_number: str | None = None) -> object:
        found = read_entries(db, lot_number)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=2)
        return found

    monkeypatch.setattr(ledger, "_entries", entries_then_wait)
    outcomes: list[object] = []

    def nurse_draws() -> None:
        start.wait(timeout=10)
        try:
            with transaction(pg_factory) as db:
                ledger.draw(db, ctx, lot_number="RACE-1", amount_mg=40, session_id=session_id)
            outcomes.append("drawn")
        except KetaflowError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=nurse_draws) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and outcomes.count("drawn") == 1, outcomes
    (refusal,) = [o for o in outcomes if isinstance(o, ValidationFailed)]
    assert refusal.field == "amount_mg" and "10 mg of RACE-1 in stock" in refusal.detail
    with pg_factory() as db:
        drawn = db.scalars(select(LedgerRow.amount_mg).where(
            LedgerRow.kind == EntryKind.DRAWN)).all()
    assert drawn == [40.0]
