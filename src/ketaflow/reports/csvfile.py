"""The clinician report as one CSV table (a row per recorded item), every cell through
`ketaflow.csvsafe` so no text can run as a spreadsheet formula.

Columns: section, when (ISO, UTC for moments; a day for days), item, value, unit, detail.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from ketaflow import csvsafe
from ketaflow.reports.clinician import ClinicianReport

HEADER = ("section", "when", "item", "value", "unit", "detail")
Row = tuple[object, object, object, object, object, object]


def _rows(report: ClinicianReport) -> Iterator[Row]:
    for s in report.scores:
        yield ("score", s.rated_at.isoformat(), s.instrument, s.risk_level or s.total,
               "risk level" if s.risk_level else "total", s.severity or "")
    for i in report.infusions:
        detail = "; ".join(i.side_effects + i.adverse_events)
        yield ("infusion", i.started_at.isoformat(), "dose ordered", i.ordered_dose_mg, "mg",
               i.status)
        yield ("infusion", i.started_at.isoformat(), "dose delivered", i.delivered_dose_mg,
               "mg", detail)
        if i.highest_cadss6 is not None:
            yield ("infusion", i.started_at.isoformat(), "CADSS-6 highest", i.highest_cadss6,
                   "total", "")
    for a in report.alerts:
        yield ("alert", a.raised_at.isoformat(), a.title, "open" if a.acknowledged_at is None
               else "acknowledged", "", "")
    for m in report.medications:
        yield ("medication", m.start_date.isoformat() if m.start_date else "", m.drug, m.dose,
               "", f"stopped {m.stop_date.isoformat()}" if m.stop_date else "ongoing")
    if report.life_chart is not None:
        for d in report.life_chart.summaries:
            yield ("mood", d.day.isoformat(), "worst of day", f"depressed {d.depressed}, "
                   f"elevated {d.elevated}, irritable {d.irritable}", "0-3",
                   "" if d.sleep_h is None else f"slept {d.sleep_h:g} h")
        for w in report.life_chart.signals:
            yield ("mood warning", w.day.isoformat(), w.kind.value, "", "", w.reason)


def clinician_csv(report: ClinicianReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in _rows(report):
        writer.writerow([csvsafe.cell(value) for value in row])
    return out.getvalue()
