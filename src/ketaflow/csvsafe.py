"""Cells for CSV exports that a spreadsheet will not run as formulas (CSV injection).

Text that begins with "=", "+", "-" or "@", or with a tab or carriage return (which some
spreadsheets skip before they evaluate), gets a single quote in front, as OWASP recommends.
Finite numbers are written as numbers, so a negative amount stays `-2.5` and still sums in a
spreadsheet (a number cannot carry a formula): only text is neutralised. Pass numbers as
numbers, not as strings formatted beforehand, or they are treated as text.
"""

from __future__ import annotations

import math
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One exported cell: empty for None, a plain number, or text that cannot start a formula."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value).removesuffix(".0")  # 500.0 as "500", 2.5 as "2.5", nothing lost
    if isinstance(value, Decimal) and value.is_finite():
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
