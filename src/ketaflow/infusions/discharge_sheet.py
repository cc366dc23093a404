"""Discharge instructions printed at the chair and handed to the patient (reportlab PDF).

Plain words for someone who has just had ketamine: who the sheet is for (name, date of birth and
MRN), what was given today, what not to do until tomorrow, what may be felt, whom to call
(the clinic's own phone and crisis lines from the clinic profile; never a placeholder) and the
next booked visit. Each instruction is a sourced fact (docs/clinical-sources.md):
- no driving or machinery until the next day after a restful sleep: Spravato USPI 5.8; the
  Ketalar USPI counsels against driving or hazardous work for at least 24 hours;
- a responsible adult escort home: Spravato USPI 2 and clinic discharge practice;
- sedation and dissociation may follow (Spravato USPI 5.1, 5.2); in the bipolar trials
  dissociation was seen only at the 40-minute rating (Diazgranados 2010, Zarate 2012).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from io import BytesIO
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus.flowables import Flowable

from ketaflow.booking.appointments import NextVisit
from ketaflow.clinic.crisis_lines import DANGER_NOW, CrisisLines
from ketaflow.infusions.pdf import Printout

TITLE = "After your ketamine infusion today"
UNTIL_TOMORROW = (
    "Do not drive, ride a bicycle, use machinery or do anything hazardous for at least 24 hours, "
    "and not before you have slept through a night: ketamine slows your reactions for longer "
    "than you may feel it.",
    "Go home with the responsible adult who came to take you, not on your own.",
)
MAY_FEEL = ("You may feel sleepy, dizzy, sick, or detached and dreamy for a while. Feeling "
            "detached usually passes soon after the infusion ends. Call the clinic if anything "
            "worries you.")


@dataclass(frozen=True)
class GivenToday:
    """What the patient was given, in the words the sheet prints."""

    dose_mg: float
    salt: str  # "hydrochloride" or "base", as ordered
    running_min: float
    ended_at: datetime


def local_text(moment: datetime, zone: str, pattern: str = "%A %d %B %Y, %H:%M") -> str:
    return f"{moment.astimezone(ZoneInfo(zone)).strftime(pattern)} ({zone})"


def call_lines(lines: CrisisLines, clinic_phone: str | None, *,
               phone_label: str = "The clinic, for questions about today") -> list[str]:
    """Whom to call, most urgent first; the clinic's own lines only when it has set them."""
    out = [f"{DANGER_NOW} If you have thoughts of harming yourself, do not wait: call for help."]
    if lines.clinic_line:
        out.append(f"The clinic's crisis line: {lines.clinic_line}.")
    if lines.national_line:
        always = ", any time of day or night" if lines.national_always_open else ""
        out.append(f"{lines.national_line}{always}.")
    if clinic_phone:
        out.append(f"{phone_label}: {clinic_phone}.")
    if lines.after_hours:
        out.append(f"Outside clinic hours: {lines.after_hours}")
    return out


def next_visit_text(visit: NextVisit | None) -> str:
    if visit is None:
        return "No next visit is booked yet: the clinic will contact you to book it."
    return f"{local_text(visit.starts_at, visit.site_timezone)} at {visit.site_name}."


@dataclass(frozen=True)
class Section:
    heading: str
    items: tuple[str, ...]
    bullets: bool = False


def patient_pdf(*, printout: Printout, title: str, sections: list[Section]) -> bytes:
    """A printout for the patient in large type: the clinic, the title, the patient's
    identifiers, then each section (paragraphs or a bulleted list)."""
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm, title=title,
                            author=printout.clinic_name or "ketaflow")
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    body.fontSize, body.leading = 12, 16  # read by someone just after an infusion: large type

    def para(text: str, style: str = "BodyText") -> Paragraph:
        return Paragraph(escape(text), styles[style])

    who = " \u00b7 ".join(f"{label}: {value}" for label, value in printout.identity_rows)
    story: list[Flowable] = [
        *([para(printout.clinic_name, "Heading2")] if printout.clinic_name else []),
        para(title, "Title"), para(who, "Heading3")]
    for section in sections:
        story.append(para(section.heading, "Heading3"))
        if section.bullets:
            story.append(ListFlowable([ListItem(para(i), leftIndent=12) for i in section.items],
                                      bulletType="bullet", start="\u2022", leftIndent=12))
        else:
            story += [para(i) for i in section.items]
    story += [Spacer(1, 8 * mm),
              para(f"Printed {printout.printed}. Keep this sheet: it is for {who}." if who
                   else f"Printed {printout.printed}.", "Italic")]
    doc.build(story)
    return buffer.getvalue()


def discharge_sheet_pdf(*, printout: Printout, given: GivenToday, lines: CrisisLines,
                        clinic_phone: str | None, visit: NextVisit | None,
                        discharged_by: str) -> bytes:
    today = (f"You had ketamine {given.dose_mg:.0f} mg ({given.salt}) through a drip over "
             f"{given.running_min:.0f} minutes, finished "
             f"{local_text(given.ended_at, printout.zone)}. Discharged by {discharged_by}.")
    return patient_pdf(printout=printout, title=TITLE, sections=[
        Section("Today", (today,)),
        Section("Until tomorrow", UNTIL_TOMORROW, bullets=True),
        Section("What you may feel", (MAY_FEEL,)),
        Section("Who to call", tuple(call_lines(lines, clinic_phone)), bullets=True),
        Section("Your next visit", (next_visit_text(visit),)),
    ])
