"""The audit log's CSV exports, the admin page's and `ketaflow audit export`, cannot carry a
spreadsheet formula: every text field that can hold free text is stored hostile, then exported
and read back as a spreadsheet would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.config import Role
from tests.support.exports import formula_cells, hostile, read_csv
from tests.web.helpers import committed_user, sign_in

LEADS = ["=", "+", "-", "@"]
# The columns whose text comes from outside the audit code (the rest are numbers, times, the
# outcome enum, canonical JSON that starts with "{", and hex hashes).
TEXT_COLUMNS = ("actor_username", "actor_role", "action", "entity_type", "entity_id",
                "client_address", "request_id")


def store_hostile_event(db: Session, lead: str) -> dict[str, str]:
    values = {column: hostile(lead, column) for column in TEXT_COLUMNS}
    ctx = AuditContext(None, values["actor_username"], values["actor_role"],
                       values["client_address"], values["request_id"])
    record_event(db, ctx, action=values["action"], entity_type=values["entity_type"],
                 entity_id=values["entity_id"])
    db.commit()
    return values


def assert_neutralised(csv_text: str, stored: list[dict[str, str]]) -> None:
    rows = read_csv(csv_text)
    assert formula_cells(rows) == []
    exported = [{column: row[column] for column in TEXT_COLUMNS} for row in rows]
    for values in stored:
        # Kept, with the quote that stops a spreadsheet evaluating it.
        assert {column: "'" + value for column, value in values.items()} in exported


@pytest.mark.parametrize("lead", LEADS)
def test_admin_page_export(app_client: TestClient, app_db: Session, lead: str) -> None:
    admin = committed_user(app_db, Role.ADMIN)
    stored = store_hostile_event(app_db, lead)
    assert sign_in(app_client, admin.username) == 303
    response = app_client.get("/admin/audit.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert_neutralised(response.text, [stored])


def test_cli_export(db: Session, db_url: str, tmp_path: Path) -> None:
    stored = [store_hostile_event(db, lead) for lead in LEADS]
    env = {**os.environ, "KETAFLOW_DATABASE_URL": db_url, "KETAFLOW_VAR_DIR": str(tmp_path)}
    exported = subprocess.run(
        [sys.executable, "-m", "ketaflow", "audit", "export", "--from", "2000-01-01",
         "--to", "2100-01-01"],
        env=env, text=True, capture_output=True, timeout=120, check=False,
    )
    assert exported.returncode == 0, exported.stderr
    assert_neutralised(exported.stdout, stored)
