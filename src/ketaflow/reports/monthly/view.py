"""The monthly report as the page, the PDF and the CSV print it: tables of text (suppressed
counts as "<11"), the charts' specs, and why a section is empty. One place decides every
printed value, so the three never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from ketaflow import charts
from ketaflow.infusions.rules import AlertLevel
from ketaflow.outcomes.stats import Rate, Spread, per_100
from ketaflow.outcomes.view import HIDDEN, SHORT
from ketaflow.reports.monthly import chart
from ketaflow.reports.monthly.report import MonthlyReport

HIDDEN_TEXT = "hidden"


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str  # shown instead of the table when it has no rows
    note: str = ""


@dataclass(frozen=True)
class MonthlyView:
    report: MonthlyReport
    title: str
    empty: str | None
    notes: tuple[str, ...]
    tables: tuple[Table, ...]
    weekly_spec: charts.Spec | None
    rates_spec: charts.Spec | None


def _per_100(report: MonthlyReport, count: int, name: str) -> str:
    rate = per_100(count, report.activity.infusions)
    if rate is None:
        return "no infusions"
    if not (report.shown(name) and report.shown("activity.infusions")):
        return HIDDEN_TEXT
    return f"{rate:.1f}"


def _activity(report: MonthlyReport) -> Table:
    a, c = report.activity, report.cell
    rows = [("Infusions given (sessions started)", c("activity.infusions", a.infusions),
             "whenever the course started"),
            ("of which induction", c("activity.induction", a.induction),
             "within the course's planned induction"),
            ("of which maintenance", c("activity.maintenance", a.maintenance),
             "after the planned induction"),
            ("Courses started", c("activity.first_infusions", a.first_infusions),
             "first infusion given this month"),
            ("Inductions completed", c("activity.inductions_completed",
                                       a.inductions_completed),
             "the last planned induction infusion given this month"),
            ("Infusions stopped early", c("activity.stopped_early", a.stopped_early),
             "stopped with part of the ordered volume still to run"),
            ("Sessions aborted", c("activity.aborted", a.aborted),
             "aborted this month, started or not")]
    if report.new_patients is None:
        rows.append(("New patients registered", "-",
                     "not counted per site: a patient belongs to no site"))
    else:
        rows.append(("New patients registered", c("new_patients", report.new_patients),
                     "all sites"))
    return Table("activity", "Activity", ("Item", "Count", "Counted"), tuple(rows), "")


def _sites(report: MonthlyReport) -> Table:
    rows = tuple((r.label, *(report.cell(f"{r.key}.{m}", getattr(r.activity, m)) for m in (
        "infusions", "maintenance", "first_infusions", "inductions_completed",
        "stopped_early", "aborted"))) for r in report.sites)
    return Table("sites", "By site", ("Site", "Infusions", "Maintenance", "Courses started",
                                      "Inductions completed", "Stopped early", "Aborted"),
                 rows, "No site had an infusion or an aborted session this month.",
                 "A session counts at its course's site (the site of the course's first "
                 "booked appointment).")


def _weeks(report: MonthlyReport) -> Table:
    hidden = any(not report.shown(f"week.{label}") for label, _ in report.weeks)
    return Table("weeks", "Infusions by week", ("Days", "Infusions started"),
                 tuple((f"{label}", report.cell(f"week.{label}", n))
                       for label, n in report.weeks), "",
                 "Weeks below the smallest count shown have no bar." if hidden else "")


def _spread(report: MonthlyReport, value: Spread | None, name: str) -> str:
    if value is None:
        return "none recorded"
    if not report.shown(name):
        return HIDDEN_TEXT
    return f"median {value.median:.0f} min (IQR {value.q1:.0f}-{value.q3:.0f}), n = {value.n}"


def _safety(report: MonthlyReport) -> Table:
    s, c = report.safety, report.cell
    rows = [("Adverse events", c("adverse_events", s.adverse_events),
             _per_100(report, s.adverse_events, "adverse_events")),
            ("serious", c("serious", s.serious), _per_100(report, s.serious, "serious")),
            ("not serious", c("non_serious", s.non_serious),
             _per_100(report, s.non_serious, "non_serious"))]
    rows += [(f"with {label}" if label != "no red-flag symptom" else label,
              c(f"kind.{label}", n), _per_100(report, n, f"kind.{label}"))
             for label, n in s.by_kind]
    for level in AlertLevel:
        n = s.bp(level)
        rows.append((f"Blood-pressure alerts: {level.value}", c(f"bp.{level.value}", n),
                     _per_100(report, n, f"bp.{level.value}")))
    rows.append(("Rescue medication doses", c("rescue.all", s.rescue_doses),
                 _per_100(report, s.rescue_doses, "rescue.all")))
    rows += [(f"of which {name}", c(f"rescue.{name}", n),
              _per_100(report, n, f"rescue.{name}")) for name, n in s.rescue]
    rows += [("Discharges", c("discharges", s.discharges), ""),
             ("End of observation to discharge",
              _spread(report, s.discharge_delay_minutes, "discharges"), ""),
             ("Discharged with a criterion overridden", c("overridden",
                                                          s.overridden_discharges), "")]
    return Table("safety", "Safety", ("Item", "Count", "Per 100 infusions"), tuple(rows), "",
                 "Of the infusions started this month. An adverse event can carry several "
                 "red-flag symptoms.")


def _rate(report: MonthlyReport, rate: Rate, numerator: str, denominator: str) -> str:
    o = report.outcomes
    if not o.rate_shown(numerator, denominator):
        return HIDDEN if o.researcher_view else "-"
    return "-" if rate.percent is None else f"{rate.percent:.0f}%"


def _outcomes(report: MonthlyReport) -> Table:
    o = report.outcomes
    rows = []
    for e in o.endpoints:
        n = e.instrument_id
        rows.append((SHORT[n], o.cell("induction_over", e.courses),
                     o.cell(f"{n}.with_baseline", e.with_baseline),
                     o.cell(f"{n}.evaluable", e.evaluable),
                     o.cell(f"{n}.responders", e.responders),
                     _rate(report, Rate(e.responders, e.evaluable), f"{n}.responders",
                           f"{n}.evaluable"),
                     o.cell(f"{n}.remitters", e.remitters),
                     _rate(report, Rate(e.remitters, e.evaluable), f"{n}.remitters",
                           f"{n}.evaluable")))
    t = o.thresholds
    note = (f"Courses whose last induction infusion was given this month. Response: at least "
            f"a {t.response_min_drop_pct}% fall from the course baseline; remission: MADRS "
            f"at most {t.madrs_remission_max}, QIDS-SR16 at most {t.qids_remission_max}, "
            f"PHQ-9 below {t.phq9_remission_below}; the end-of-induction rating is the first "
            f"within {o.settings.end_of_induction_window_days} days after the last induction "
            "infusion (the outcomes dashboard's definitions).")
    return Table("outcomes", "Outcomes at the end of induction",
                 ("Scale", "Inductions ended", "With baseline", "Rated at end", "Responders",
                  "Response", "Remitters", "Remission"),
                 tuple(rows) if o.courses else (),
                 "No induction ended this month, so there are no end-of-induction outcomes.",
                 note)


def _mg(value: float) -> str:
    return f"{value:,.1f} mg"


def _ledger(report: MonthlyReport) -> Table:
    r, c = report.reconciliation, report.cell
    rows = (("Lots with stock or movements", str(r.lots)),
            ("Opening balance", _mg(r.opening_mg)), ("Received", _mg(r.received_mg)),
            ("Drawn", _mg(r.drawn_mg)), ("Administered", _mg(r.administered_mg)),
            ("Wasted", _mg(r.wasted_mg)), ("Adjustments (reversals)", _mg(r.adjusted_mg)),
            ("Balance at the month's end", _mg(r.balance_mg)),
            ("Sessions reconciled", c("ledger.sessions", r.sessions)),
            ("Flagged sessions", c("ledger.flagged", r.flagged_sessions)))
    scope = ("The clinic's ledger (all sites: stock is not kept per site)."
             if report.site is not None else "The clinic's ledger, every lot.")
    return Table("controlled", "Controlled substances (ketamine)", ("Item", "Amount"), rows,
                 "", f"{scope} The session list is on the reconciliation page "
                     "(Ledger, Reconciliation) for staff with the ledger permission.")


def _charts(report: MonthlyReport) -> tuple[charts.Spec | None, charts.Spec | None]:
    weekly = None
    shown = [(label, n if report.shown(f"week.{label}") else None) for label, n in report.weeks]
    if any(n for _, n in shown):  # a chart of hidden or empty weeks says nothing
        weekly = chart.weekly(shown, report.month.label)
    o = report.outcomes
    bars = []
    for e in o.endpoints:
        n = e.instrument_id
        for measure, count, name in (("response", e.responders, f"{n}.responders"),
                                     ("remission", e.remitters, f"{n}.remitters")):
            value = Rate(count, e.evaluable).value
            if value is not None and o.rate_shown(name, f"{n}.evaluable"):
                bars.append((SHORT[n], measure, value))
    return weekly, (chart.rates(bars) if bars else None)


def monthly_view(report: MonthlyReport) -> MonthlyView:
    title = f"Monthly clinic report: {report.month.label}"
    empty = None
    if report.empty:
        where = "" if report.site is None else f" at {report.site[1]}"
        empty = (f"Nothing was recorded in {report.month.label}{where}: no infusion started "
                 "or aborted, no induction ended, no new patient and no ledger movement, so "
                 "there is nothing to count.")
    notes = [f"{report.month.label} in the clinic's time zone ({report.zone}); "
             f"{report.scope}. Aggregates only: no patient is named."]
    if report.in_progress:
        notes.append(f"The month is not over: counted up to {report.today.isoformat()}.")
    if report.researcher_view:
        notes.append(f"Researcher view: counts below {report.small_cell_min} show as "
                     f"\"<{report.small_cell_min}\", and so does any count that would let one "
                     "be worked out by subtraction.")
    tables = [_activity(report)]
    if report.site is None:
        tables.append(_sites(report))
    tables += [_weeks(report), _safety(report), _outcomes(report), _ledger(report)]
    weekly, rates = _charts(report)
    return MonthlyView(report, title, empty, tuple(notes), tuple(tables), weekly, rates)
