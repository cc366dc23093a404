"""The clinic settings page and the sources page through HTTP: who sees what, refusals that
name the field and change nothing, and a change that shows in the history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaflow.audit.models import AuditEvent
from ketaflow.config import Role
from ketaflow.settings import sources
from ketaflow.settings.models import SettingChange
from tests.web.helpers import committed_user, csrf, sign_in

HOLD = {"group": "infusion", "name": "hold_sbp_min_mmhg"}


def signed_in(client: TestClient, db: Session, role: Role) -> None:
    user = committed_user(db, role, full_name=f"Test {role.value}")
    assert sign_in(client, user.username) == 303


def post(client: TestClient, path: str, **fields: str) -> tuple[int, str]:
    response = client.post(path, data={"csrf_token": csrf(client), **fields})
    return response.status_code, response.text


def changes(db: Session) -> int:
    db.rollback()  # a fresh read
    count = db.scalar(select(func.count()).select_from(SettingChange)) or 0
    db.commit()
    return count


def test_a_nurse_sees_every_group_with_sources_but_no_change_form(
    app_client: TestClient, app_db: Session
) -> None:
    signed_in(app_client, app_db, Role.NURSE)
    page = app_client.get("/settings/clinical")
    assert page.status_code == 200
    for title in ("Rating scales", "Pre-infusion blood pressure", "Screening",
                  "Infusion session", "Dosing limits"):
        assert f"<h2>{title}</h2>" in page.text
    assert "defer_sbp_min_mmhg" in page.text and "ASKP3" in page.text
    assert 'href="/sources#vital-sign-criteria"' in page.text
    assert "160-200" in page.text
    assert "not available yet" not in page.text
    assert 'action="/settings/clinical/change"' not in page.text
    assert "No setting has been changed" in page.text
    status, _ = post(app_client, "/settings/clinical/change", **HOLD, value="170",
                     reason="not mine to change")
    assert status == 403 and changes(app_db) == 0


def test_an_admin_changes_a_threshold_and_sees_it_in_the_history(
    app_client: TestClient, app_db: Session
) -> None:
    signed_in(app_client, app_db, Role.ADMIN)
    page = app_client.get("/settings/clinical")
    assert 'action="/settings/clinical/change"' in page.text
    response = app_client.post("/settings/clinical/change", data={
        "csrf_token": csrf(app_client), **HOLD, "value": "170", "effective_from": "",
        "reason": "clinic protocol v2"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/settings/clinical?notice=changed")
    page = app_client.get(response.headers["location"])
    history = page.text.split('id="history"')[1]
    assert "180 &rarr; 170" in history and "clinic protocol v2" in history
    assert "Test admin" in history
    row = re.search(r'id="setting-infusion-hold_sbp_min_mmhg">(.*?)</tr>', page.text, re.S)
    assert row is not None and '<td class="num">170</td>' in row.group(1)
    assert changes(app_db) == 1
    actions = app_db.scalars(select(AuditEvent.action)
                             .where(AuditEvent.entity_type == "clinic_setting")).all()
    assert actions == ["settings.change"]
    app_db.commit()
    response = app_client.post("/settings/clinical/reset", data={
        "csrf_token": csrf(app_client), **HOLD, "reason": "back to the default"})
    assert response.status_code == 303
    page = app_client.get("/settings/clinical")
    assert "170 &rarr; 180 (reset to default)" in page.text
    assert changes(app_db) == 2


def _local(moment: datetime, zone: str = "UTC") -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"value": "159"}, "value", "must be from 160 to 200 (got 159)"),
    ({"value": "201"}, "value", "must be from 160 to 200 (got 201)"),
    ({"value": "abc"}, "value", "value must be a number"),
    ({"value": ""}, "value", "value is required"),
    ({"value": "170.5"}, "value", "must be a whole number"),
    ({"reason": ""}, "reason", "reason is required"),
    ({"effective_from": "tomorrow"}, "effective_from", "must be a date and time"),
    ({"effective_from": "past"}, "effective_from", "cannot be in the past"),
    ({"name": "made_up"}, "setting", "choose a setting"),
    ({"group": "bp_gate", "name": "review_sbp_above_mmhg", "value": "160"}, "value",
     "review_sbp_above_mmhg &lt; defer_sbp_min_mmhg"),
])
def test_bad_input_re_renders_naming_the_field_and_changes_nothing(
    app_client: TestClient, app_db: Session, fields: dict[str, str], field: str, message: str
) -> None:
    signed_in(app_client, app_db, Role.ADMIN)
    past = _local(datetime.now(UTC) - timedelta(hours=1))
    data = {**HOLD, "value": "170", "reason": "protocol", "effective_from": "", **fields}
    if data["effective_from"] == "past":
        data["effective_from"] = past
    status, text = post(app_client, "/settings/clinical/change", **data)
    assert status == 422
    assert message in text and "Nothing was changed" in text
    if data["name"] not in ("made_up", "hold_dbp_min_mmhg"):  # those have no form to mark
        # The message sits beside the field of that setting's form, with what was typed kept.
        form_id = f"change-{data['group']}-{data['name']}-{field}"
        assert f'id="{form_id}-error"' in text
        assert f'aria-describedby="{form_id}-error"' in text
        assert f'value="{data["reason"]}"' in text
    assert changes(app_db) == 0


def test_reset_needs_a_reason(app_client: TestClient, app_db: Session) -> None:
    signed_in(app_client, app_db, Role.ADMIN)
    status, text = post(app_client, "/settings/clinical/reset", **HOLD, reason=" ")
    assert status == 422 and "reason is required" in text
    assert 'id="reset-infusion-hold_sbp_min_mmhg-reason-error"' in text
    assert changes(app_db) == 0


def test_the_sources_page_gives_each_heading_its_slug(
    app_client: TestClient, app_db: Session
) -> None:
    signed_in(app_client, app_db, Role.FRONT_DESK)
    page = app_client.get("/sources")
    assert page.status_code == 200
    assert '<h2 id="vital-sign-criteria">Vital-sign criteria</h2>' in page.text
    assert "<table>" in page.text


def test_a_missing_sources_document_is_a_clear_page(
    app_client: TestClient, app_db: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    signed_in(app_client, app_db, Role.NURSE)
    missing = sources.SOURCES_PATH.with_name("no-such-file.md")
    monkeypatch.setattr(sources, "SOURCES_PATH", missing)
    monkeypatch.setattr(sources.load_sources, "__defaults__", (missing,))
    page = app_client.get("/sources")
    assert page.status_code == 200
    assert "is not installed with this copy of ketaflow" in page.text


@pytest.mark.parametrize(("heading", "slug"), [
    ("Vital-sign criteria", "vital-sign-criteria"),
    ("C-SSRS: screener (LOINC 93373-9)", "c-ssrs-screener-loinc-93373-9"),
    ("Ketalar label 7.1 & Spravato 5.6", "ketalar-label-71--spravato-56"),
    ("  Trailing  ", "trailing"),
])
def test_slugs_are_githubs(heading: str, slug: str) -> None:
    assert sources.slugify(heading) == slug


def test_raw_html_is_not_rendered_but_tables_are() -> None:
    html = sources.render_markdown("<script>x</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                                   "## Same\n\n## Same\n")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<td>1</td>" in html
    assert 'id="same"' in html and 'id="same-1"' in html


def test_effective_from_is_read_in_the_clinic_zone(app_client: TestClient,
                                                   app_db: Session) -> None:
    zone = "America/New_York"
    app_client.app.state.settings.clinic_timezone = zone  # type: ignore[attr-defined]
    signed_in(app_client, app_db, Role.ADMIN)
    page = app_client.get("/settings/clinical")
    assert f"Effective from ({zone})" in page.text
    start = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    response = app_client.post("/settings/clinical/change", data={
        "csrf_token": csrf(app_client), **HOLD, "value": "170", "reason": "from this afternoon",
        "effective_from": _local(start, zone)})
    assert response.status_code == 303, response.text
    stored = app_db.scalars(select(SettingChange)).one()
    assert stored.effective_from == start
    app_db.rollback()
    page = app_client.get("/settings/clinical")
    assert "scheduled" in page.text.split('id="history"')[1]
    # Not yet in force: the table still shows the default.
    row = re.search(r'id="setting-infusion-hold_sbp_min_mmhg">(.*?)</tr>', page.text, re.S)
    assert row is not None and '<td class="num">180</td>' in row.group(1)
