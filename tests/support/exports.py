"""Reading CSV exports back as a spreadsheet would, to find cells it would run as formulas."""

from __future__ import annotations

import csv
import io
import re

# What spreadsheets take as the start of a formula (OWASP, "CSV injection"). Written out here
# rather than imported from ketaflow.csvsafe, so the check does not share the code it checks.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def formula_cells(rows: list[dict[str, str]]) -> list[str]:
    """Cells a spreadsheet would evaluate. A plain number such as -2.5 is not one of them: it
    cannot carry a formula, and exports keep numbers usable."""
    return [
        value
        for row in rows
        for value in row.values()
        if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value)
    ]


def hostile(lead: str, field: str) -> str:
    """Text for `field` that a spreadsheet would run as a formula if exported as it is."""
    return f"{lead}SUM(1+1)!{field}"
