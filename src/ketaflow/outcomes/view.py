"""The dashboard as the page shows it: each number as text (suppressed cells as "<11"),
rates with their 95% interval, charts rendered to inline SVG, and why a figure is empty."""

from __future__ import annotations

from dataclasses import dataclass

from ketaflow import charts
from ketaflow.outcomes import chart
from ketaflow.outcomes.service import Dashboard
from ketaflow.outcomes.service.figures import FUNNEL_INFUSIONS
from ketaflow.outcomes.stats import Rate, Spread, per_100
from ketaflow.outcomes.trials import Published, beside

SHORT = {"madrs": "MADRS", "qids-sr16": "QIDS-SR16", "phq9": "PHQ-9"}
HIDDEN = "hidden: fewer than the smallest count shown"


@dataclass(frozen=True)
class InstrumentRow:
    instrument_id: str
    label: str
    courses: str
    with_baseline: str
    evaluable: str
    responders: str
    response: str
    remitters: str
    remission: str
    note: str | None  # why there is no rate, or the fallback baselines used


@dataclass(frozen=True)
class CurvePanel:
    label: str
    svg: str | None
    summary: str


@dataclass(frozen=True)
class Page:
    board: Dashboard
    definitions: str
    empty: str | None
    rows: tuple[InstrumentRow, ...]
    response_refs: tuple[Published, ...]
    relapse_refs: tuple[Published, ...]
    retention_refs: tuple[Published, ...]
    curves: tuple[CurvePanel, ...]
    over_time: tuple[CurvePanel, ...]
    funnel: tuple[tuple[str, str], ...]
    funnel_svg: str | None
    facts: tuple[tuple[str, str], ...]  # switches, relapses, safety
    induction_note: str


def _rate(board: Dashboard, rate: Rate, numerator: str, denominator: str) -> str:
    if not board.rate_shown(numerator, denominator):
        return HIDDEN if board.researcher_view else "-"
    if rate.percent is None:
        return "-"
    interval = rate.wilson_95()
    assert interval is not None
    return f"{rate.percent:.0f}% (95% CI {100 * interval[0]:.0f}-{100 * interval[1]:.0f}%)"


def _row(board: Dashboard, instrument_id: str) -> InstrumentRow:
    e = board.endpoint(instrument_id)
    n = instrument_id
    note = None
    if e.courses == 0:
        note = "no course has finished its induction in these filters"
    elif e.with_baseline == 0:
        note = f"no course has a {SHORT[n]} rating before its first infusion"
    elif e.evaluable == 0:
        note = (f"no course has a {SHORT[n]} rating within "
                f"{board.settings.end_of_induction_window_days} days after its last induction "
                "infusion")
    elif e.fallback_baselines and board.shown(f"{n}.fallback"):
        note = (f"{e.fallback_baselines} with the prescriber's post-treatment baseline "
                "(response understated)")
    return InstrumentRow(
        n, SHORT[n], board.cell("induction_over", e.courses),
        board.cell(f"{n}.with_baseline", e.with_baseline),
        board.cell(f"{n}.evaluable", e.evaluable),
        board.cell(f"{n}.responders", e.responders),
        _rate(board, board.response(n), f"{n}.responders", f"{n}.evaluable"),
        board.cell(f"{n}.remitters", e.remitters),
        _rate(board, board.remission(n), f"{n}.remitters", f"{n}.evaluable"), note)


def _curves(board: Dashboard) -> tuple[CurvePanel, ...]:
    panels = []
    for instrument_id, curve in board.curves.items():
        label = SHORT[instrument_id]
        if curve is None:
            continue
        if f"{instrument_id}.curve" in board.hidden:
            panels.append(CurvePanel(label, None, f"{label}: the curve is {HIDDEN} "
                                     f"(courses or responses below "
                                     f"{board.settings.small_cell_min})"))
            continue
        median = "not reached" if curve.median is None else f"day {curve.median:.0f}"
        summary = (f"{label}: {curve.n} courses followed, {curve.events} responded, "
                   f"{curve.censored} censored at their last rating; median time to response "
                   f"{median}")
        svg = None if curve.events == 0 else charts.svg(
            chart.response_curve(curve, label), element_id=f"km-{instrument_id}")
        panels.append(CurvePanel(label, svg, summary if svg else
                                 f"{summary}; no response yet, so no curve"))
    return tuple(panels)


def _over_time(board: Dashboard) -> tuple[CurvePanel, ...]:
    panels = []
    for instrument_id, label in SHORT.items():
        weeks = [w for w in board.weeks if w.instrument_id == instrument_id]
        if not weeks:
            continue
        keys = [f"{instrument_id}.week{w.week}" for w in weeks]
        shown = [(w.week, Rate(w.responders, w.rated), Rate(w.remitters, w.rated))
                 for w, key in zip(weeks, keys, strict=True)
                 if board.rate_shown(f"{key}.responders", f"{key}.rated")
                 and board.rate_shown(f"{key}.remitters", f"{key}.rated")]
        left_out = len(weeks) - len(shown)
        summary = f"{label}: {len(weeks)} weeks with ratings"
        if left_out:
            summary += f"; {left_out} hidden (fewer than {board.settings.small_cell_min} rated)"
        svg = charts.svg(chart.over_time(shown, label), element_id=f"weeks-{instrument_id}") \
            if shown else None
        panels.append(CurvePanel(label, svg, summary))
    return tuple(panels)


def _funnel(board: Dashboard) -> tuple[tuple[tuple[str, str], ...], str | None]:
    f = board.funnel
    steps = [("Screened", "screened", f.screened), ("Eligible", "eligible", f.eligible),
             ("Consented", "consented", f.consented),
             *((f"Infusion {k + 1}", f"infusion_{k + 1}", v) for k, v in enumerate(f.infusions)),
             ("Maintenance", "maintenance", f.maintenance)]
    rows = tuple((label, board.cell(name, value)) for label, name, value in steps)
    if f.screened == 0:
        return rows, None
    bars = [(label, None if not board.shown(name) else value) for label, name, value in steps]
    return rows, charts.svg(chart.funnel(bars), element_id="funnel")


def _spread(board: Dashboard, value: Spread | None, name: str, unit: str) -> str:
    if value is None:
        return "none recorded"
    if not board.shown(name):
        return HIDDEN
    return (f"median {value.median:.0f} {unit} (IQR {value.q1:.0f}-{value.q3:.0f}), "
            f"n = {value.n}")


def _per_100(board: Dashboard, count: int, name: str) -> str:
    rate = per_100(count, board.safety.infusions)
    if rate is None:
        return "no infusions"
    if not board.shown(name) or not board.shown("infusions"):
        return HIDDEN
    return f"{rate:.1f} per 100 infusions ({count} in {board.safety.infusions})"


def _facts(board: Dashboard) -> tuple[tuple[str, str], ...]:
    m, s = board.mood, board.safety
    return (
        ("Possible manic switches", f"{board.cell('switch_courses', m.switch_courses)} courses "
         f"({board.cell('switch_alerts', m.switch_alerts)} alerts: YMRS, ASRM or mood chart)"),
        ("Relapse warnings", f"{board.cell('relapse_courses', m.relapse_courses)} courses "
         f"({board.cell('relapse_alerts', m.relapse_alerts)} mood-chart alerts)"),
        ("Days from the last induction infusion to the first relapse warning",
         _spread(board, m.days_to_relapse, "relapse_timed", "days")),
        ("Adverse events", _per_100(board, s.adverse_events, "adverse_events")
         + (f"; {board.cell('serious_adverse_events', s.serious_adverse_events)} serious"
            if s.infusions else "")),
        ("Blood-pressure alerts", _per_100(board, s.bp_alerts, "bp_alerts")),
        ("Peak dissociation (CADSS-6, 0-24, per infusion)",
         _spread(board, s.peak_cadss, "cadss_sessions", "points")),
        ("Infusion end to discharge", _spread(board, s.discharge_minutes,
                                              "discharged_sessions", "min")),
    )


def _definitions(board: Dashboard) -> str:
    t = board.thresholds
    return (f"Response: at least a {t.response_min_drop_pct}% fall from the course baseline "
            "(the last rating before the first infusion). Remission: MADRS at most "
            f"{t.madrs_remission_max}, QIDS-SR16 at most {t.qids_remission_max}, PHQ-9 below "
            f"{t.phq9_remission_below}. End of induction: the first rating after the last "
            f"induction infusion, within {board.settings.end_of_induction_window_days} days. "
            "Only the current version of an amended rating counts.")


def page(board: Dashboard) -> Page:
    empty = None
    if board.counts.courses == 0:
        empty = "No treatment course matches these filters, so there is nothing to count."
    elif board.counts.treated == 0:
        empty = "No course in these filters has had an infusion yet, so there are no outcomes."
    funnel_rows, funnel_svg = _funnel(board)
    in_induction = board.counts.treated - board.counts.induction_over
    return Page(
        board=board, definitions=_definitions(board), empty=empty,
        rows=tuple(_row(board, e.instrument_id) for e in board.endpoints),
        response_refs=beside("response"), relapse_refs=beside("relapse"),
        retention_refs=beside("retention"),
        curves=_curves(board), over_time=_over_time(board), funnel=funnel_rows,
        funnel_svg=funnel_svg, facts=_facts(board),
        induction_note=(f"{board.cell('courses', board.counts.courses)} courses in these "
                        f"filters; {board.cell('treated', board.counts.treated)} with an "
                        f"infusion; {board.cell('in_induction', in_induction)} still in "
                        "induction (not in the end-of-induction figures). The funnel follows "
                        "patients screened in the period; site and prescriber filter its course "
                        "steps only. "
                        f"Infusion steps count patients with at least that many of "
                        f"{FUNNEL_INFUSIONS}."))
