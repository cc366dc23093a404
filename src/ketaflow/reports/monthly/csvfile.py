"""The monthly clinic report as one CSV table: a row per printed value, the same text the
page and the PDF show (suppressed counts as "<11"), every cell through `ketaflow.csvsafe`.

Columns: month, site (the report's scope), section, row, measure, value.
"""

from __future__ import annotations

import csv
import io

from ketaflow import csvsafe
from ketaflow.reports.monthly.view import MonthlyView

HEADER = ("month", "site", "section", "row", "measure", "value")


def monthly_csv(view: MonthlyView) -> str:
    report = view.report
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for table in view.tables:
        for row in table.rows:
            for measure, value in zip(table.header[1:], row[1:], strict=True):
                writer.writerow([csvsafe.cell(v) for v in (
                    report.month.iso, report.scope, table.title, row[0], measure, value)])
    return out.getvalue()
