"""`ketaflow mood signals`: the CLI contract, and bad files refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

HEADER = "date,depressed,elevated,irritable,anxious,sleep_h"
START = date(2026, 9, 1)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ketaflow", "mood", "signals", *args],
                          capture_output=True, text=True, check=False)


def write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def entries(days: int = 30, *, low_from: int | None = None) -> list[str]:
    rows = [HEADER]
    for i in range(days):
        depressed = 2 if low_from is not None and i >= low_from else 0
        rows.append(f"{START + timedelta(days=i)},{depressed},0,0,1,7.5")
    rows.append(f"{START},0,1,0,0,")  # a second report the same day: worst of the day
    return rows


def test_the_contract(tmp_path: Path) -> None:
    ratings = write(tmp_path / "r.csv", ["date,instrument,total", f"{START},asrm,7"])
    done = run("--entries", write(tmp_path / "e.csv", entries(low_from=26)),
               "--ratings", ratings, "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"signals", "forecast"}
    assert result["signals"] == [
        {"kind": "switch", "date": START.isoformat(),
         "reason": "possible manic switch: ASRM 7 (at least 6)"},
        {"kind": "relapse", "date": (START + timedelta(days=26)).isoformat(),
         "reason": "possible depressive relapse: depressed mood averaging 0.4 over the last 5 "
                   "days (usual 0)"}]
    assert [f["date"] for f in result["forecast"]] == [
        (START + timedelta(days=30 + k)).isoformat() for k in range(7)]
    for day in result["forecast"]:
        assert set(day) == {"date", "mood", "low", "high"}
        assert -3 <= day["low"] <= day["mood"] <= day["high"] <= 3
    assert result["forecast"][0]["mood"] < -0.5  # the depressed days pull the forecast down


def test_disengagement_and_no_ratings_file(tmp_path: Path) -> None:
    rows = [HEADER, f"{START},0,0,0,0,8", f"{START + timedelta(days=4)},0,0,0,0,8"]
    result = json.loads(run("--entries", write(tmp_path / "e.csv", rows)).stdout)
    assert result["signals"] == [{"kind": "disengagement",
                                  "date": (START + timedelta(days=3)).isoformat(),
                                  "reason": "no mood entry for 3 days"}]


def bad(tmp_path: Path, lines: list[str], ratings: list[str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    args = ["--entries", write(tmp_path / "e.csv", lines)]
    if ratings is not None:
        args += ["--ratings", write(tmp_path / "r.csv", ratings)]
    return run(*args)


def test_bad_files_exit_2_with_one_line_naming_row_and_column(tmp_path: Path) -> None:
    future = date.today() + timedelta(days=1)
    cases = [
        (["date,depressed,elevated,irritable,sleep_h", f"{START},0,0,0,7"],
         None, "e.csv: row 1, column anxious: missing column"),
        ([HEADER, f"{START},0,0,0,0,7", f"{START},4,0,0,0,7"],
         None, "e.csv: row 3, column depressed: Depressed mood must be a whole number from 0 "
               "to 3"),
        ([HEADER, f"{START},0,0,0,0,25"], None, "e.csv: row 2, column sleep_h: Hours slept "
                                                "must be from 0 to 24 hours"),
        ([HEADER, "2026-13-01,0,0,0,0,7"], None, "e.csv: row 2, column date: '2026-13-01' is "
                                                 "not a date (YYYY-MM-DD)"),
        ([HEADER, f"{future},0,0,0,0,7"], None, f"e.csv: row 2, column date: {future} is in "
                                                "the future"),
        ([HEADER, f"{START},1e0,0,0,0,7"], None, "e.csv: row 2, column depressed: '1e0' is "
                                                 "not a whole number from 0 to 3"),
        (entries(3), ["date,instrument,total", f"{START},madrs,61"],
         "r.csv: row 2, column total: '61' is not a whole number from 0 to 60 (madrs)"),
        (entries(3), ["date,instrument,total", f"{START},hamd,10"],
         "r.csv: row 2, column instrument: 'hamd' is not an instrument id"),
        (entries(3), ["date,total", f"{START},10"], "r.csv: row 1, column instrument"),
    ]
    for lines, ratings, expected in cases:
        done = bad(tmp_path, lines, ratings)
        assert done.returncode == 2, (expected, done.stderr)
        assert done.stdout == "", expected
        assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"error: {expected}"), (
            done.stderr)


def test_a_missing_file_and_a_wrong_format(tmp_path: Path) -> None:
    missing = run("--entries", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("error: --entries ") and "cannot be read" in missing.stderr
    wrong = run("--entries", write(tmp_path / "e.csv", entries(3)), "--format", "table")
    assert wrong.returncode == 2 and wrong.stderr == "error: --format: must be json, not 'table'\n"
