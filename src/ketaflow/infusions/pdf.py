"""The per-session summary as a one-page PDF (reportlab), mirroring the printable HTML page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from io import BytesIO
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ketaflow.infusions.formulary import drug_name
from ketaflow.infusions.models import InfusionSession, NoteKind
from ketaflow.infusions.summary import (
    UTC_ZONE,
    SessionSummary,
    clinic_time_text,
    delivery_text,
    discharge_override_text,
    pauses_text,
    rate_changes_text,
    running_text,
    stop_text,
)
from ketaflow.patients.service.identity import PatientIdentity


def summary_rows(summary: SessionSummary, zone: str = UTC_ZONE) -> list[tuple[str, str]]:
    """Label/value pairs shared by the HTML summary and the PDF, times in `zone` (the
    clinic's), the zone stated beside each."""

    def _time(value: datetime | None) -> str:
        return clinic_time_text(value, zone)

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
        ("Pauses", pauses_text(summary, zone)),
        ("Rate changes", rate_changes_text(summary, zone)),
        ("Stop", stop_text(summary, zone)),
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
        ("Ready to leave", summary.ready_text_in(zone)),
        ("Discharged", _time(summary.discharged_at)),
        ("Discharge override", discharge_override_text(summary)),
        ("Escort", "confirmed" if summary.escort_confirmed else "not confirmed"),
    ]
    rows += [(note.kind, (f"signed {_time(note.signed_at)} by {note.signed_by}"
                          if note.signed_at else "draft, not signed"))
             for note in summary.notes]
    return rows


@dataclass(frozen=True)
class Printout:
    """What every printout carries besides its content: the clinic, who the record is about,
    the staff who acted, and when it was printed (clinic time zone, zone stated)."""

    clinic_name: str | None
    patient: PatientIdentity | None
    staff: tuple[tuple[str, str], ...]  # (what they did, "Full Name (role)")
    printed_at: datetime
    zone: str

    @property
    def printed(self) -> str:
        local = self.printed_at.astimezone(ZoneInfo(self.zone))
        return f"{local.strftime('%Y-%m-%d %H:%M')} {self.zone}"

    @property
    def identity_rows(self) -> list[tuple[str, str]]:
        if self.patient is None:
            return []
        who = self.patient
        return [("Patient", who.full_name), ("Date of birth", who.born),
                ("MRN", who.mrn)]


def session_staff(record: InfusionSession, name: Callable[[int | None], str]
                  ) -> tuple[tuple[str, str], ...]:
    """Who opened the session, signed the order, discharged the patient and signed the note,
    by name and role (never by id). Needs the session loaded with orders, discharge, notes."""
    order = next((o for o in reversed(record.orders) if o.superseded_at is None), None)
    note = next((n for n in record.notes if n.kind is NoteKind.NOTE), None)
    acts: list[tuple[str, int | None]] = [
        ("Session opened by", record.opened_by_user_id),
        ("Order signed by", None if order is None else order.signed_by_user_id),
        ("Discharged by", None if record.discharge is None
         else record.discharge.recorded_by_user_id),
        ("Note signed by", None if note is None else note.signed_by_user_id),
    ]
    return tuple((what, name(user_id)) for what, user_id in acts if user_id is not None)


def summary_pdf(summary: SessionSummary, *, printout: Printout) -> bytes:
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm,
                            title=f"Infusion session {summary.session_id} summary",
                            author="ketaflow")
    styles = getSampleStyleSheet()
    cell = styles["BodyText"]
    table = Table([[Paragraph(escape(label), cell), Paragraph(escape(value), cell)]
                   for label, value in summary_rows(summary, printout.zone)],
                  colWidths=[58 * mm, 116 * mm])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa9b7")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    clinic_name = printout.clinic_name
    header = [Paragraph(escape(clinic_name), styles["Heading2"])] if clinic_name else []
    who = Table([[Paragraph(f"<b>{escape(label)}</b>", cell), Paragraph(escape(value), cell)]
                 for label, value in printout.identity_rows + list(printout.staff)],
                colWidths=[58 * mm, 116 * mm]) if printout.identity_rows or printout.staff else None
    if who is not None:
        who.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("LINEBELOW", (0, 0), (-1, -1), 0.25,
                                  colors.HexColor("#9aa9b7"))]))
    story = [
        *header,
        Paragraph("IV ketamine infusion: session monitoring summary", styles["Title"]),
        *([] if who is None else [who, Spacer(1, 3 * mm)]),
        Paragraph(f"Session {summary.session_id} &middot; status {summary.status}",
                  styles["Normal"]),
        Spacer(1, 6 * mm), table, Spacer(1, 6 * mm),
        Paragraph("Modelled on the Spravato REMS patient monitoring form. ketaflow supports "
                  f"clinicians' decisions and never replaces them. Printed "
                  f"{escape(printout.printed)}.", styles["Italic"]),
    ]
    doc.build(story)
    return buffer.getvalue()
