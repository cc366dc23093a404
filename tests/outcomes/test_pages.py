"""The dashboard page: who may open it, what the researcher sees, filters refused with their
labels, and the empty state (both databases, through the app)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.config import Role
from tests.outcomes.factories import anchor, course, make_clinic, rate
from tests.web.helpers import committed_user, sign_in


def _signed_in(client: TestClient, db: Session, role: Role) -> None:
    user = committed_user(db, role=role)
    assert sign_in(client, user.username) == 303


def _courses(db: Session, count: int) -> None:
    """`count` courses each with a baseline of 30 and 12 at the end of induction."""
    clinic = make_clinic(db)
    first = anchor(60)
    for _ in range(count):
        c = course(db, clinic, first=first)
        rate(db, c, 30, first.replace(hour=8))
        rate(db, c, 12, c.last.replace(hour=14))
    db.commit()


def test_a_prescriber_sees_every_count_and_the_trials(app_client: TestClient,
                                                      app_db: Session) -> None:
    _courses(app_db, 3)
    _signed_in(app_client, app_db, Role.PRESCRIBER)
    page = app_client.get("/outcomes")
    assert page.status_code == 200
    text = page.text
    assert 'id="row-madrs"' in text and ">3<" in text
    assert "100% (95% CI" in text  # three of three responded
    assert "Diazgranados" in text and "Zarate" in text and "Murrough" in text
    assert 'id="km-madrs"' in text and 'id="funnel"' in text
    assert 'href="/outcomes"' in text  # in the nav


def test_the_researcher_sees_small_cells_suppressed(app_client: TestClient,
                                                    app_db: Session) -> None:
    _courses(app_db, 3)
    _signed_in(app_client, app_db, Role.RESEARCHER)
    text = app_client.get("/outcomes").text
    assert "Researcher view" in text and "&lt;11" in text
    assert "100% (95% CI" not in text and 'id="km-madrs"' not in text


@pytest.mark.parametrize("role", [Role.NURSE, Role.FRONT_DESK])
def test_other_roles_may_not_open_it(app_client: TestClient, app_db: Session,
                                     role: Role) -> None:
    _signed_in(app_client, app_db, role)
    page = app_client.get("/outcomes")
    assert page.status_code == 403
    assert 'href="/outcomes"' not in app_client.get("/").text


def test_bad_filters_are_named_by_their_labels(app_client: TestClient, app_db: Session) -> None:
    _signed_in(app_client, app_db, Role.ADMIN)
    page = app_client.get("/outcomes", params={"from": "2026-13-01", "site": "x",
                                               "prescriber": "999999"})
    assert page.status_code == 422
    assert "From must be a date (YYYY-MM-DD)" in page.text
    assert "Site must be a whole number" in page.text
    assert "Prescriber: no prescriber with id 999999" in page.text
    reversed_period = app_client.get("/outcomes", params={"from": "2026-02-01",
                                                          "to": "2026-01-01"})
    assert reversed_period.status_code == 422
    assert "To must be on or after From" in reversed_period.text


def test_an_empty_period_says_why(app_client: TestClient, app_db: Session) -> None:
    _signed_in(app_client, app_db, Role.ADMIN)
    page = app_client.get("/outcomes", params={"from": "2001-01-01", "to": "2001-12-31"})
    assert page.status_code == 200
    assert 'id="outcomes-empty"' in page.text
    assert "No treatment course matches these filters" in page.text
