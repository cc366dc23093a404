"""The life-chart report for the prescriber as a PDF (reportlab), from the same view and chart
spec as the mood page.

Page 1 opens with who and what it is about (clinic, patient name, date of birth, MRN, range,
when and by whom it was generated), then the two-pole chart (the page's Vega-Lite spec rendered
to PNG by `ketaflow.charts`), the warnings with their reasons, the medication changes and the
scale totals; then one row per charted day. Every page's footer repeats the patient's name,
date of birth and MRN with "page x of y", so a loose page still says whose it is.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from io import BytesIO
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from ketaflow import charts
from ketaflow.infusions.pdf import Printout
from ketaflow.moodchart.service import RATING_NAMES, ChartView
from ketaflow.moodchart.warnings import StoredEntry

MARGIN = 16 * mm
CONTENT_WIDTH = A4[0] - 2 * MARGIN
LINE, SHADE = colors.HexColor("#9aa9b7"), colors.HexColor("#eef2f5")
FOOTER_FONT, FOOTER_SIZE = "Helvetica", 8


@dataclass(frozen=True)
class DayRow:
    """One charted day as the report's table shows it."""

    day: date
    entries: int
    depressed: int
    elevated: int
    irritable: int
    anxious: int
    sleep_h: float | None
    medications: str   # "taken/asked" over the day's answers, "-" if none asked
    events: str
    flags: str


def day_rows(view: ChartView) -> list[DayRow]:
    """The daily summaries (worst of the day per pole, the latest sleep) with what the summary
    rule leaves out: the medications-taken share, life events and flags (a note written,
    psychotic symptoms), from the entries not marked entered in error."""
    by_day: dict[date, list[StoredEntry]] = {}
    for row in view.rows:
        if row.entered_in_error_at is None:
            by_day.setdefault(row.day, []).append(row)
    out = []
    for s in view.summaries:
        rows = by_day.get(s.day, [])
        answers = [bool(v) for r in rows for v in (r.medications_taken or {}).values()]
        events = [f"{r.life_event} ({r.life_event_impact:+d})" for r in rows
                  if r.life_event and r.life_event_impact is not None]
        flags = (["psychotic symptoms"] if any(r.psychotic_symptoms for r in rows) else []) + (
            ["note"] if any(r.note for r in rows) else [])
        out.append(DayRow(s.day, s.entries, s.depressed, s.elevated, s.irritable, s.anxious,
                          s.sleep_h, f"{sum(answers)}/{len(answers)}" if answers else "-",
                          "; ".join(events), ", ".join(flags)))
    return out


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels from the PNG header (IHDR is always the first chunk)."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _chart(view: ChartView, max_height: float) -> Flowable:
    png = charts.png(view.spec, scale=2.0)
    width_px, height_px = _png_size(png)
    width = CONTENT_WIDTH
    height = width * height_px / width_px
    if height > max_height:
        width, height = width * max_height / height, max_height
    return Image(BytesIO(png), width=width, height=height)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
           style: Any) -> Table:
    cells = [[Paragraph(f"<b>{escape(h)}</b>", style) for h in header]] + [
        [Paragraph(escape(value), style) for value in row] for row in rows]
    table = Table(cells, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5), ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("GRID", (0, 0), (-1, -1), 0.4, LINE),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return table


def _section(title: str, empty: str, header: Sequence[str], rows: Sequence[Sequence[str]],
             widths: Sequence[float], styles: Any) -> list[Flowable]:
    body: list[Flowable] = [Paragraph(escape(title), styles["Heading3"])]
    if rows:
        body.append(_table(header, rows, widths, styles["small"]))
    else:
        body.append(Paragraph(escape(empty), styles["BodyText"]))
    return body


def _styles() -> Any:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=9.5)
    styles.add(small)
    return styles


def _numbered_canvas(footer: str) -> type[Canvas]:
    """A canvas that holds each page until the last, then stamps every footer with the
    identity line and "page x of y" (the total is only known once the story has flowed)."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no types
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(FOOTER_FONT, FOOTER_SIZE)
                self.setFillColor(colors.HexColor("#4b5b6a"))
                self.line(MARGIN, 12 * mm, A4[0] - MARGIN, 12 * mm)
                self.drawString(MARGIN, 8 * mm, footer)
                self.drawRightString(A4[0] - MARGIN, 8 * mm, f"page {number} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def report_pdf(view: ChartView, *, printout: Printout, days: int) -> bytes:
    """The prescriber's life-chart report over `view`'s range."""
    styles = _styles()
    cell = styles["BodyText"]
    range_text = f"{view.start.isoformat()} to {view.end.isoformat()} ({days} days)"
    identity = printout.identity_rows
    who = Table([[Paragraph(f"<b>{escape(label)}</b>", cell), Paragraph(escape(value), cell)]
                 for label, value in [*identity, ("Range", range_text),
                                      ("Generated", printout.printed), *printout.staff]],
                colWidths=[40 * mm, CONTENT_WIDTH - 40 * mm])
    who.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                             ("TOPPADDING", (0, 0), (-1, -1), 1),
                             ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                             ("LINEBELOW", (0, 0), (-1, -1), 0.25, LINE)]))
    story: list[Flowable] = []
    if printout.clinic_name:
        story.append(Paragraph(escape(printout.clinic_name), styles["Heading2"]))
    story += [Paragraph("Life chart report for the prescriber", styles["Title"]), who,
              Spacer(1, 3 * mm)]
    if view.summaries:
        story += [_chart(view, 120 * mm), Paragraph(
            "Bars: the worst of each day, elevated or irritable above the line, depressed below "
            "(1 mild, 2 moderate, 3 severe). Green triangles: infusions (dose delivered); dashed "
            "purple lines: medication changes; grey squares: life events; dark circles: scale "
            "totals; red diamonds: warnings; dashed grey line: forecast of mood (elevated minus "
            f"depressed) for 7 days with its 80% band. Lower panel: hours slept. Days in "
            f"{escape(printout.zone)}.", styles["small"])]
    else:
        story.append(Paragraph("No mood entries in this range.", cell))
    story += _section(
        "Warnings in this range", "No warnings in this range.", ["Day", "Kind", "Reason"],
        [[s.day.isoformat(), s.kind.value, s.reason] for s in view.signals],
        [22 * mm, 26 * mm, CONTENT_WIDTH - 48 * mm], styles)
    story += _section(
        "Medication changes in this range", "No medication started or stopped in this range.",
        ["Day", "Change"], [[m.day.isoformat(), m.label] for m in view.medication_changes],
        [22 * mm, CONTENT_WIDTH - 22 * mm], styles)
    story += _section(
        "Scale totals in this range", "No rated scales in this range.",
        ["Day", "Scale", "Total"],
        [[r.day.isoformat(), RATING_NAMES.get(r.instrument, r.instrument), str(r.total)]
         for r in view.ratings], [22 * mm, 40 * mm, 20 * mm], styles)
    days_rows = day_rows(view)
    story += _section(
        f"Daily summaries ({len(days_rows)} days charted)", "No days charted in this range.",
        ["Day", "Entries", "Depressed", "Elevated", "Irritable", "Anxious", "Sleep (h)",
         "Meds taken", "Life events", "Flags"],
        [[r.day.isoformat(), str(r.entries), str(r.depressed), str(r.elevated),
          str(r.irritable), str(r.anxious), "-" if r.sleep_h is None else f"{r.sleep_h:g}",
          r.medications, r.events, r.flags] for r in days_rows],
        [18 * mm, 12 * mm, 17 * mm, 15 * mm, 14 * mm, 14 * mm, 14 * mm, 16 * mm,
         CONTENT_WIDTH - 145 * mm, 25 * mm], styles)
    story.append(Paragraph(
        "Meds taken: medications answered as taken over those asked that day. "
        "Scores 0-3 are the worst of the day per pole as the patient or a clinician entered "
        "them (several entries a day allowed); sleep is the latest report of the day. "
        "Warnings are suggestions against the patient's own baseline or population cut-offs: "
        "ketaflow supports clinicians' decisions and never replaces them.", styles["Italic"]))
    footer = "  ·  ".join(f"{label} {value}" for label, value in identity) or "no patient"
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=18 * mm,
                            title="Life chart report", author="ketaflow")
    doc.build(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()
