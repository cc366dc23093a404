"""Rules over a patient's rating history: baseline, response, remission, relapse, safety signals.

Pure functions over a list of dated, already-scored ratings (sources:
docs/clinical-sources.md#longitudinal-rules). Every threshold comes from ScaleThresholds, the
clinic's settings.

Baseline of a treatment course: the last rating of the instrument made before the course's first
infusion started (and, when the course sets a baseline date, by the end of that day; optionally no
older than `lookback`). Ketamine acts within the hour, so a rating after the first infusion is
not a pre-treatment baseline: without one the course has no baseline and response and remission
are not computed, unless a prescriber chose a labelled fallback (`BaselineFallback`), which is
shown wherever response or remission appear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ketaflow.scales.scoring import Flag, ScoreResult, evaluate_flags
from ketaflow.scales.thresholds import DEFAULT_THRESHOLDS, ScaleThresholds

# Instruments with a response/remission definition in the reference (depression measures).
RESPONSE_INSTRUMENTS = ("madrs", "phq9", "qids-sr16")


@dataclass(frozen=True)
class Rating:
    """A scored rating and when it was rated (timezone-aware)."""

    rated_at: datetime
    result: ScoreResult

    def __post_init__(self) -> None:
        # Naive and aware datetimes cannot be ordered together; ketaflow stores aware UTC.
        if self.rated_at.tzinfo is None or self.rated_at.utcoffset() is None:
            raise ValueError("rated_at must be timezone-aware")

    @property
    def instrument_id(self) -> str:
        return self.result.instrument_id

    @property
    def total(self) -> int:
        if self.result.total is None:
            raise ValueError(f"{self.instrument_id} has no total score")
        return self.result.total


class BaselineFallback(StrEnum):
    """What a prescriber may choose for a course with no pre-treatment rating."""

    FIRST_AFTER_FIRST_INFUSION = "first-after-first-infusion"

    @property
    def label(self) -> str:
        return FALLBACK_LABELS[self]


FALLBACK_LABELS = {
    BaselineFallback.FIRST_AFTER_FIRST_INFUSION:
        "post-treatment baseline, the first rating after the first infusion: response "
        "understated",
}
NO_PRE_TREATMENT_BASELINE = "no pre-treatment baseline"


class BaselineKind(StrEnum):
    PRE_TREATMENT = "pre-treatment"
    FALLBACK = "fallback"  # the prescriber's labelled choice
    NONE = "none"


class CourseEventKind(StrEnum):
    RESPONSE = "response"
    REMISSION = "remission"
    RELAPSE = "relapse"


@dataclass(frozen=True)
class CourseEvent:
    kind: CourseEventKind
    rated_at: datetime
    reason: str


@dataclass(frozen=True)
class RatingStatus:
    """One rating of the course compared with the baseline."""

    rating: Rating
    percent_change: float | None
    response: bool
    remission: bool


@dataclass(frozen=True)
class CourseOutcome:
    instrument_id: str
    first_infusion_at: datetime | None
    baseline: Rating | None
    timeline: tuple[RatingStatus, ...]
    events: tuple[CourseEvent, ...]
    baseline_kind: BaselineKind = BaselineKind.NONE
    fallback: BaselineFallback | None = None

    @property
    def baseline_label(self) -> str | None:
        """The words shown beside any response or remission: None for a pre-treatment baseline."""
        if self.baseline_kind is BaselineKind.PRE_TREATMENT:
            return None
        if self.baseline_kind is BaselineKind.FALLBACK and self.fallback is not None:
            return self.fallback.label
        return NO_PRE_TREATMENT_BASELINE

    def _first(self, kind: CourseEventKind) -> datetime | None:
        return next((e.rated_at for e in self.events if e.kind is kind), None)

    @property
    def first_response_at(self) -> datetime | None:
        return self._first(CourseEventKind.RESPONSE)

    @property
    def first_remission_at(self) -> datetime | None:
        return self._first(CourseEventKind.REMISSION)

    @property
    def relapse_at(self) -> datetime | None:
        return self._first(CourseEventKind.RELAPSE)

    @property
    def latest(self) -> RatingStatus | None:
        return self.timeline[-1] if self.timeline else None


def ratings_for(history: Iterable[Rating], instrument_id: str) -> tuple[Rating, ...]:
    """The instrument's ratings in time order (stable for equal times)."""
    return tuple(sorted((r for r in history if r.instrument_id == instrument_id),
                        key=lambda r: r.rated_at))


def pre_treatment_baseline(history: Iterable[Rating], instrument_id: str,
                           first_infusion_at: datetime | None, *,
                           baseline_by: datetime | None = None,
                           lookback: timedelta | None = None) -> Rating | None:
    """The last rating strictly before the first infusion started (no infusion yet: any
    rating), by `baseline_by` when given, no older than `lookback` before that bound."""
    bounds = [moment for moment in (first_infusion_at, baseline_by) if moment is not None]
    ratings = ratings_for(history, instrument_id)
    before = [r for r in ratings
              if (first_infusion_at is None or r.rated_at < first_infusion_at)
              and (baseline_by is None or r.rated_at <= baseline_by)]
    if before and lookback is not None:
        edge = min(bounds) if bounds else before[-1].rated_at
        before = [r for r in before if r.rated_at >= edge - lookback]
    return before[-1] if before else None


def course_baseline(history: Iterable[Rating], instrument_id: str,
                    first_infusion_at: datetime | None, *, baseline_by: datetime | None = None,
                    lookback: timedelta | None = None,
                    fallback: BaselineFallback | None = None) -> tuple[Rating | None, BaselineKind]:
    """The course baseline and its kind (see the module docstring).

    Never a rating at or after the first infusion's start unless `fallback` was chosen, and
    then only when there is no pre-treatment rating.
    """
    ratings = ratings_for(history, instrument_id)
    before = pre_treatment_baseline(ratings, instrument_id, first_infusion_at,
                                    baseline_by=baseline_by, lookback=lookback)
    if before is not None:
        return before, BaselineKind.PRE_TREATMENT
    if fallback is BaselineFallback.FIRST_AFTER_FIRST_INFUSION and first_infusion_at is not None:
        after = next((r for r in ratings if r.rated_at >= first_infusion_at), None)
        if after is not None:
            return after, BaselineKind.FALLBACK
    return None, BaselineKind.NONE


def percent_change(baseline_total: int, total: int) -> float | None:
    """Change from baseline in percent (negative = improvement); None when the baseline is 0."""
    if baseline_total == 0:
        return None
    return (total - baseline_total) * 100 / baseline_total


def is_response(baseline_total: int, total: int,
                thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> bool:
    """At least the response drop from a non-zero baseline (integer arithmetic: no rounding)."""
    if baseline_total <= 0:
        return False
    return (baseline_total - total) * 100 >= thresholds.response_min_drop_pct * baseline_total


def is_remission(instrument_id: str, total: int,
                 thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> bool:
    """Remission by the instrument's threshold (MADRS <= 10, PHQ-9 < 5, QIDS-SR16 <= 5)."""
    if instrument_id == "madrs":
        return total <= thresholds.madrs_remission_max
    if instrument_id == "phq9":
        return total < thresholds.phq9_remission_below
    if instrument_id == "qids-sr16":
        return total <= thresholds.qids_remission_max
    raise ValueError(f"{instrument_id} has no remission definition "
                     f"(defined for {', '.join(RESPONSE_INSTRUMENTS)})")


def course_outcome(history: Iterable[Rating], instrument_id: str,
                   first_infusion_at: datetime | None, *, baseline_by: datetime | None = None,
                   course_end: datetime | None = None, lookback: timedelta | None = None,
                   fallback: BaselineFallback | None = None,
                   thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> CourseOutcome:
    """Compare each rating after the baseline (up to `course_end`) with the baseline.

    Without a baseline (no pre-treatment rating and no fallback chosen) nothing is compared:
    the timeline and events are empty and `baseline_label` says "no pre-treatment baseline".

    Events: response the first time the drop reaches the threshold (again after a relapse);
    remission the first time the remission threshold is met; relapse after a response when
    `relapse_consecutive_ratings` consecutive ratings no longer meet the response drop, or for
    QIDS-SR16 on a single rating at or above `qids_relapse_min`.
    """
    if instrument_id not in RESPONSE_INSTRUMENTS:
        raise ValueError(f"{instrument_id} has no response definition "
                         f"(defined for {', '.join(RESPONSE_INSTRUMENTS)})")
    ratings = ratings_for(history, instrument_id)
    baseline, kind = course_baseline(ratings, instrument_id, first_infusion_at,
                                     baseline_by=baseline_by, lookback=lookback,
                                     fallback=fallback)
    chosen = fallback if kind is BaselineKind.FALLBACK else None
    if baseline is None:
        return CourseOutcome(instrument_id, first_infusion_at, None, (), (), kind, fallback)
    after = [r for r in ratings if r.rated_at > baseline.rated_at and r is not baseline
             and (course_end is None or r.rated_at <= course_end)]
    timeline = tuple(
        RatingStatus(r, percent_change(baseline.total, r.total),
                     is_response(baseline.total, r.total, thresholds),
                     is_remission(instrument_id, r.total, thresholds))
        for r in after)
    return CourseOutcome(instrument_id, first_infusion_at, baseline, timeline,
                         _events(instrument_id, timeline, thresholds), kind, chosen)


def _events(instrument_id: str, timeline: Sequence[RatingStatus],
            thresholds: ScaleThresholds) -> tuple[CourseEvent, ...]:
    events: list[CourseEvent] = []
    responding = False
    remitted = False
    non_response_run = 0
    for status in timeline:
        at, total = status.rating.rated_at, status.rating.total
        relapsed = False
        if not responding and status.response:
            responding, non_response_run = True, 0
            events.append(CourseEvent(CourseEventKind.RESPONSE, at,
                                      f"{status.percent_change:.0f}% from baseline"))
        elif responding:
            non_response_run = 0 if status.response else non_response_run + 1
            qids_relapse = instrument_id == "qids-sr16" and total >= thresholds.qids_relapse_min
            relapsed = qids_relapse or non_response_run >= thresholds.relapse_consecutive_ratings
            if relapsed:
                reason = (f"QIDS-SR16 {total} >= {thresholds.qids_relapse_min}" if qids_relapse
                          else f"{non_response_run} consecutive ratings above the response "
                               "threshold")
                events.append(CourseEvent(CourseEventKind.RELAPSE, at, reason))
                responding, remitted, non_response_run = False, False, 0
        # A relapse rating is never also reported as a remission (possible from a low baseline).
        if status.remission and not remitted and not relapsed:
            remitted = True
            events.append(CourseEvent(CourseEventKind.REMISSION, at, f"total {total}"))
    return tuple(events)


# --- safety signals ------------------------------------------------------------------------------


class SignalKind(StrEnum):
    CSSRS_SCREEN = "cssrs-screen"
    SAME_DAY_REVIEW = "same-day-review"
    CSSRS_HIGH = "cssrs-high"
    CSSRS_MODERATE = "cssrs-moderate"
    SUICIDALITY_URGENT = "suicidality-urgent"
    POSSIBLE_SWITCH = "possible-switch"
    PROBABLE_MANIA = "probable-mania"


class Action(StrEnum):
    """What the reference says should follow a signal; the alerts domain carries them out."""

    CREATE_CSSRS_TASK = "create-cssrs-screen-task"
    SAME_DAY_CLINICIAN_REVIEW = "same-day-clinician-review"
    BLOCK_SELF_CHECK_IN = "block-self-check-in"
    NOTIFY_PRESCRIBER = "notify-prescriber"
    SHOW_EMERGENCY_PATHWAY = "show-emergency-pathway"
    CLINICIAN_REVIEW = "clinician-review"


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    rated_at: datetime
    instrument_id: str
    actions: tuple[Action, ...]


_URGENT_ACTIONS = (Action.BLOCK_SELF_CHECK_IN, Action.NOTIFY_PRESCRIBER,
                   Action.SHOW_EMERGENCY_PATHWAY)
_SIGNALS: dict[Flag, tuple[SignalKind, tuple[Action, ...]]] = {
    Flag.CSSRS_SCREEN_NEEDED: (SignalKind.CSSRS_SCREEN, (Action.CREATE_CSSRS_TASK,)),
    Flag.MADRS_ITEM10_SCREEN: (SignalKind.CSSRS_SCREEN, (Action.CREATE_CSSRS_TASK,)),
    Flag.MADRS_ITEM10_SAME_DAY_REVIEW: (SignalKind.SAME_DAY_REVIEW,
                                       (Action.SAME_DAY_CLINICIAN_REVIEW,)),
    Flag.CSSRS_MODERATE: (SignalKind.CSSRS_MODERATE, (Action.SAME_DAY_CLINICIAN_REVIEW,)),
    Flag.CSSRS_HIGH: (SignalKind.CSSRS_HIGH, _URGENT_ACTIONS),
    Flag.SUICIDALITY_URGENT: (SignalKind.SUICIDALITY_URGENT, _URGENT_ACTIONS),
    Flag.POSSIBLE_SWITCH: (SignalKind.POSSIBLE_SWITCH, (Action.CLINICIAN_REVIEW,)),
    Flag.PROBABLE_MANIA: (SignalKind.PROBABLE_MANIA, (Action.NOTIFY_PRESCRIBER,)),
}


URGENT_KINDS = frozenset({SignalKind.CSSRS_HIGH, SignalKind.SUICIDALITY_URGENT})
SAME_DAY_KINDS = frozenset({SignalKind.SAME_DAY_REVIEW, SignalKind.CSSRS_MODERATE})


def safety_signals(history: Iterable[Rating],
                   thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> tuple[Signal, ...]:
    """Suicidality and mood-switch signals, in time order, under the given thresholds.

    Flags are re-evaluated with `thresholds`, so a changed clinic setting applies to history too.
    A rating on the urgent pathway raises no same-day review as well (urgent covers it); its
    C-SSRS screen task stays. The mood-chart rule (>= 2 consecutive elevated days) belongs to the
    mood domain, not here.
    """
    signals: list[Signal] = []
    for rating in sorted(history, key=lambda r: r.rated_at):
        raised = dict(_SIGNALS[flag] for flag in evaluate_flags(rating.result, thresholds)
                      if flag in _SIGNALS)
        urgent = not URGENT_KINDS.isdisjoint(raised)
        signals += [Signal(kind, rating.rated_at, rating.instrument_id, actions)
                    for kind, actions in raised.items()
                    if not (urgent and kind in SAME_DAY_KINDS)]
    return tuple(signals)


class PathwayLevel(StrEnum):
    """Where one rating puts the patient on the suicidality pathway (highest level wins)."""

    NONE = "none"
    SCREEN = "screen"          # C-SSRS screen task
    SAME_DAY = "same-day"      # alert: same-day prescriber review
    URGENT = "urgent"          # alert to the prescriber now; crisis content on the portal


def suicidality_pathway(result: ScoreResult,
                        thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> PathwayLevel:
    """The suicidality pathway level of one scored rating under the clinic's thresholds."""
    kinds = {_SIGNALS[flag][0] for flag in evaluate_flags(result, thresholds) if flag in _SIGNALS}
    if kinds & URGENT_KINDS:
        return PathwayLevel.URGENT
    if kinds & SAME_DAY_KINDS:
        return PathwayLevel.SAME_DAY
    if SignalKind.CSSRS_SCREEN in kinds:
        return PathwayLevel.SCREEN
    return PathwayLevel.NONE


def shows_emergency_pathway(result: ScoreResult,
                            thresholds: ScaleThresholds = DEFAULT_THRESHOLDS) -> bool:
    """Whether the patient is shown the crisis content after this rating (urgent pathway)."""
    return suicidality_pathway(result, thresholds) is PathwayLevel.URGENT
