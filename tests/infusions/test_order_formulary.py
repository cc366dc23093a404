"""The order's drug comes from the clinic formulary: free text, an unlisted concentration or
the wrong salt is refused (422 naming the field, nothing stored); the page offers selects."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.dosing import SaltForm
from ketaflow.errors import ValidationFailed
from ketaflow.infusions import service
from ketaflow.infusions.formulary import INFUSION_DRUGS, KETAMINE_HCL, drug_name
from ketaflow.infusions.models import InfusionOrder
from ketaflow.infusions.rules import SessionAction
from tests.infusions.factories import make_clinic, make_course, order_input
from tests.infusions.test_api import BASE, arrange
from tests.infusions.test_pages import arrange as page_arrange
from tests.infusions.test_pages import post
from tests.web.helpers import sign_in


def test_formulary_lists_ketamine_with_its_labelled_concentrations() -> None:
    assert [d.key for d in INFUSION_DRUGS] == ["ketamine_hcl"]
    assert KETAMINE_HCL.concentration_salt is SaltForm.BASE
    assert KETAMINE_HCL.vial_concentrations_mg_per_ml == (10.0, 50.0, 100.0)
    assert KETAMINE_HCL.order_concentrations_mg_per_ml == (1.0, 2.0, 10.0)
    assert KETAMINE_HCL.largest_vial_mg == 500.0
    assert "Ketalar" in KETAMINE_HCL.source
    assert drug_name("ketamine_hcl") == "Ketamine hydrochloride"
    assert drug_name("ketamine (legacy text)") == "ketamine (legacy text)"


@pytest.mark.parametrize(("changes", "field"), [
    ({"drug": "ketamine"}, "drug"),
    ({"drug": "esketamine"}, "drug"),
    ({"drug": ""}, "drug"),
    ({"concentration_mg_per_ml": 5.0}, "concentration_mg_per_ml"),
    ({"concentration_mg_per_ml": 100.0}, "concentration_mg_per_ml"),
    ({"concentration_salt": SaltForm.HYDROCHLORIDE}, "concentration_salt"),
])
def test_anything_outside_the_formulary_is_refused(db: Session, changes: dict[str, object],
                                                   field: str) -> None:
    clinic = make_clinic(db)
    course = make_course(db, clinic, order_lot=True)
    record = service.open_session(db, clinic.nurse_ctx, course_id=course.id)
    service.apply_action(db, clinic.nurse_ctx, session_id=record.id,
                         action=SessionAction.BEGIN_PRECHECKS)
    with pytest.raises(ValidationFailed) as error:
        service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                           order=order_input(**changes))
    assert error.value.field == field
    assert db.scalar(select(func.count()).select_from(InfusionOrder)) == 0
    signed = service.sign_order(db, clinic.prescriber_ctx, session_id=record.id,
                                order=order_input(concentration_mg_per_ml=2.0))
    assert (signed.drug, signed.concentration_mg_per_ml) == ("ketamine_hcl", 2.0)


def test_api_and_page_refuse_free_text_drugs(app_client: TestClient, app_db: Session) -> None:
    nurse, prescriber, course_id = arrange(app_client, app_db)
    session_id = nurse.post(BASE, {"course_id": course_id}, expect=201)["id"]
    body = {"drug": "Ketamine 50mg/ml", "lot_number": "L-1", "concentration_mg_per_ml": 1,
            "duration_min": 40,
            "expiry_date": str((datetime.now(UTC) + timedelta(days=90)).date())}
    api = app_client.post(f"{BASE}/{session_id}/order", headers=prescriber.headers, json=body)
    assert api.status_code == 422 and api.json()["field"] == "drug"
    assert "ketamine_hcl" in api.json()["detail"]
    wrong = app_client.post(f"{BASE}/{session_id}/order", headers=prescriber.headers,
                            json={**body, "drug": "ketamine_hcl", "concentration_mg_per_ml": 3})
    assert wrong.status_code == 422 and wrong.json()["field"] == "concentration_mg_per_ml"
    assert "1, 2, 10 mg/mL" in wrong.json()["detail"]



def test_the_order_form_offers_selects_and_keeps_the_choice(app_client: TestClient,
                                                            app_db: Session) -> None:
    course_id, _, prescriber = page_arrange(app_client, app_db)
    assert sign_in(app_client, prescriber) == 303
    page = post(app_client, f"/infusions/courses/{course_id}/sessions"
                ).headers["location"]  # type: ignore[attr-defined]
    post(app_client, f"{page}/action", {"action": "begin_prechecks"})
    html = app_client.get(page).text
    # The drug is no longer typed or picked: it comes with the lot chosen from the inventory.
    assert re.search(r'<select id="f-lot" name="lot_number" required', html)
    assert '<input id="f-drug"' not in html and '<input id="f-lot"' not in html
    assert re.search(r'<select id="f-concentration_mg_per_ml" name="concentration_mg_per_ml"',
                     html)
    assert "Ketamine hydrochloride 2 mg/mL (as base)" in html
    refused = post(app_client, f"{page}/order", {
        "drug": "ketamine", "lot_number": "K-1", "concentration_mg_per_ml": "2",
        "expiry_date": str((datetime.now(UTC) + timedelta(days=90)).date())})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = refused.text  # type: ignore[attr-defined]
    assert "Drug must be one of the clinic formulary" in text
    assert re.search(r'<option value="2"\s+selected', text)
