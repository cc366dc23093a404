"""The outcomes dashboard's one use case: every figure for a set of filters, counted by the
database, with small cells hidden for a researcher.

`outcome_dashboard(db, ctx, filters=..., small_cells=...)` reads; it writes only the audit
event of the read (filters by id, no patient values). Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext, record_event
from ketaflow.auth.models import StaffUser
from ketaflow.booking.models import Site
from ketaflow.config import Role
from ketaflow.db import utcnow
from ketaflow.errors import ValidationFailed
from ketaflow.outcomes.service import aggregates, cohort, figures, summaries
from ketaflow.outcomes.service.cohort import Filters
from ketaflow.outcomes.service.figures import (
    FUNNEL_INFUSIONS,
    CourseCounts,
    Endpoint,
    Funnel,
    MoodEvents,
    Safety,
    Week,
)
from ketaflow.outcomes.settings import OutcomeSettings
from ketaflow.outcomes.stats import (
    Partition,
    Rate,
    Spread,
    SurvivalCurve,
    per_100,
    suppressed_cells,
)
from ketaflow.scales.longitudinal import RESPONSE_INSTRUMENTS
from ketaflow.scales.thresholds import ScaleThresholds
from ketaflow.settings.service import settings_in_force

__all__ = [
    "Dashboard",
    "FilterOptions",
    "Filters",
    "InductionOutcomes",
    "check_filters",
    "end_of_induction",
    "filter_options",
    "outcome_dashboard",
]

ENTITY = "outcomes_dashboard"
PRIMARY_INSTRUMENT = "madrs"  # the trials' primary outcome (Diazgranados 2010; Zarate 2012)


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    as_of: datetime
    settings: OutcomeSettings
    thresholds: ScaleThresholds
    counts: CourseCounts
    endpoints: tuple[Endpoint, ...]
    weeks: tuple[Week, ...]
    curves: dict[str, SurvivalCurve | None]
    funnel: Funnel
    safety: Safety
    mood: MoodEvents
    hidden: frozenset[str]  # the names of suppressed cells (empty: everything shown)
    researcher_view: bool = False  # small cells suppressed

    def endpoint(self, instrument_id: str) -> Endpoint:
        return next(e for e in self.endpoints if e.instrument_id == instrument_id)

    def response(self, instrument_id: str) -> Rate:
        e = self.endpoint(instrument_id)
        return Rate(e.responders, e.evaluable)

    def remission(self, instrument_id: str) -> Rate:
        e = self.endpoint(instrument_id)
        return Rate(e.remitters, e.evaluable)

    def shown(self, name: str) -> bool:
        return name not in self.hidden

    def cell(self, name: str, value: int) -> str:
        """A count as the page prints it: the number, or "<11" when suppressed."""
        return f"<{self.settings.small_cell_min}" if name in self.hidden else str(value)

    def rate_shown(self, numerator: str, denominator: str) -> bool:
        return numerator not in self.hidden and denominator not in self.hidden


def check_filters(filters: Filters) -> Filters:
    """Refuse a period that ends before it starts (naming the fields as the form labels them)."""
    if (filters.start_from is not None and filters.start_to is not None
            and filters.start_to < filters.start_from):
        raise ValidationFailed("To must be on or after From", field="to")
    return filters


def _cells(counts: CourseCounts, endpoints: tuple[Endpoint, ...], funnel: Funnel,
           safety: Safety, mood: MoodEvents, weeks: tuple[Week, ...]
           ) -> tuple[dict[str, int], list[Partition]]:
    """Every count the page shows (and the hidden complements a subtraction would reveal),
    named, with the partitions that tie them together."""
    cells: dict[str, int] = {"courses": counts.courses, "treated": counts.treated,
                             "induction_over": counts.induction_over,
                             "not_treated": counts.courses - counts.treated,
                             "in_induction": counts.treated - counts.induction_over,
                             "infusions": counts.infusions}
    parts = [Partition("courses", ("treated", "not_treated")),
             Partition("treated", ("induction_over", "in_induction"))]
    endpoint_cells, endpoint_parts = _endpoint_cells(endpoints)
    cells |= endpoint_cells
    parts += endpoint_parts
    steps = [("screened", funnel.screened), ("eligible", funnel.eligible),
             ("consented", funnel.consented),
             *((f"infusion_{k + 1}", v) for k, v in enumerate(funnel.infusions)),
             ("maintenance", funnel.maintenance)]
    for (name, value), (following, next_value) in pairwise(steps):
        cells[name] = value
        cells[f"{name}.left"] = max(0, value - next_value)
        parts.append(Partition(name, (following, f"{name}.left")))
    cells[steps[-1][0]] = steps[-1][1]
    for w in weeks:
        key = f"{w.instrument_id}.week{w.week}"
        cells |= {f"{key}.rated": w.rated, f"{key}.responders": w.responders,
                  f"{key}.remitters": w.remitters}
    cells |= {"adverse_events": safety.adverse_events,
              "serious_adverse_events": safety.serious_adverse_events,
              "bp_alerts": safety.bp_alerts,
              "cadss_sessions": safety.peak_cadss.n if safety.peak_cadss else 0,
              "discharged_sessions": safety.discharge_minutes.n if safety.discharge_minutes else 0,
              "switch_courses": mood.switch_courses, "switch_alerts": mood.switch_alerts,
              "relapse_courses": mood.relapse_courses, "relapse_alerts": mood.relapse_alerts,
              "relapse_timed": mood.days_to_relapse.n if mood.days_to_relapse else 0}
    return cells, parts


def _endpoint_cells(endpoints: tuple[Endpoint, ...]) -> tuple[dict[str, int], list[Partition]]:
    """The end-of-induction counts of each instrument, tied to the courses whose induction is
    over ("induction_over", set by the caller)."""
    cells: dict[str, int] = {}
    parts: list[Partition] = []
    for e in endpoints:
        n = e.instrument_id
        cells |= {f"{n}.with_baseline": e.with_baseline, f"{n}.evaluable": e.evaluable,
                  f"{n}.no_baseline": e.courses - e.with_baseline,
                  f"{n}.no_endpoint": e.with_baseline - e.evaluable,
                  f"{n}.responders": e.responders,
                  f"{n}.non_responders": e.evaluable - e.responders,
                  f"{n}.remitters": e.remitters, f"{n}.non_remitters": e.evaluable - e.remitters,
                  f"{n}.fallback": e.fallback_baselines}
        parts += [Partition("induction_over", (f"{n}.with_baseline", f"{n}.no_baseline")),
                  Partition(f"{n}.with_baseline", (f"{n}.evaluable", f"{n}.no_endpoint")),
                  Partition(f"{n}.evaluable", (f"{n}.responders", f"{n}.non_responders")),
                  Partition(f"{n}.evaluable", (f"{n}.remitters", f"{n}.non_remitters"))]
    return cells, parts


def _hidden(cells: dict[str, int], partitions: list[Partition], curves: dict[str, Any],
            minimum: int) -> frozenset[str]:
    hidden = set(suppressed_cells(cells, partitions, minimum=minimum))
    for instrument, curve in curves.items():
        # A curve steps once per event: shown to a researcher only over enough courses.
        if curve is not None and (curve.n < minimum or curve.events < minimum):
            hidden.add(f"{instrument}.curve")
    return frozenset(hidden)


_Figures = tuple[CourseCounts, tuple[Endpoint, ...], tuple[Week, ...],
                 dict[str, SurvivalCurve | None], Funnel, Safety, MoodEvents]


def _summary_figures(db: Session, filters: Filters, settings: OutcomeSettings,
                     thresholds: ScaleThresholds) -> _Figures:
    """The figures from the per-course summaries, refreshed first (`summaries`)."""
    summaries.refresh_summaries(db)
    courses = aggregates.courses(filters)
    funnel_courses = aggregates.courses(figures.course_step_filters(filters))
    return (figures.course_counts(db, courses),
            aggregates.endpoints(db, courses, settings, thresholds),
            aggregates.weeks(db, courses, thresholds),
            aggregates.time_to_response(db, courses, thresholds),
            figures.funnel(db, filters, funnel_courses),
            aggregates.safety(db, courses), figures.mood_events(db, courses))


def _live_figures(db: Session, filters: Filters, settings: OutcomeSettings,
                  thresholds: ScaleThresholds) -> _Figures:
    """The same figures recomputed from the raw rows (the reference the summaries are tested
    and benchmarked against)."""
    kept = cohort.Snapshots(db)
    courses = kept.keep(cohort.courses(db, filters), "outcome_courses", index=("course_id",))
    ratings = kept.keep(cohort.current_ratings(), "outcome_ratings",
                        index=("patient_id", "instrument_id"))
    base = kept.keep(cohort.baselines(db, courses, ratings), "outcome_baselines",
                     index=("course_id", "instrument_id"))
    funnel_courses = figures.funnel_courses(db, figures.course_step_filters(filters))
    made = (figures.course_counts(db, courses),
            figures.endpoints(db, courses, ratings, base, settings, thresholds),
            figures.weeks(db, courses, ratings, base, thresholds),
            figures.time_to_response(db, courses, ratings, base, thresholds),
            figures.funnel(db, filters, funnel_courses),
            figures.safety(db, courses), figures.mood_events(db, courses))
    kept.drop()
    return made


def outcome_dashboard(db: Session, ctx: AuditContext, *, filters: Filters,
                      small_cells: bool, at: datetime | None = None,
                      live: bool = False) -> Dashboard:
    """Every figure for the filters, with the clinic's definitions in force now. With
    `small_cells` False (the researcher's view) counts below the clinic's minimum, and any
    count that would reveal one, are hidden. Counted from the per-course summaries (brought
    up to date first, in this transaction); `live` recomputes everything from the raw rows
    instead, the slower reference."""
    check_filters(filters)
    moment = at or utcnow()
    in_force = settings_in_force(db, moment)
    settings, thresholds = in_force.outcomes, in_force.scales
    made = (_live_figures if live else _summary_figures)(db, filters, settings, thresholds)
    counts, endpoints, weeks, curves, funnel, safety, mood = made
    hidden: frozenset[str] = frozenset()
    if not small_cells:
        cells, partitions = _cells(counts, endpoints, funnel, safety, mood, weeks)
        hidden = _hidden(cells, partitions, curves, settings.small_cell_min)
    record_event(db, ctx, action="outcomes.view", entity_type=ENTITY, entity_id=None,
                 detail=_filter_detail(filters) | {"small_cells": small_cells})
    return Dashboard(filters, moment, settings, thresholds, counts, endpoints, weeks, curves,
                     funnel, safety, mood, hidden, researcher_view=not small_cells)


@dataclass(frozen=True)
class InductionOutcomes:
    """The end-of-induction endpoints alone (the monthly report's outcomes), with the
    dashboard's definitions and its small-cell suppression."""

    settings: OutcomeSettings
    thresholds: ScaleThresholds
    courses: int  # courses in the filters whose induction is over, with an infusion
    endpoints: tuple[Endpoint, ...]
    hidden: frozenset[str]
    researcher_view: bool

    def endpoint(self, instrument_id: str) -> Endpoint:
        return next(e for e in self.endpoints if e.instrument_id == instrument_id)

    def shown(self, name: str) -> bool:
        return name not in self.hidden

    def cell(self, name: str, value: int) -> str:
        return f"<{self.settings.small_cell_min}" if name in self.hidden else str(value)

    def rate_shown(self, numerator: str, denominator: str) -> bool:
        return numerator not in self.hidden and denominator not in self.hidden


def end_of_induction(db: Session, *, filters: Filters, small_cells: bool,
                     at: datetime | None = None, live: bool = False) -> InductionOutcomes:
    """Response and remission at the end of induction for the filtered courses, counted as
    the dashboard counts them (same cohort, baselines, window and thresholds in force at
    `at`), with the researcher's suppression when `small_cells` is False. Writes only the
    summaries' refresh (`live`: from the raw rows, writing nothing): the caller audits what
    it prints."""
    check_filters(filters)
    in_force = settings_in_force(db, at or utcnow())
    settings, thresholds = in_force.outcomes, in_force.scales
    if live:
        kept = cohort.Snapshots(db)
        courses = kept.keep(cohort.courses(db, filters), "induction_courses",
                            index=("course_id",))
        ratings = kept.keep(cohort.current_ratings(), "induction_ratings",
                            index=("patient_id", "instrument_id"))
        base = kept.keep(cohort.baselines(db, courses, ratings), "induction_baselines",
                         index=("course_id", "instrument_id"))
        endpoints = figures.endpoints(db, courses, ratings, base, settings, thresholds)
        kept.drop()
    else:
        summaries.refresh_summaries(db)
        endpoints = aggregates.endpoints(db, aggregates.courses(filters), settings, thresholds)
    over = endpoints[0].courses if endpoints else 0
    hidden: frozenset[str] = frozenset()
    if not small_cells:
        cells, partitions = _endpoint_cells(endpoints)
        hidden = _hidden({"induction_over": over, **cells}, partitions, {},
                         settings.small_cell_min)
    return InductionOutcomes(settings, thresholds, over, endpoints, hidden,
                             researcher_view=not small_cells)


def _filter_detail(filters: Filters) -> dict[str, Any]:
    return {"from": _iso(filters.start_from), "to": _iso(filters.start_to),
            "site_id": filters.site_id, "without_site": filters.without_site,
            "bipolar_type": filters.bipolar_type.value if filters.bipolar_type else None,
            "prescriber_id": filters.prescriber_id}


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True)
class FilterOptions:
    sites: tuple[tuple[int, str], ...]
    prescribers: tuple[tuple[int, str], ...]


def filter_options(db: Session) -> FilterOptions:
    """The sites and prescribers the filters offer (staff by name)."""
    sites = db.execute(select(Site.id, Site.name).order_by(Site.name, Site.id)).all()
    prescribers = db.execute(select(StaffUser.id, StaffUser.full_name)
                             .where(StaffUser.role == Role.PRESCRIBER)
                             .order_by(StaffUser.full_name, StaffUser.id)).all()
    return FilterOptions(tuple((int(i), str(n)) for i, n in sites),
                         tuple((int(i), str(n)) for i, n in prescribers))


def require_site(db: Session, site_id: int) -> None:
    if db.get(Site, site_id) is None:
        raise ValidationFailed(f"Site: no site with id {site_id}", field="site")


def require_prescriber(db: Session, user_id: int) -> None:
    user = db.get(StaffUser, user_id)
    if user is None or user.role is not Role.PRESCRIBER:
        raise ValidationFailed(f"Prescriber: no prescriber with id {user_id}", field="prescriber")


def as_json(board: Dashboard) -> dict[str, Any]:
    """The numbers as `ketaflow outcomes --format json` prints them (docs/outcomes.md). The top
    level is the primary instrument's end-of-induction endpoint."""
    primary = board.endpoint(PRIMARY_INSTRUMENT)
    return {
        "filters": _filter_detail(board.filters),
        "as_of": board.as_of.isoformat(),
        "instrument": PRIMARY_INSTRUMENT,
        **_endpoint_json(board, primary),
        "treated_courses": board.counts.treated,
        "in_induction": board.counts.treated - board.counts.induction_over,
        "instruments": {e.instrument_id: _endpoint_json(board, e) for e in board.endpoints},
        "over_time": [{"instrument": w.instrument_id, "week": w.week, "rated": w.rated,
                       "responders": w.responders, "remitters": w.remitters,
                       "response_rate": Rate(w.responders, w.rated).value,
                       "remission_rate": Rate(w.remitters, w.rated).value}
                      for w in board.weeks],
        "time_to_response": {name: _curve_json(curve) for name, curve in board.curves.items()},
        "funnel": {"screened": board.funnel.screened, "eligible": board.funnel.eligible,
                   "consented": board.funnel.consented,
                   "infusions": dict(zip(range(1, FUNNEL_INFUSIONS + 1),
                                         board.funnel.infusions, strict=True)),
                   "maintenance": board.funnel.maintenance},
        "safety": _safety_json(board.safety),
        "mood": {"switch_courses": board.mood.switch_courses,
                 "switch_alerts": board.mood.switch_alerts,
                 "relapse_courses": board.mood.relapse_courses,
                 "relapse_alerts": board.mood.relapse_alerts,
                 "days_to_relapse": _spread_json(board.mood.days_to_relapse)},
        "definitions": {"response_min_drop_pct": board.thresholds.response_min_drop_pct,
                        "madrs_remission_max": board.thresholds.madrs_remission_max,
                        "qids_remission_max": board.thresholds.qids_remission_max,
                        "phq9_remission_below": board.thresholds.phq9_remission_below,
                        "end_of_induction_window_days":
                            board.settings.end_of_induction_window_days},
    }


def _endpoint_json(board: Dashboard, e: Endpoint) -> dict[str, Any]:
    del board
    return {"courses": e.courses, "with_baseline": e.with_baseline,
            "fallback_baselines": e.fallback_baselines, "evaluable": e.evaluable,
            "responders": e.responders, "remitters": e.remitters,
            "response_rate": Rate(e.responders, e.evaluable).value,
            "remission_rate": Rate(e.remitters, e.evaluable).value}


def _curve_json(curve: SurvivalCurve | None) -> dict[str, Any] | None:
    if curve is None:
        return None
    return {"courses": curve.n, "events": curve.events, "censored": curve.censored,
            "median_days": curve.median,
            "steps": [{"day": t, "survival": s, "lower": lo, "upper": up, "at_risk": r}
                      for t, s, lo, up, r in zip(curve.times, curve.survival, curve.lower,
                                                 curve.upper, curve.at_risk, strict=True)]}


def _spread_json(value: Spread | None) -> dict[str, float] | None:
    if value is None:
        return None
    return {"n": value.n, "median": value.median, "q1": value.q1, "q3": value.q3}


def _safety_json(safety: Safety) -> dict[str, Any]:
    return {"infusions": safety.infusions, "adverse_events": safety.adverse_events,
            "serious_adverse_events": safety.serious_adverse_events,
            "adverse_events_per_100": per_100(safety.adverse_events, safety.infusions),
            "bp_alerts": safety.bp_alerts,
            "bp_alerts_per_100": per_100(safety.bp_alerts, safety.infusions),
            "peak_cadss": _spread_json(safety.peak_cadss),
            "discharge_minutes": _spread_json(safety.discharge_minutes)}


# Re-exported for callers that only need the instrument order.
INSTRUMENTS = RESPONSE_INSTRUMENTS
