"""`GET /api/v1/outcomes` on both databases: the same JSON as `ketaflow outcomes --format json`
for the same filters (the researcher's as with `--suppress-small-cells`), the page's roles, and
bad filters answered with problem details naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role, Settings
from tests.outcomes.factories import anchor, course, make_clinic, rate, site
from tests.test_cli import _runner
from tests.web.helpers import api_token, committed_user

URL = "/api/v1/outcomes"


def _token(db: Session, role: Role) -> dict[str, str]:
    token = api_token(db, committed_user(db, role))
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def _arrange(db: Session) -> dict[str, int]:
    """Three MADRS responders at site N (one a remitter), one non-responder at site S."""
    clinic = make_clinic(db)
    north, south = site(db, "N"), site(db, "S")
    first = anchor(60)
    for where, total in ((north, 12), (north, 9), (north, 14), (south, 25)):
        c = course(db, clinic, first=first, site=where)
        rate(db, c, 30, first.replace(hour=8))
        rate(db, c, total, c.last.replace(hour=14))
    db.commit()
    return {"north": north.id, "south": south.id}


def _without_moment(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload but `as_of` (when it was counted: each call counts anew)."""
    return {k: v for k, v in payload.items() if k != "as_of"}


def test_the_payload_is_the_clis_for_the_same_filters(app_client: TestClient, app_db: Session,
                                                      settings: Settings,
                                                      tmp_path: Path) -> None:
    ids = _arrange(app_db)
    headers = _token(app_db, Role.PRESCRIBER)
    run = _runner(settings.effective_database_url, tmp_path)
    day = anchor(60).date().isoformat()
    for query in ({}, {"site": str(ids["north"]), "from": day, "to": day},
                  {"site": "none"}, {"type": "bipolar_i"}):
        answer = app_client.get(URL, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        args = [a for key, value in query.items()
                for a in (f"--{'type' if key == 'type' else key}", value)]
        printed = run("outcomes", "--format", "json", *args)
        assert printed.returncode == 0, printed.stderr
        assert _without_moment(answer.json()) == _without_moment(json.loads(printed.stdout))
    north = app_client.get(URL, params={"site": ids["north"]}, headers=headers).json()
    assert (north["courses"], north["responders"], north["remitters"]) == (3, 3, 1)
    assert north["filters"]["site_id"] == ids["north"]


def test_the_researcher_gets_the_small_cell_view_as_on_the_page(
        app_client: TestClient, app_db: Session, settings: Settings, tmp_path: Path) -> None:
    _arrange(app_db)
    answer = app_client.get(URL, headers=_token(app_db, Role.RESEARCHER))
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    assert payload["small_cells_suppressed"] is True
    assert payload["responders"] == "<11" and payload["response_rate"] is None
    assert payload["time_to_response"]["madrs"] is None
    printed = _runner(settings.effective_database_url, tmp_path)(
        "outcomes", "--format", "json", "--suppress-small-cells")
    assert _without_moment(payload) == _without_moment(json.loads(printed.stdout))
    # An admin, like a prescriber, sees every count.
    admin = app_client.get(URL, headers=_token(app_db, Role.ADMIN)).json()
    assert admin["responders"] == 3 and "small_cells_suppressed" not in admin


@pytest.mark.parametrize("role", [Role.NURSE, Role.FRONT_DESK])
def test_roles_without_the_dashboard_are_refused(app_client: TestClient, app_db: Session,
                                                 role: Role) -> None:
    answer = app_client.get(URL, headers=_token(app_db, role))
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"


def test_without_a_token_it_is_401(app_client: TestClient) -> None:
    answer = app_client.get(URL)
    assert answer.status_code == 401
    assert answer.json()["status"] == 401


@pytest.mark.parametrize(("query", "status", "field", "detail"), [
    ({"from": "2026-02-30"}, 422, "from", "From must be a date (YYYY-MM-DD)"),
    ({"to": "yesterday"}, 422, "to", "To must be a date (YYYY-MM-DD)"),
    ({"site": "north"}, 422, "site", "Site"),
    ({"type": "bipolar_iii"}, 422, "type", "Bipolar type"),
    ({"site": "999999"}, 422, "site", "Site: no site with id 999999"),
    ({"prescriber": "999999"}, 422, "prescriber", "Prescriber: no prescriber with id 999999"),
    ({"from": "2026-03-01", "to": "2026-02-01"}, 422, "to", "To must be on or after From"),
])
def test_bad_filters_are_problem_details_naming_the_field(
        app_client: TestClient, app_db: Session, query: dict[str, str], status: int,
        field: str, detail: str) -> None:
    headers = _token(app_db, Role.PRESCRIBER)
    answer = app_client.get(URL, params=query, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and problem["field"] == field
    assert detail in problem["detail"]


def test_every_malformed_filter_is_named_at_once(app_client: TestClient,
                                                 app_db: Session) -> None:
    answer = app_client.get(URL, params={"from": "x", "prescriber": "y"},
                            headers=_token(app_db, Role.PRESCRIBER))
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["field"] == "from"
    assert "From must be a date" in problem["detail"] and "Prescriber" in problem["detail"]


def test_each_call_is_audited_with_the_filters(app_client: TestClient, app_db: Session) -> None:
    ids = _arrange(app_db)
    answer = app_client.get(URL, params={"site": ids["south"]},
                            headers=_token(app_db, Role.PRESCRIBER))
    assert answer.status_code == 200
    app_db.rollback()
    event = app_db.scalars(select(AuditEvent).where(AuditEvent.entity_type
                                                    == "outcomes_dashboard")
                           .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.actor_role == "prescriber"
    assert json.loads(event.detail)["site_id"] == ids["south"]
