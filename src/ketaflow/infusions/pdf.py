"""The per-session summary as a one-page PDF (reportlab), mirroring the printable HTML page."""

from __future__ import annotations

from datetime import datetime
from html import escape
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ketaflow.infusions.formulary import drug_name
from ketaflow.infusions.summary import (
    SessionSummary,
    delivery_text,
    discharge_override_text,
    pauses_text,
    rate_changes_text,
    running_text,
    stop_text,
)


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def summary_rows(summary: SessionSummary) -> list[tuple[str, str]]:
    """Label/value pairs shared by the HTML summary and the PDF."""
    order = summary.order
    rows = [
        ("Drug, lot", "-" if order is None else f"{drug_name(order.drug)}, lot "
                                                f"{order.lot_number} (exp {order.expiry_date})"),
        ("Concentration", "-" if order is None else
         f"{order.concentration_mg_per_ml:g} mg/mL ({order.concentration_salt.value})"),
        ("Dose ordered", "-" if order is None else
         f"{order.dose_mg:.1f} mg ({order.dose_mg_per_kg:.3g} mg/kg, {order.dose_salt.value}) "
         f"at {order.rate_ml_per_h:g} mL/h over {order.duration_min:g} min"),
        ("Dose delivered", delivery_text(summary)),
        ("Infusion start / end", f"{_time(summary.started_at)} / {_time(summary.ended_at)}"),
        ("Running time", running_text(summary)),
        ("Pauses", pauses_text(summary)),
        ("Rate changes", rate_changes_text(summary)),
        ("Stop", stop_text(summary)),
    ]
    earlier = [line for line in summary.orders if line.superseded_at is not None]
    if earlier:
        rows.append(("Superseded orders", "; ".join(
            f"{line.order.dose_mg:.1f} mg at {line.order.rate_ml_per_h:g} mL/h signed "
            f"{_time(line.order.signed_at)} by {line.signed_by}, superseded "
            f"{_time(line.superseded_at)}" for line in earlier)))
    replacing = [line for line in summary.orders if line.supersede_reason]
    if replacing:
        rows.append(("Reason for new order", "; ".join(
            f"{_time(line.order.signed_at)} by {line.signed_by}: {line.supersede_reason}"
            for line in replacing)))
    rows += [(f"BP {point.label}", point.text) for point in summary.bp]
    rows += [
        ("Sedation (deepest RASS)", "-" if summary.deepest_rass is None
         else f"{summary.deepest_rass:+d}"),
        ("Dissociation (CADSS-6, highest)", "-" if summary.max_cadss6 is None
         else str(summary.max_cadss6)),
        ("Breathing", ("problem charted" if summary.breathing_problem else "no problem charted")
         + ("" if summary.lowest_spo2_percent is None
            else f"; lowest SpO2 {summary.lowest_spo2_percent:g}%")),
        ("Serious adverse events", "; ".join(summary.serious_events) or "none"),
        ("Rescue medication", "; ".join(summary.rescue_medications) or "none"),
        ("Ready to leave", summary.ready_text),
        ("Discharged", _time(summary.discharged_at)),
        ("Discharge override", discharge_override_text(summary)),
        ("Escort", "confirmed" if summary.escort_confirmed else "not confirmed"),
    ]
    rows += [(note.kind, (f"signed {_time(note.signed_at)} by {note.signed_by}"
                          if note.signed_at else "draft, not signed"))
             for note in summary.notes]
    return rows


def summary_pdf(summary: SessionSummary, *, mrn: str, generated_at: datetime,
                clinic_name: str | None = None) -> bytes:
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm,
                            title=f"Infusion session {summary.session_id} summary",
                            author="ketaflow")
    styles = getSampleStyleSheet()
    cell = styles["BodyText"]
    table = Table([[Paragraph(escape(label), cell), Paragraph(escape(value), cell)]
                   for label, value in summary_rows(summary)], colWidths=[58 * mm, 116 * mm])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa9b7")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    header = [Paragraph(escape(clinic_name), styles["Heading2"])] if clinic_name else []
    story = [
        *header,
        Paragraph("IV ketamine infusion: session monitoring summary", styles["Title"]),
        Paragraph(f"Session {summary.session_id} &middot; MRN {escape(mrn)} &middot; status "
                  f"{summary.status}", styles["Normal"]),
        Spacer(1, 6 * mm), table, Spacer(1, 6 * mm),
        Paragraph("Modelled on the Spravato REMS patient monitoring form. ketaflow supports "
                  f"clinicians' decisions and never replaces them. Generated "
                  f"{_time(generated_at)}.", styles["Italic"]),
    ]
    doc.build(story)
    return buffer.getvalue()
