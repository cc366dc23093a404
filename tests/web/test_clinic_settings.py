"""The clinic settings page shows every sourced threshold in force, with defaults and sources."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.config import Role
from ketaflow.web.clinic_settings import settings_groups
from tests.web.helpers import committed_user, sign_in


def test_every_group_lists_sourced_settings() -> None:
    groups = {group.title: group for group in settings_groups()}
    assert set(groups) == {"Rating scales", "Pre-infusion blood pressure", "Screening",
                           "Infusion session", "Dosing limits"}
    for group in groups.values():
        assert group.settings and all(s.source and s.label for s in group.settings)
    bp = {s.name: s for s in groups["Pre-infusion blood pressure"].settings}
    assert (bp["review_sbp_above_mmhg"].value, bp["defer_sbp_min_mmhg"].value) == (140, 160)
    assert "Spravato" in bp["review_sbp_above_mmhg"].source
    dosing = {s.name: s for s in groups["Dosing limits"].settings}
    assert dosing["hard_max_mg"].default == 200.0
    scales = {s.name: s for s in groups["Rating scales"].settings}
    assert "esketamine" in scales["madrs_remission_max"].source


def test_page_renders_for_a_nurse(app_client: TestClient, app_db: Session) -> None:
    nurse = committed_user(app_db, Role.NURSE)
    assert sign_in(app_client, nurse.username) == 303
    page = app_client.get("/settings/clinical")
    assert page.status_code == 200
    assert "Pre-infusion blood pressure" in page.text and "defer_sbp_min_mmhg" in page.text
    assert "ASKP3" in page.text
