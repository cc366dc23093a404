"""`ketaflow outcomes` as an operator runs it: a real process on each database, the JSON
contract of docs/outcomes.md, and one-line refusals with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.outcomes.factories import anchor, course, make_clinic, rate
from tests.test_cli import _runner


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return _runner(db_url, tmp_path)


def _three_responders(db: Session) -> None:
    clinic = make_clinic(db)
    first = anchor(60)
    for total in (12, 9, 20):
        c = course(db, clinic, first=first)
        rate(db, c, 30, first.replace(hour=8))
        rate(db, c, total, c.last.replace(hour=14))
    db.commit()


def test_json_gives_the_induction_endpoint_at_the_top(run, db: Session) -> None:  # type: ignore[no-untyped-def]
    _three_responders(db)
    result = run("outcomes", "--format", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["instrument"] == "madrs"
    assert (payload["courses"], payload["evaluable"], payload["responders"],
            payload["remitters"]) == (3, 3, 2, 1)
    assert payload["response_rate"] == pytest.approx(2 / 3)
    assert payload["remission_rate"] == pytest.approx(1 / 3)
    assert payload["instruments"]["phq9"]["response_rate"] is None
    assert payload["funnel"]["infusions"] == {"1": 3, "2": 3, "3": 3, "4": 3, "5": 3, "6": 3}
    assert payload["time_to_response"]["madrs"]["events"] == 2
    assert payload["definitions"]["end_of_induction_window_days"] == 7


def test_a_period_with_no_courses_gives_zeros_not_an_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("outcomes", "--format", "json", "--from", "2001-01-01", "--to", "2001-02-01")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["courses"] == 0 and payload["response_rate"] is None
    assert payload["filters"]["from"] == "2001-01-01"


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "2026-02-30"), "error: From must be a date (YYYY-MM-DD)"),
    (("--to", "yesterday"), "error: To must be a date (YYYY-MM-DD)"),
    (("--from", "2026-03-01", "--to", "2026-02-01"), "error: To must be on or after From"),
    (("--site", "999"), "error: Site: no site with id 999"),
    (("--format", "xml"), "error: Invalid value for --format: must be json or text"),
])
def test_bad_options_exit_2_with_one_line(run, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run("outcomes", *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and lines == [message], result
    assert result.stdout == ""


def test_the_researchers_view_on_the_command_line(run, db: Session) -> None:  # type: ignore[no-untyped-def]
    _three_responders(db)
    result = run("outcomes", "--format", "json", "--suppress-small-cells")
    payload = json.loads(result.stdout)
    assert payload["responders"] == "<11" and payload["response_rate"] is None
    assert payload["time_to_response"]["madrs"] is None
    assert payload["small_cells_suppressed"] is True
