"""The prior-authorisation packet and the clinician report as PDFs (reportlab).

Both open with the clinic, who the printout is about (name, date of birth, MRN), when and by
whom it was generated; every page's footer repeats the patient's name, date of birth and MRN
with "page x of y" (the life-chart report's numbered canvas and table styles, imported from
`ketaflow.moodchart.pdf`, so all printouts look and identify alike). Times are the clinic's,
with the zone stated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from html import escape
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from ketaflow import charts
from ketaflow.infusions.pdf import Printout

# The life-chart report's building blocks (footer canvas, tables, styles, its chart image).
from ketaflow.moodchart.pdf import (
    CONTENT_WIDTH,
    LINE,
    MARGIN,
    _chart,
    _numbered_canvas,
    _png_size,
    _section,
    _styles,
)
from ketaflow.reports.clinician import ClinicianReport
from ketaflow.reports.prior_auth import NO_SERVICE_CODES, PriorAuthPacket

DISCLAIMER = ("Prepared from the clinic's record by ketaflow. ketaflow supports clinicians' "
              "decisions and never replaces them.")


def _when(value: datetime | None, zone: str) -> str:
    if value is None:
        return "-"
    return f"{value.astimezone(ZoneInfo(zone)).strftime('%Y-%m-%d %H:%M')} {zone}"


def _on(value: date | None) -> str:
    return "-" if value is None else value.isoformat()


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.1f}".removesuffix(".0") + unit


def _who(printout: Printout, extra: Sequence[tuple[str, str]], styles: Any) -> Table:
    cell = styles["BodyText"]
    rows = [*printout.identity_rows, *extra, ("Generated", printout.printed), *printout.staff]
    table = Table([[Paragraph(f"<b>{escape(k)}</b>", cell), Paragraph(escape(v), cell)]
                   for k, v in rows], colWidths=[40 * mm, CONTENT_WIDTH - 40 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("TOPPADDING", (0, 0), (-1, -1), 1),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, LINE)]))
    return table


def _build(story: list[Flowable], printout: Printout, title: str,
           footer: str | None = None) -> bytes:
    """The PDF; every page's footer names the patient (or `footer`, for a printout about no
    patient) with "page x of y"."""
    footer = footer or "  ·  ".join(f"{label} {value}"
                                    for label, value in printout.identity_rows)
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=18 * mm, title=title,
                            author="ketaflow")
    doc.build(story, canvasmaker=_numbered_canvas(footer or "no patient"))
    return buffer.getvalue()


def _head(printout: Printout, title: str, extra: Sequence[tuple[str, str]], styles: Any
          ) -> list[Flowable]:
    story: list[Flowable] = []
    if printout.clinic_name:
        story.append(Paragraph(escape(printout.clinic_name), styles["Heading2"]))
    return [*story, Paragraph(escape(title), styles["Title"]), _who(printout, extra, styles),
            Spacer(1, 3 * mm)]


def _para(text: str, styles: Any, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(text), styles[style])


# --- the prior-authorisation packet -------------------------------------------------------


def _diagnosis(packet: PriorAuthPacket, styles: Any) -> list[Flowable]:
    d = packet.diagnosis
    if d is None:
        return _section("Diagnosis", "No diagnosis recorded.", [], [], [], styles)
    duration = ("episode start not recorded" if d.episode_duration_days is None
                else f"{d.episode_duration_days} days ({d.episode_duration_days // 7} weeks) "
                     f"since {_on(d.episode_start_date)}")
    rows = [["ICD-10-CM", d.icd10_code], ["SNOMED CT", d.snomed_code],
            ["Diagnosis", d.label], ["Current episode",
                                     d.episode + (f", {d.severity}" if d.severity else "")],
            ["Episode duration", duration], ["Onset", _on(d.onset_date)],
            ["Psychosis history", "yes" if d.psychosis_history else "no"]]
    return _section("Diagnosis", "", ["Item", "Recorded"], rows,
                    [40 * mm, CONTENT_WIDTH - 40 * mm], styles)


def _resistance(packet: PriorAuthPacket, styles: Any) -> list[Flowable]:
    r = packet.resistance
    if r is None:
        return _section("Treatment-resistance history", "No diagnosis recorded, so trial "
                        "adequacy (which depends on bipolar I or II) is not judged.",
                        [], [], [], styles)
    rows = [[str(t.number), t.regimen, _on(t.start_date),
             ("yes" if t.adherence_verified else "no"), t.response,
             "counts" if t.counts else "does not count", "; ".join(t.reasons)]
            for t in r.trials]
    body = _section("Treatment-resistance history", "No prior treatment trials recorded.",
                    ["#", "Regimen", "Started", "Adherence verified", "Response", "Adequacy",
                     "Why"], rows,
                    [6 * mm, 34 * mm, 17 * mm, 19 * mm, 16 * mm, 17 * mm,
                     CONTENT_WIDTH - 109 * mm], styles)
    return [*body, _para(f"Verdict: {r.verdict}. Source: {r.source}.", styles, "small")]


def _scores(packet: PriorAuthPacket, zone: str, styles: Any) -> list[Flowable]:
    rows = [[_when(s.rated_at, zone), s.instrument,
             f"risk {s.risk_level}" if s.risk_level else _num(s.total), s.severity or "-",
             s.rater] for s in packet.scores]
    return _section("Scale scores", "No ratings recorded.",
                    ["Rated", "Scale", "Score", "Severity", "Rated by"], rows,
                    [38 * mm, 26 * mm, 20 * mm, 40 * mm, CONTENT_WIDTH - 124 * mm], styles)


def _suicidality(packet: PriorAuthPacket, zone: str, styles: Any) -> list[Flowable]:
    s = packet.suicidality
    attempts = ("not recorded (no diagnosis and history)" if s.attempts is None else
                f"{s.attempts} lifetime attempt(s)" + (
                    f", last {_on(s.last_attempt_date)}" if s.last_attempt_date else ""))
    body: list[Flowable] = [Paragraph("Suicidality history", styles["Heading3"]),
                            _para(f"Suicide attempts: {attempts}.", styles)]
    body += _section("C-SSRS results", "No C-SSRS screener recorded.",
                     ["Rated", "Risk", "Rated by"],
                     [[_when(c.rated_at, zone), c.risk_level or "-", c.rater] for c in s.cssrs],
                     [40 * mm, 30 * mm, CONTENT_WIDTH - 70 * mm], styles)
    body += _section("Suicidality alerts", "No suicidality alerts raised.",
                     ["Raised", "Alert", "Acknowledged"],
                     [[_when(a.raised_at, zone), a.title,
                       "open" if a.acknowledged_at is None else
                       f"{_when(a.acknowledged_at, zone)} by {a.acknowledged_by}"]
                      for a in s.alerts],
                     [36 * mm, CONTENT_WIDTH - 96 * mm, 60 * mm], styles)
    return body


def _screening(packet: PriorAuthPacket, zone: str, styles: Any) -> list[Flowable]:
    s = packet.screening
    if s is None:
        return _section("Signed screening", "No signed screening on record.", [], [], [],
                        styles)
    body: list[Flowable] = [Paragraph("Signed screening: contraindications and cautions",
                                      styles["Heading3"]),
                            _para(f"Signed {_when(s.signed_at, zone)} by {s.signed_by}; outcome "
                                  f"{s.outcome}.", styles)]
    rows = [[f.kind, f.message, f.source] for f in s.findings]
    body += _section("", "No contraindication or caution found at screening.",
                     ["Kind", "Finding", "Source"], rows,
                     [30 * mm, CONTENT_WIDTH - 90 * mm, 60 * mm], styles)[1:]
    return body


def _body_and_meds(packet: PriorAuthPacket, zone: str, styles: Any) -> list[Flowable]:
    b = packet.body
    rows = [["Height", _num(b.height_cm, " cm"), _when(b.height_measured_at, zone)],
            ["Weight", _num(b.weight_kg, " kg"), _when(b.weight_measured_at, zone)],
            ["BMI", _num(b.bmi_kg_per_m2, " kg/m²"), "from the latest height and weight"]]
    body = _section("Height, weight, BMI", "", ["Measure", "Value", "Measured"], rows,
                    [30 * mm, 30 * mm, CONTENT_WIDTH - 60 * mm], styles)
    body += _section("Concomitant medications", "No current medications recorded.",
                     ["Drug", "Class", "Dose", "Since"],
                     [[m.drug, m.drug_class, m.dose, _on(m.start_date)]
                      for m in packet.medications],
                     [50 * mm, 45 * mm, 40 * mm, CONTENT_WIDTH - 135 * mm], styles)
    return body


def _course_and_codes(packet: PriorAuthPacket, styles: Any) -> list[Flowable]:
    c = packet.course
    if c is None:
        body = _section("Planned course", "No course planned.", [], [], [], styles)
    else:
        rows = [["Course", f"{c.course_id} ({c.state})"],
                ["Induction", f"{c.infusion_count} infusions, {c.frequency}"],
                ["Dose", f"{c.dose_mg_per_kg:g} mg/kg ketamine ({c.salt_form}), at most "
                         f"{c.max_dose_mg:g} mg per infusion, IV over about 40 minutes"],
                ["Planned dates", ", ".join(d.isoformat() for d in c.planned_dates)]]
        body = _section("Planned course", "", ["Item", "Plan"], rows,
                        [30 * mm, CONTENT_WIDTH - 30 * mm], styles)
    body += _section("Service codes (configured by the clinic)",
                     f"{NO_SERVICE_CODES[0].upper()}{NO_SERVICE_CODES[1:]}.",
                     ["System", "Code", "Service"],
                     [[s.code_system, s.code, s.label] for s in packet.service_codes],
                     [30 * mm, 25 * mm, CONTENT_WIDTH - 55 * mm], styles)
    return body


def prior_auth_pdf(packet: PriorAuthPacket, *, printout: Printout) -> bytes:
    styles = _styles()
    zone = printout.zone
    story = _head(printout, "Prior authorisation: IV ketamine for bipolar depression", [],
                  styles)
    story += _diagnosis(packet, styles)
    story += _resistance(packet, styles)
    story += _scores(packet, zone, styles)
    story += _suicidality(packet, zone, styles)
    story += _screening(packet, zone, styles)
    story += _body_and_meds(packet, zone, styles)
    story += _course_and_codes(packet, styles)
    story.append(Spacer(1, 3 * mm))
    story.append(_para("IV ketamine for bipolar depression is off-label. " + DISCLAIMER,
                       styles, "Italic"))
    return _build(story, printout, "Prior authorisation packet")


# --- the clinician report -----------------------------------------------------------------


def _image(spec: charts.Spec, max_height: float) -> Flowable:
    png = charts.png(spec, scale=2.0)
    width_px, height_px = _png_size(png)
    width, height = CONTENT_WIDTH, CONTENT_WIDTH * height_px / width_px
    if height > max_height:
        width, height = width * max_height / height, max_height
    return Image(BytesIO(png), width=width, height=height)


def _report_scores(report: ClinicianReport, zone: str, styles: Any) -> list[Flowable]:
    body: list[Flowable] = [Paragraph("Scale scores", styles["Heading3"])]
    if not report.scores:
        return [*body, _para("No ratings in this range.", styles)]
    for name, spec in report.score_specs:
        body += [Paragraph(f"<b>{escape(name)}</b>", styles["small"]), _image(spec, 55 * mm)]
    rows = [[_when(s.rated_at, zone), s.instrument,
             f"risk {s.risk_level}" if s.risk_level else _num(s.total), s.severity or "-",
             s.rater] for s in report.scores]
    return body + _section("", "", ["Rated", "Scale", "Score", "Severity", "Rated by"], rows,
                           [38 * mm, 26 * mm, 20 * mm, 40 * mm, CONTENT_WIDTH - 124 * mm],
                           styles)[1:]


def _report_mood(report: ClinicianReport, styles: Any) -> list[Flowable]:
    view = report.life_chart
    body: list[Flowable] = [Paragraph("Life chart", styles["Heading3"])]
    if view is None:
        return [*body, _para("No mood entries in this range.", styles)]
    body += [_chart(view, 110 * mm), _para(
        "Bars: the worst of each day, elevated or irritable above the line, depressed below "
        "(1 mild, 2 moderate, 3 severe); lower panel: hours slept.", styles, "small")]
    return body + _section(
        "Mood chart warnings", "No mood chart warnings in this range.",
        ["Day", "Kind", "Reason"],
        [[s.day.isoformat(), s.kind.value, s.reason] for s in view.signals],
        [22 * mm, 26 * mm, CONTENT_WIDTH - 48 * mm], styles)


def _report_infusions(report: ClinicianReport, zone: str, styles: Any) -> list[Flowable]:
    rows = [[_when(i.started_at, zone), i.status,
             "-" if i.ordered_dose_mg is None else
             f"{i.ordered_dose_mg:.1f} mg ({i.ordered_mg_per_kg:.3g} mg/kg)",
             _num(i.delivered_dose_mg, " mg"), _num(i.highest_sbp_mmhg),
             "-" if i.highest_cadss6 is None else str(i.highest_cadss6),
             "; ".join(i.side_effects + i.adverse_events) or "none charted"]
            for i in report.infusions]
    return _section("Infusions", "No infusions in this range.",
                    ["Started", "Status", "Dose ordered", "Delivered", "Highest SBP",
                     "CADSS-6 max", "Side effects and adverse events"], rows,
                    [30 * mm, 18 * mm, 30 * mm, 17 * mm, 15 * mm, 15 * mm,
                     CONTENT_WIDTH - 125 * mm], styles)


def _report_alerts_meds(report: ClinicianReport, zone: str, styles: Any) -> list[Flowable]:
    body = _section("Alerts raised in this range", "No alerts raised in this range.",
                    ["Raised", "Alert", "Acknowledged"],
                    [[_when(a.raised_at, zone), a.title, _when(a.acknowledged_at, zone)
                      if a.acknowledged_at else "open"] for a in report.alerts],
                    [36 * mm, CONTENT_WIDTH - 76 * mm, 40 * mm], styles)
    return body + _section(
        "Medications over this range", "No medications recorded for this range.",
        ["Drug", "Dose", "Started", "Stopped"],
        [[m.drug, m.dose, _on(m.start_date), _on(m.stop_date) if m.stop_date else "ongoing"]
         for m in report.medications],
        [55 * mm, 45 * mm, 30 * mm, CONTENT_WIDTH - 130 * mm], styles)


def clinician_pdf(report: ClinicianReport, *, printout: Printout) -> bytes:
    styles = _styles()
    zone = printout.zone
    days = (report.end - report.start).days + 1
    story = _head(printout, "Clinician report: IV ketamine treatment",
                  [("Range", f"{report.start.isoformat()} to {report.end.isoformat()} "
                             f"({days} days)")], styles)
    if report.empty:
        story.append(_para("Nothing was recorded for this patient in this range: no ratings, "
                           "infusions, alerts, medications or mood entries.", styles))
    story += _report_scores(report, zone, styles)
    story += _report_mood(report, styles)
    story += _report_infusions(report, zone, styles)
    story += _report_alerts_meds(report, zone, styles)
    story += [Spacer(1, 3 * mm), _para(DISCLAIMER, styles, "Italic")]
    return _build(story, printout, "Clinician report")
