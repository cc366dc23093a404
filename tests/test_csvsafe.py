"""CSV cells cannot start a spreadsheet formula; numbers stay numbers; every CSV export in the
app goes through ketaflow.csvsafe (and has a test storing hostile text and exporting it)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

import ketaflow
from ketaflow.csvsafe import cell

SRC = Path(ketaflow.__file__).resolve().parent
# The modules that write CSV, and the routes that serve it. The hostile-data tests for each:
# tests/audit/test_csv_export.py (page and CLI), tests/infusions/test_ledger_pages.py,
# tests/reports/test_clinician.py and tests/research/test_export.py.
CSV_WRITERS = {"audit/service.py", "infusions/controlled/views.py",
               "infusions/controlled/reconciliation.py", "reports/csvfile.py",
               "reports/monthly/csvfile.py", "research/writers.py"}
CSV_RESPONSES = {"audit/routes.py", "infusions/ledger_routes.py", "reports/routes.py",
                 "reports/monthly/routes.py"}


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_would_start_a_formula_is_quoted(lead: str) -> None:
    assert cell(f"{lead}SUM(A1:A9)") == f"'{lead}SUM(A1:A9)"


def test_other_text_is_unchanged() -> None:
    assert [cell("K-1"), cell("ketamine"), cell(""), cell(None)] == ["K-1", "ketamine", "", ""]


def test_numbers_are_written_as_numbers_even_when_negative() -> None:
    assert [cell(-2.5), cell(500.0), cell(-3), cell(0.1), cell(Decimal("-1.25"))] == [
        "-2.5", "500", "-3", "0.1", "-1.25"]


def test_numbers_given_as_text_and_non_finite_numbers_are_text() -> None:
    # Only a real number is trusted: "-2+3" is a formula however numeric it looks.
    assert [cell("-2.5"), cell("-2+3"), cell(float("-inf"))] == ["'-2.5", "'-2+3", "'-inf"]
    assert cell(True) == "True"


def _modules_matching(pattern: str) -> set[str]:
    return {path.relative_to(SRC).as_posix() for path in SRC.rglob("*.py")
            if re.search(pattern, path.read_text(encoding="utf-8"))}


def test_every_csv_export_is_known_and_neutralised() -> None:
    """A new CSV export fails here until it uses csvsafe and has a hostile-data test."""
    assert _modules_matching(r"csv\.(writer|DictWriter)\(") == CSV_WRITERS
    assert _modules_matching(r"text/csv") == CSV_RESPONSES
    for module in CSV_WRITERS:
        assert "csvsafe.cell(" in (SRC / module).read_text(encoding="utf-8"), module
