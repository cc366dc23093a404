"""The `ketaflow scales` command-line contract, through ketaflow.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ketaflow.cli import main
from ketaflow.scales import INSTRUMENTS, get_instrument


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    out, err = capsys.readouterr()
    code = caught.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["scales", "list", "--format", "json"], capsys)
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert [row["id"] for row in rows] == list(INSTRUMENTS)
    madrs = next(row for row in rows if row["id"] == "madrs")
    assert madrs["total_range"] == [0, 60]
    assert madrs["licence"] == "names-only"


def test_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["scales", "list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "rater", "answers", "range", "licence"]
    assert len(lines) == 1 + len(INSTRUMENTS)
    assert lines[4].split() == ["madrs", "clinician", "10", "0-60", "names-only"]


def test_score_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["scales", "score", "phq9", "--answers", "1,2,3,0,1,2,3,0,1"], capsys)
    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert payload["instrument"] == "phq9"
    assert payload["total"] == 13
    assert payload["severity"] == {"label": "moderate", "low": 10, "high": 14}
    assert payload["flags"] == ["suicidality-item-positive", "cssrs-screen-needed",
                               "suicidality-urgent"]
    assert out.count("\n") == 1


def test_score_qids_subscores(capsys: pytest.CaptureFixture[str]) -> None:
    answers = "3,1,0,2,2,0,1,2,0,1,1,0,2,3,1,2"
    code, out, _ = run(["scales", "score", "qids-sr16", "--answers", answers], capsys)
    payload = json.loads(out)
    assert (code, payload["total"], payload["subscores"]["sleep"]) == (0, 16, 3)


def test_score_cssrs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["scales", "score", "cssrs-screener", "--answers", "y,Y,n,yes,no,n,-"],
                       capsys)
    payload = json.loads(out)
    assert (code, payload["risk_level"], payload["flags"], payload["total"]) == (
        0, "high", ["cssrs-high"], None)


def test_score_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["scales", "score", "ymrs", "--answers", "2,1,0,3,6,4,1,2,0,1,2",
                        "--format", "table"], capsys)
    assert code == 0
    assert "total: 22 (range 0-60)" in out
    assert "severity: manic (21-60)" in out
    assert "flags: possible-switch, probable-mania" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scales", "score", "madrs", "--answers", "1,2,7,4,5,6,0,1,2,4"],
         "error: madrs item 3 (inner_tension) must be an integer 0-6 (got 7)"),
        (["scales", "score", "madrs", "--answers", "1,2,3"],
         "error: madrs item 4 (reduced_sleep) is missing: madrs expects 10 answers (got 3)"),
        (["scales", "score", "madrs", "--answers", "0,0,0,0,0,0,0,0,0,0,0"],
         "error: madrs expects 10 answers (got 11): answer 11 has no item"),
        (["scales", "score", "gad7", "--answers", "0,x,0,0,0,0,0"],
         "error: gad7 item 2 (uncontrolled_worry) must be an integer 0-3 (got 'x')"),
        (["scales", "score", "hamd", "--answers", "1"], "error: unknown instrument 'hamd'"),
        (["scales", "score", "cssrs-screener", "--answers", "y,n,y,-,-,n,-"],
         "error: cssrs-screener item 3 (thoughts_with_method) must be left out because item 2 "
         "is no (got yes)"),
        (["scales", "score", "cssrs-screener", "--answers", "y,maybe,-,-,-,n,-"],
         "error: cssrs-screener item 2 (suicidal_thoughts) must be yes or no (got 'maybe')"),
        (["scales", "score", "madrs", "--answers", "1", "--format", "xml"], "error: "),
        (["scales", "score", "madrs"], "error: Missing option '--answers'"),
    ],
)
def test_errors_exit_2_with_one_stderr_line(argv: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.startswith(message)


def test_show_with_and_without_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["scales", "show", "padss"], capsys)
    assert code == 0
    assert "4. [surgical_bleeding] Surgical bleeding" in out
    assert "scored 2 by rule" in out
    pack = {"instrument": "asrm", "version": "v1",
            "items": [{"id": item.id, "text": f"Q{item.number}"}
                      for item in get_instrument("asrm").items]}
    path = tmp_path / "asrm.json"
    path.write_text(json.dumps(pack), encoding="utf-8")
    code, out, _ = run(["scales", "show", "asrm", "--wording", str(path)], capsys)
    assert code == 0
    assert "wording: pack v1" in out
    assert "1. [cheerfulness] Q1" in out


def test_show_rejects_a_bad_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"instrument": "asrm", "version": "v1", "items": []}', encoding="utf-8")
    code, out, err = run(["scales", "show", "asrm", "--wording", str(path)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and "missing item id(s)" in err
    assert err.count("\n") == 1
    code, out, err = run(["scales", "show", "madrs", "--wording", str(tmp_path / "none.json")],
                         capsys)
    assert (code, out) == (2, "")
    assert "cannot read the file" in err
