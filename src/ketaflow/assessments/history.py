"""A patient's scores over time: chart panels, the table, and change from the course baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from ketaflow.assessments import courses
from ketaflow.assessments.chart import ChartPoint, panel_svg, risk_value
from ketaflow.assessments.models import Assessment, AssessmentResult
from ketaflow.assessments.service import list_assessments, stored_result, thresholds_at
from ketaflow.audit.service import AuditContext
from ketaflow.courses.models import TreatmentCourse
from ketaflow.db import utcnow
from ketaflow.scales import Instrument, ScaleThresholds, get_instrument, instrument_ids
from ketaflow.scales.longitudinal import (
    RESPONSE_INSTRUMENTS,
    CourseOutcome,
    Rating,
    course_outcome,
)


@dataclass(frozen=True)
class Panel:
    instrument: Instrument
    svg: str
    count: int
    latest: AssessmentResult
    outcome: CourseOutcome | None

    @property
    def baseline_label(self) -> str | None:
        """"no pre-treatment baseline", the fallback's label, or None (pre-treatment)."""
        return None if self.outcome is None else self.outcome.baseline_label

    @property
    def baseline_text(self) -> str | None:
        """"baseline 32 -> latest 12 (-62%), response, remission" (with the baseline's label
        when it is not pre-treatment), "no pre-treatment baseline: ...", or None without a
        course."""
        outcome = self.outcome
        if outcome is None:
            return None
        if outcome.baseline is None:
            return f"{outcome.baseline_label}: response and remission not computed"
        if outcome.latest is None:
            return None
        latest = outcome.latest
        change = ("" if latest.percent_change is None
                  else f" ({latest.percent_change:+.0f}% from baseline)")
        status = ", ".join(word for word, on in (("response", latest.response),
                                                 ("remission", latest.remission)) if on)
        label = f" ({outcome.baseline_label})" if outcome.baseline_label else ""
        return (f"baseline {outcome.baseline.total}{label} \u2192 latest "
                f"{latest.rating.total}{change}" + (f": {status}" if status else ""))


@dataclass(frozen=True)
class PatientHistory:
    patient_id: int
    assessments: list[Assessment]  # every assessment, amended originals included, newest first
    panels: list[Panel]
    course_start: datetime | None
    marked_days: tuple[date, ...]
    marks_label: str | None


def _point(assessment: Assessment) -> ChartPoint:
    result = assessment.current_result
    if result.risk_level is not None:
        return ChartPoint(assessment.rated_at, risk_value(result.risk_level),
                          f"risk {result.risk_level}")
    assert result.total is not None
    severity = f" ({result.severity})" if result.severity else ""
    return ChartPoint(assessment.rated_at, result.total, f"{result.total}{severity}")


def _panels(current: Sequence[Assessment], markers: courses.CourseMarkers,
            thresholds: ScaleThresholds) -> list[Panel]:
    by_instrument: dict[str, list[Assessment]] = {}
    for assessment in current:
        by_instrument.setdefault(assessment.instrument_id, []).append(assessment)
    panels = []
    # Panels follow the registry's order (depression first, then mania, safety, session scales).
    for instrument_id in sorted(by_instrument, key=_registry_position):
        rows = by_instrument[instrument_id]
        instrument = get_instrument(instrument_id)
        outcome = None
        if markers.course_id is not None and instrument_id in RESPONSE_INSTRUMENTS:
            ratings = [Rating(a.rated_at, stored_result(a.current_result)) for a in rows]
            outcome = course_outcome(ratings, instrument_id, markers.first_infusion_at,
                                     baseline_by=markers.baseline_by, fallback=markers.fallback,
                                     thresholds=thresholds)
        svg = panel_svg(instrument, [_point(a) for a in rows],
                        course_start=markers.course_start, marked_days=markers.days,
                        mark_label=markers.label or "", element_id=f"chart-{instrument_id}")
        panels.append(Panel(instrument, svg, len(rows), rows[-1].current_result, outcome))
    return panels


def _registry_position(instrument_id: str) -> int:
    return instrument_ids().index(instrument_id)


def patient_history(session: Session, ctx: AuditContext, *, patient_id: int) -> PatientHistory:
    """Everything the scores page shows (one audited read of the patient's assessments)."""
    everything = list_assessments(session, ctx, patient_id=patient_id, include_superseded=True)
    current = [a for a in everything if a.is_current]
    markers = courses.course_markers(session, patient_id=patient_id)
    return PatientHistory(
        patient_id=patient_id,
        assessments=sorted(everything, key=lambda a: (a.rated_at, a.id), reverse=True),
        # Response and remission as the clinic defines them now (a view, not a record).
        panels=_panels(current, markers, thresholds_at(session, utcnow())),
        course_start=markers.course_start,
        marked_days=markers.days,
        marks_label=markers.label,
    )


@dataclass(frozen=True)
class CourseBaseline:
    """One depression measure's baseline on a course page."""

    instrument: Instrument
    outcome: CourseOutcome

    @property
    def text(self) -> str:
        outcome = self.outcome
        if outcome.baseline is None:
            return f"{outcome.baseline_label}: response and remission not computed"
        words = (f"baseline {outcome.baseline.total} on "
                 f"{outcome.baseline.rated_at:%Y-%m-%d %H:%M} UTC")
        if outcome.baseline_label:
            words += f" ({outcome.baseline_label})"
        latest = outcome.latest
        if latest is not None:
            status = ", ".join(word for word, on in (("response", latest.response),
                                                     ("remission", latest.remission)) if on)
            words += f"; latest {latest.rating.total}" + (f": {status}" if status else "")
        return words


def course_baselines(session: Session, ctx: AuditContext, *, course: TreatmentCourse
                     ) -> list[CourseBaseline]:
    """The baseline of each depression measure rated for the course's patient (audited as a
    read of the patient's assessments)."""
    current = [a for a in list_assessments(session, ctx, patient_id=course.patient_id)]
    markers = courses.markers_for(session, course)
    rows = []
    for instrument_id in RESPONSE_INSTRUMENTS:
        ratings = [Rating(a.rated_at, stored_result(a.current_result)) for a in current
                   if a.instrument_id == instrument_id]
        if not ratings:
            continue
        end = None if course.state.value in ("planned", "active", "maintenance", "paused") \
            else course.state_changed_at
        rows.append(CourseBaseline(get_instrument(instrument_id), course_outcome(
            ratings, instrument_id, markers.first_infusion_at, baseline_by=markers.baseline_by,
            fallback=course.baseline_fallback, course_end=end)))
    return rows
