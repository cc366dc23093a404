"""The monthly clinic report as a PDF (reportlab), in the house layout of the other reports:
the clinic, the month and site, when and by whom it was generated, then each table of the
view and the charts as images through `ketaflow.charts`. An aggregate printout: the footer
says so instead of naming a patient."""

from __future__ import annotations

from html import escape
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer
from reportlab.platypus.flowables import Flowable

from ketaflow.infusions.pdf import Printout
from ketaflow.moodchart.pdf import CONTENT_WIDTH, _section, _styles
from ketaflow.reports.monthly.view import MonthlyView, Table
from ketaflow.reports.pdf import DISCLAIMER, _build, _head, _image, _para

FIRST_COLUMN_MM = {"activity": 60, "sites": 40, "weeks": 40, "safety": 80, "outcomes": 24,
                   "controlled": 80}


def _widths(table: Table) -> list[float]:
    first = FIRST_COLUMN_MM.get(table.key, 50) * mm
    rest = len(table.header) - 1
    return [first, *([(CONTENT_WIDTH - first) / rest] * rest)] if rest else [CONTENT_WIDTH]


def _table(table: Table, styles: Any) -> list[Flowable]:
    body = _section(table.title, table.empty, list(table.header),
                    [list(row) for row in table.rows], _widths(table), styles)
    if table.note:
        body.append(_para(table.note, styles, "small"))
    return body


def monthly_pdf(view: MonthlyView, *, printout: Printout) -> bytes:
    styles = _styles()
    report = view.report
    story = _head(printout, view.title, [
        ("Month", f"{report.month.first.isoformat()} to {report.month.last.isoformat()} "
                  f"({report.zone})"),
        ("Site", report.scope)], styles)
    story += [_para(note, styles) for note in view.notes]
    if view.empty:
        story.append(Paragraph(f"<b>{escape(view.empty)}</b>", styles["BodyText"]))
    else:
        for table in view.tables:
            story += _table(table, styles)
            if table.key == "weeks" and view.weekly_spec is not None:
                story.append(_image(view.weekly_spec, 50 * mm))
            if table.key == "outcomes" and view.rates_spec is not None:
                story.append(_image(view.rates_spec, 50 * mm))
    story += [Spacer(1, 3 * mm), _para(DISCLAIMER, styles, "Italic")]
    footer = (f"Monthly clinic report {report.month.iso}  ·  {report.scope}  ·  "
              "aggregate: no patient identifiers")
    return _build(story, printout, view.title, footer=footer)
