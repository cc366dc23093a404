"""`ketaflow schedule plan`: the issue's contract, and each bad input refused in one line
naming the field, with nothing on stdout."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ketaflow.cli import main

DAYS = ["2027-01-04", "2027-01-06", "2027-01-08", "2027-01-11", "2027-01-13", "2027-01-15"]
EXAMPLE: dict[str, Any] = {
    "start": "2027-01-04", "days": 28,
    "sites": [{"id": "A", "timezone": "America/New_York", "chairs": 4, "nurse_ratio": 2,
               "open": {d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}],
    "staff": [{"id": "n1", "role": "nurse", "site": "A",
               "shifts": [{"date": d, "start": "08:00", "end": "16:00"} for d in DAYS]}],
    "bookings": [{"patient": "p0", "site": "A", "chair": 1, "start": "2027-01-04T09:00",
                  "minutes": 120}],
    "requests": [{"patient": "p1", "site": "A", "count": 6, "minutes": 120,
                  "min_gap_hours": 48, "max_per_week": 3, "within_days": 21,
                  "days": ["mon", "wed", "fri"], "after": "09:00", "before": "17:00"}]}


def run(tmp_path: Path, data: Any, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "problem.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "ketaflow", "schedule", "plan", "--input",
                           str(path), "--format", "json", "--time-limit", "5", *extra],
                          capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.parametrize("solver", ["cp-sat", "greedy"])
def test_the_contract(tmp_path: Path, solver: str) -> None:
    done = run(tmp_path, EXAMPLE, "--solver", solver)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"bookings", "unplaced"} and result["unplaced"] == []
    assert [(b["start"], b["end"]) for b in result["bookings"]] == [
        (f"{d}T09:00", f"{d}T11:00") for d in DAYS]  # chair 1 is taken at 09:00 on Monday
    for b in result["bookings"]:
        assert set(b) == {"patient", "site", "chair", "nurse", "start", "end"}
        assert (b["patient"], b["site"], b["nurse"]) == ("p1", "A", "n1")
        assert 1 <= b["chair"] <= 4
    assert result["bookings"][0]["chair"] != 1


def test_a_series_that_cannot_fit_is_unplaced_with_a_reason(tmp_path: Path) -> None:
    data = copy.deepcopy(EXAMPLE)
    data["requests"][0]["within_days"] = 7
    data["requests"].append({**data["requests"][0], "patient": "p2", "within_days": 21})
    result = json.loads(run(tmp_path, data).stdout)
    assert [b["patient"] for b in result["bookings"]] == ["p2"] * 6
    assert result["unplaced"] == [{"patient": "p1", "reason": (
        "6 infusions do not fit within 7 days at least 48 h apart, 3 a week, in the opening "
        "hours, shifts and preferred times")}]


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    *parents, last = path.split(".")
    node: Any = out
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return out


DELETE = object()
BAD = [
    ("days", 0, "days: must be a whole number from 1 to 366"),
    ("start", "04/01/2027", "start: must be a date like 2027-01-04"),
    ("sites", DELETE, "sites: is required"),
    ("sites.0.timezone", "Mars/Olympus", "sites[0].timezone: must be an IANA time zone"),
    ("sites.0.chairs", 0, "sites[0].chairs: must be a whole number from 1 to 100"),
    ("sites.0.nurse_ratio", 2.5, "sites[0].nurse_ratio: must be a whole number from 1 to 10"),
    ("sites.0.open.mon", ["18:00", "08:00"], "sites[0].open.mon: must close after it opens"),
    ("sites.0.open.monday", ["08:00", "18:00"], "sites[0].open.monday: unknown field"),
    ("staff.0.site", "B", "staff[0].site: no site 'B' in sites"),
    ("staff.0.role", "doctor", "staff[0].role: must be nurse or prescriber"),
    ("staff.0.shifts.0.start", "07:00", "staff[0].shifts[0]: 2027-01-04 07:00-16:00 is outside "
                                        "site A's opening hours"),
    ("staff.0.shifts.1", {"date": "2027-01-04", "start": "12:00", "end": "18:00"},
     "staff[0].shifts[1]: overlaps staff[0].shifts[0] of the same staff member 'n1'"),
    ("staff.0.shifts.0.end", "08:00", "staff[0].shifts[0].end: must be after the shift's start"),
    ("bookings.0.chair", 5, "bookings[0].chair: must be a whole number from 1 to 4"),
    ("bookings.0.nurse", "n9", "bookings[0].nurse: no nurse 'n9' in staff"),
    ("bookings.0.start", "2027-01-04 09:00", "bookings[0].start: must be a local date and time"),
    ("requests.0.site", "Z", "requests[0].site: no site 'Z' in sites"),
    ("requests.0.count", 0, "requests[0].count: must be a whole number from 1 to 52"),
    ("requests.0.min_gap_hours", -1, "requests[0].min_gap_hours: must be a number from 0 to 336"),
    ("requests.0.max_per_week", 8, "requests[0].max_per_week: must be a whole number from 1 to 7"),
    ("requests.0.days", ["mon", "funday"], "requests[0].days[1]: must be one of mon, tue"),
    ("requests.0.before", "08:00", "requests[0].before: must be later than after"),
    ("requests.0.mintes", 120, "requests[0].mintes: unknown field"),
    ("requests.0.within_days", DELETE, "requests[0].within_days: is required"),
]


def run_here(tmp_path: Path, data: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str,
                                                                                   str]:
    """The same entry point in this process (a new interpreter per case is slow)."""
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["schedule", "plan", "--input", str(path), "--format", "json"])
    out = capsys.readouterr()
    return int(exited.value.code or 0), out.out, out.err


@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_one_line_naming_the_field(
        tmp_path: Path, path: str, value: Any, message: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_here(tmp_path, set_path(EXAMPLE, path, value), capsys)
    lines = err.splitlines()
    assert (code, out, len(lines)) == (2, "", 1), err
    assert lines[0].startswith(f"error: {message}")


def test_bad_input_in_a_real_process(tmp_path: Path) -> None:
    done = run(tmp_path, set_path(EXAMPLE, "requests.0.site", "Z"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: requests[0].site: no site 'Z' in sites\n"


def test_a_local_time_the_clocks_skip_is_refused(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = set_path(EXAMPLE, "bookings.0.start", "2027-03-14T02:30")
    code, out, err = run_here(tmp_path, data, capsys)
    assert (code, out) == (2, "")
    assert err == ("error: bookings[0].start: 2027-03-14T02:30 does not exist in "
                           "America/New_York (the clocks change then)\n")


@pytest.mark.parametrize(("text", "extra", "message"), [
    ("{not json", (), "error: --input problem.json: not JSON"),
    ("[]", (), "error: the input: must be an object"),
    (json.dumps(EXAMPLE), ("--format", "csv"), "error: --format: must be json"),
    (json.dumps(EXAMPLE), ("--solver", "magic"), "error: --solver: must be cp-sat or greedy"),
])
def test_unreadable_input_and_bad_options(tmp_path: Path, text: str, extra: tuple[str, ...],
                                          message: str) -> None:
    done = run(tmp_path, text, *extra)
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(message), done.stderr


def test_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "ketaflow", "schedule", "plan", "--input",
                           str(tmp_path / "nope.json")], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: --input") and len(done.stderr.splitlines()) == 1
