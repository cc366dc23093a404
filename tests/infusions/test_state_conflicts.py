"""A request that the session's (or course's) state does not allow is a conflict (409 with the
message and the field), not invalid input: on the API and on the chair-side page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.infusions.test_api import BASE, arrange
from tests.infusions.test_pages import arrange as page_arrange
from tests.infusions.test_pages import post
from tests.web.helpers import sign_in


def test_api_answers_409_for_the_wrong_state(app_client: TestClient, app_db: Session) -> None:
    nurse, _, course_id = arrange(app_client, app_db)
    session_id = nurse.post(BASE, {"course_id": course_id}, expect=201)["id"]
    early = nurse.post(f"{BASE}/{session_id}/prechecks", {"fasting_confirmed": True},
                       expect=409)
    assert early["field"] == "status" and "only during pre-checks" in early["detail"]
    start = nurse.post(f"{BASE}/{session_id}/actions", {"action": "start"}, expect=409)
    assert start["field"] == "action" and "allowed now: begin_prechecks" in start["detail"]
    # A missing reason is still input to correct.
    nurse.post(f"{BASE}/{session_id}/actions", {"action": "abort"}, expect=422)


def test_chair_page_keeps_the_409_and_shows_the_message(app_client: TestClient,
                                                        app_db: Session) -> None:
    course_id, nurse, _ = page_arrange(app_client, app_db)
    assert sign_in(app_client, nurse) == 303
    page = post(app_client, f"/infusions/courses/{course_id}/sessions"
                ).headers["location"]  # type: ignore[attr-defined]
    refused = post(app_client, f"{page}/action", {"action": "stop", "confirm_stop": "on"})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "cannot stop a session that is planned" in refused.text  # type: ignore[attr-defined]
