"""A form reports every problem at once: the collector gathers field refusals, the page marks
each field and lists them at the top, and the JSON API's 422 lists them all (RFC 9457
extension member `errors`). Messages name fields by their labels, never by Python names."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.errors import FieldProblem, NotFound, ValidationFailed, collect_problems
from ketaflow.infusions import forms as chair_forms
from ketaflow.web import forms
from tests.patients.test_api import PATIENT
from tests.patients.test_pages import FORM, _post, _signed_in
from tests.web.helpers import api_token, committed_user


def test_the_collector_raises_once_with_every_problem() -> None:
    form = {"weight": "seventy", "height": "1e2", "measured": "2026-01-01"}
    with pytest.raises(ValidationFailed) as refused, collect_problems() as check:
        weight = check(forms.optional_number, form, "weight", "Weight")
        height = check(forms.optional_number, form, "height", "Height")
        day = check(forms.optional_date, form, "measured", "Measured on")
        assert (weight, height) == (None, None)  # placeholders, never used
        assert day is not None
    assert refused.value.field == "weight"
    assert [p.field for p in refused.value.problems] == ["weight", "height"]
    assert refused.value.problems[1].detail.startswith("Height must be a number")
    assert refused.value.detail.count("must be a number") == 2


def test_a_clean_block_returns_its_values_and_raises_nothing() -> None:
    with collect_problems() as check:
        value = check(forms.required_number, {"weight": "72.5"}, "weight", "Weight")
    assert value == 72.5


def test_a_refusal_raised_in_the_block_joins_the_others() -> None:
    with pytest.raises(ValidationFailed) as refused, collect_problems() as check:
        check.require({}, "given_name", "Given name")
        raise ValidationFailed("Email is not a valid address", field="email")
    assert refused.value.problems == [FieldProblem("given_name", "Given name is required"),
                                      FieldProblem("email", "Email is not a valid address")]


def test_a_consequence_of_a_placeholder_is_not_reported_but_a_real_fault_is() -> None:
    with pytest.raises(ValidationFailed) as refused, collect_problems() as check:
        weight = check(forms.required_number, {}, "weight", "Weight")
        _ = weight + 1  # TypeError from the None placeholder: the refusal stands
    assert [p.field for p in refused.value.problems] == ["weight"]
    with pytest.raises(TypeError), collect_problems():
        _ = None + 1  # type: ignore[operator]  # nothing refused: a bug is a bug
    with pytest.raises(NotFound), collect_problems():
        raise NotFound("no such patient")


def test_the_single_error_path_is_unchanged() -> None:
    error = ValidationFailed("Weight is required", field="weight")
    assert error.problems == [FieldProblem("weight", "Weight is required")]
    context = forms.error_context(error)
    assert context["error"] == "Weight is required" and context["error_field"] == "weight"
    assert context["field_errors"] == {"weight": "Weight is required"}


def test_chair_fields_are_refused_by_their_labels() -> None:
    with pytest.raises(ValidationFailed) as refused, collect_problems() as check:
        check(chair_forms.number, {"sbp_mmhg": "12o"}, "sbp_mmhg")
        check(chair_forms.number, {}, "concentration_mg_per_ml", required=True)
    words = refused.value.detail
    assert "SBP mmHg must be a number" in words and "Concentration (mg/mL) is required" in words
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", words), words


def test_registration_page_shows_both_bad_fields_at_once(
        app_client: TestClient, app_db: Session) -> None:
    _signed_in(app_client, app_db, Role.FRONT_DESK)
    page = _post(app_client, "/patients", {**FORM, "given_name": "", "date_of_birth": "14/03"})
    assert page.status_code == 422
    text = page.text
    assert "please correct these 2 problems" in text
    assert 'id="e-given_name">Given name is required' in text
    assert re.search(r'id="e-date_of_birth">Date of birth must be a date', text)
    assert text.count('aria-invalid="true"') == 2
    assert 'value="Fabricata"' in text  # what was typed is kept


def test_the_api_lists_every_field_error(app_client: TestClient, app_db: Session) -> None:
    headers = {"Authorization": f"Bearer {api_token(app_db, committed_user(app_db, Role.NURSE))}"}
    response = app_client.post("/api/v1/patients", headers=headers, json={
        **PATIENT, "email": "not-an-address", "phone": "call me"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == "email"
    assert {(e["field"], e["detail"]) for e in body["errors"]} == {
        ("email", "Email is not a valid address"),
        ("phone", "Phone must be digits, spaces and + ( ) - only")}
    assert "call me" not in response.text  # never the value typed
