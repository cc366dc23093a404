"""Numbers typed into forms are read strictly, in one place (`ketaflow.web.forms`), and a
recorded weight has one human range wherever it is recorded; dosing keeps its own."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.clinical import eligibility
from ketaflow.clinical.body import HUMAN_WEIGHT_MAX_KG, HUMAN_WEIGHT_MIN_KG
from ketaflow.config import Role
from ketaflow.dosing.limits import DEFAULT_LIMITS
from ketaflow.errors import ValidationFailed
from ketaflow.infusions import forms as chair_forms
from ketaflow.patients import units
from ketaflow.screening.schemas import ScreeningIn
from ketaflow.web import forms
from tests.patients.factories import make_patient
from tests.web.helpers import committed_user, csrf, sign_in

REFUSED = ["1e2", "1E2", "inf", "-inf", "nan", "NaN", "1,5", "12 3", "7 2.5", "1_000", "0x10",
           "١٢", "12kg", "--1", "1.2.3", ".", "+", "9" * 40]


@pytest.mark.parametrize("raw", REFUSED)
def test_anything_but_plain_decimals_is_refused_naming_the_label(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        forms.optional_number({"weight": raw}, "weight", "Weight")
    assert refused.value.field == "weight"
    assert refused.value.detail.startswith("Weight must be a number")
    with pytest.raises(ValidationFailed):
        chair_forms.number({"rate_ml_per_h": raw}, "rate_ml_per_h")


def test_a_comma_gets_a_hint() -> None:
    with pytest.raises(ValidationFailed, match="use a point, not a comma"):
        forms.required_number({"weight": "72,5"}, "weight", "Weight")


@pytest.mark.parametrize(("raw", "value"), [("72.5", 72.5), ("72", 72.0), ("-3", -3.0),
                                            ("+4.", 4.0), (".5", 0.5), ("0", 0.0)])
def test_plain_decimals_are_read(raw: str, value: float) -> None:
    assert forms.optional_number({"weight": raw}, "weight", "Weight") == value
    assert chair_forms.number({"x": raw}, "x") == value


@pytest.mark.parametrize("raw", ["1e2", "12.0", "١٢", "²", "1 2", "0x1"])
def test_whole_numbers_are_ascii_digits_only(raw: str) -> None:
    with pytest.raises(ValidationFailed, match="Attempts must be a whole number"):
        forms.optional_int({"n": raw}, "n", "Attempts")
    with pytest.raises(ValidationFailed, match="Attempts must be a whole number"):
        forms.whole_number({"n": raw}, "n", "Attempts")


def test_one_human_weight_range_and_dosing_keeps_its_own() -> None:
    assert (units.WEIGHT_MIN_KG, units.WEIGHT_MAX_KG) == (HUMAN_WEIGHT_MIN_KG,
                                                          HUMAN_WEIGHT_MAX_KG) == (20, 350)
    assert eligibility.VITAL_RANGES["weight_kg"] == (HUMAN_WEIGHT_MIN_KG, HUMAN_WEIGHT_MAX_KG)
    schema = ScreeningIn.model_json_schema()["properties"]["weight_kg"]["anyOf"][0]
    assert (schema["minimum"], schema["maximum"]) == (20, 350)
    for weight in (19.9, 350.1, 1, 500):
        with pytest.raises(ValueError, match="weight_kg must be a number from 20 to 350"):
            eligibility.check_vital("weight_kg", weight)
        with pytest.raises(units.MeasurementError, match="between 20 and 350 kg"):
            units.weight_to_kg(weight, "kg")
    eligibility.check_vital("weight_kg", 25)
    # Dosing's narrower range is dosing's alone.
    assert (DEFAULT_LIMITS.min_weight_kg, DEFAULT_LIMITS.max_weight_kg) == (30, 250)
    assert units.weight_to_kg(25, "kg").value == 25


def test_weight_1e2_is_refused_on_the_measurement_form(app_client: TestClient,
                                                      app_db: Session) -> None:
    patient = make_patient(app_db)
    app_db.commit()
    assert sign_in(app_client, committed_user(app_db, Role.NURSE).username) == 303
    page = app_client.post(f"/patients/{patient.id}/measurements",
                           data={"csrf_token": csrf(app_client), "weight": "1e2",
                                 "weight_unit": "kg"})
    assert page.status_code == 422
    assert 'id="e-weight"' in page.text and "Weight must be a number" in page.text
    assert 'value="1e2"' in page.text
