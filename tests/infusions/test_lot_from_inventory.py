"""The order's lot comes from the controlled-substance inventory (both databases): drug and
expiry from the receipt; unknown, mismatched, expired and empty lots refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.errors import ValidationFailed
from ketaflow.infusions import service
from ketaflow.infusions.controlled import lots
from ketaflow.infusions.controlled import service as ledger
from ketaflow.infusions.models import InfusionOrder, InfusionSession
from ketaflow.infusions.rules import SessionAction
from tests.infusions.factories import (
    Clinic,
    make_clinic,
    make_course,
    order_input,
    ready_to_start,
    stock,
)
from tests.infusions.test_api import BASE, arrange

TODAY = datetime.now(UTC).date()


def _in_prechecks(db: Session) -> tuple[Clinic, InfusionSession]:
    clinic = make_clinic(db)
    record = service.open_session(db, clinic.nurse_ctx, course_id=make_course(db, clinic).id)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                         action=SessionAction.BEGIN_PRECHECKS)
    return clinic, record


def _refused(db: Session, clinic: Clinic, record: InfusionSession, **changes: object
             ) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(**changes))
    assert db.scalar(select(func.count()).select_from(InfusionOrder).where(
        InfusionOrder.session_id == record.id)) == 0  # nothing signed
    return refused.value


def test_the_order_takes_drug_and_expiry_from_the_receipt(db: Session) -> None:
    clinic, record = _in_prechecks(db)
    expiry = TODAY + timedelta(days=45)
    stock(db, clinic, "K-7", 500, expiry_date=expiry)
    signed = service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                                order=order_input(lot_number="K-7"))
    assert (signed.lot_number, signed.drug, signed.expiry_date) == ("K-7", "ketamine_hcl",
                                                                    expiry)


def test_an_unknown_lot_is_refused(db: Session) -> None:
    clinic, record = _in_prechecks(db)
    refused = _refused(db, clinic, record, lot_number="NEVER-RECEIVED")
    assert refused.field == "lot_number"
    assert "no stock of lot NEVER-RECEIVED has been received" in refused.detail


def test_a_lot_of_another_drug_is_refused(db: Session) -> None:
    clinic, record = _in_prechecks(db)
    # Written past the receipt form (which only takes formulary drugs), as an older row could be.
    stock(db, clinic, "E-1", 500, drug="esketamine")
    refused = _refused(db, clinic, record, lot_number="E-1", drug="ketamine_hcl")
    assert refused.field == "lot_number" and "E-1 is esketamine" in refused.detail


def test_a_bag_stronger_than_the_lots_vials_is_refused(db: Session) -> None:
    clinic, record = _in_prechecks(db)
    stock(db, clinic, "W-1", 500, concentration_mg_per_ml=1.0)  # a pre-formulary receipt
    refused = _refused(db, clinic, record, lot_number="W-1", concentration_mg_per_ml=2.0)
    assert refused.field == "concentration_mg_per_ml" and "cannot be made" in refused.detail
    assert service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                              order=order_input(lot_number="W-1")).lot_number == "W-1"


def test_an_expired_lot_and_a_mistyped_expiry_are_refused(db: Session) -> None:
    clinic, record = _in_prechecks(db)
    stock(db, clinic, "X-1", 500, expiry_date=TODAY - timedelta(days=1))
    refused = _refused(db, clinic, record, lot_number="X-1")
    assert refused.field == "expiry_date" and "X-1 expired on" in refused.detail
    stock(db, clinic, "X-2", 500, expiry_date=TODAY + timedelta(days=10))
    mistyped = _refused(db, clinic, record, lot_number="X-2",
                        expiry_date=TODAY + timedelta(days=11))
    assert mistyped.field == "expiry_date" and "per its receipt" in mistyped.detail
    # Usable on its expiry day.
    stock(db, clinic, "X-3", 500, expiry_date=TODAY)
    assert service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                              order=order_input(lot_number="X-3")).expiry_date == TODAY


def test_an_empty_lot_counts_what_other_sessions_drew(db: Session) -> None:
    clinic, record = _in_prechecks(db)
    stock(db, clinic, "E-9", 60)
    # Another patient's session draws 30 mg: 30 mg left, less than the 35 mg order.
    other = ready_to_start(db, clinic, lot="E-9")
    ledger.draw(db, clinic.nurse_ctx, lot_number="E-9", amount_mg=30, session_id=other.id)
    refused = _refused(db, clinic, record, lot_number="E-9")
    assert refused.field == "lot_number" and "holds 30 mg, less than the ordered 35 mg" \
        in refused.detail


def test_drug_drawn_for_this_session_still_counts_for_it(db: Session) -> None:
    clinic = make_clinic(db)
    stock(db, clinic, "D-1", 40)
    record = ready_to_start(db, clinic, lot="D-1")
    ledger.draw(db, clinic.nurse_ctx, lot_number="D-1", amount_mg=35, session_id=record.id)
    # 5 mg in stock, but the 35 mg drawn for this patient is still in hand: a re-signed order
    # on the same lot is allowed.
    again = service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                               order=order_input(lot_number="D-1", supersede_reason="recheck"))
    assert again.lot_number == "D-1"


def test_the_form_offers_only_usable_lots(db: Session) -> None:
    clinic = make_clinic(db)
    stock(db, clinic, "OK-2", 500, expiry_date=TODAY + timedelta(days=90))
    stock(db, clinic, "OK-1", 500, expiry_date=TODAY + timedelta(days=30))
    stock(db, clinic, "OLD", 500, expiry_date=TODAY - timedelta(days=1))
    stock(db, clinic, "GONE", 40)
    record = ready_to_start(db, clinic, lot="GONE")
    ledger.draw(db, clinic.nurse_ctx, lot_number="GONE", amount_mg=40, session_id=record.id)
    offered = lots.order_lots(db, day=TODAY)
    assert [c.value for c in offered] == ["OK-1", "OK-2"]  # soonest expiry first
    assert offered[0].label == (f"OK-1 · expires {TODAY + timedelta(days=30)} · 500 mg in "
                                "stock · Ketamine hydrochloride 50 mg/mL vials")


def test_the_api_applies_the_same_rules(app_client: TestClient, app_db: Session) -> None:
    nurse, prescriber, course_id = arrange(app_client, app_db)
    session_id = nurse.post(BASE, {"course_id": course_id}, expect=201)["id"]
    body = {"lot_number": "NOPE", "concentration_mg_per_ml": 1.0, "duration_min": 40}
    unknown = prescriber.post(f"{BASE}/{session_id}/order", body, expect=422)
    assert unknown["field"] == "lot_number" and unknown["status"] == 422
    assert "no stock of lot NOPE" in unknown["detail"]
    clinic = make_clinic(app_db)
    stock(app_db, clinic, "OLD-1", 500, expiry_date=TODAY - timedelta(days=2))
    app_db.commit()
    expired = prescriber.post(f"{BASE}/{session_id}/order", {**body, "lot_number": "OLD-1"},
                              expect=422)
    assert expired["field"] == "expiry_date" and "OLD-1 expired on" in expired["detail"]
    signed = prescriber.post(f"{BASE}/{session_id}/order",
                             {**body, "lot_number": "ORDER-LOT-1"}, expect=201)
    assert signed["drug"] == "ketamine_hcl" and signed["lot_number"] == "ORDER-LOT-1"
