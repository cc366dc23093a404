"""Discharge: modified Aldrete and PADSS via `ketaflow.scales`, escort, advice, observation time.

Discharge is refused unless every criterion is met, or a prescriber overrides with a reason;
an override keeps the unmet criteria on the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ketaflow.infusions.rules.problems import Problem, RuleError
from ketaflow.infusions.rules.schedule import observation_complete_at
from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS, InfusionSettings
from ketaflow.scales import DEFAULT_THRESHOLDS, ScaleInputError, ScaleThresholds, ScoreResult, score


@dataclass(frozen=True)
class DischargeInput:
    aldrete_answers: Mapping[str, int]
    padss_answers: Mapping[str, int]
    escort_confirmed: bool
    no_driving_advice_given: bool
    infusion_ended_at: datetime
    assessed_at: datetime
    override_reason: str | None = None
    override_by_prescriber: bool = False


@dataclass(frozen=True)
class DischargeDecision:
    allowed: bool
    overridden: bool
    unmet: tuple[Problem, ...]
    aldrete: ScoreResult
    padss: ScoreResult
    ready_at: datetime


def _score(instrument: str, answers: Mapping[str, int], field: str,
           thresholds: ScaleThresholds) -> ScoreResult:
    try:
        return score(instrument, answers, thresholds)
    except ScaleInputError as error:
        raise RuleError(str(error), field=field) from error


def assess_discharge(
    data: DischargeInput,
    *,
    settings: InfusionSettings = DEFAULT_SETTINGS,
    thresholds: ScaleThresholds = DEFAULT_THRESHOLDS,
) -> DischargeDecision:
    """Score both scales and list unmet criteria. RuleError for unscorable answers or an override
    without a prescriber or a reason."""
    aldrete = _score("aldrete", data.aldrete_answers, "aldrete_answers", thresholds)
    padss = _score("padss", data.padss_answers, "padss_answers", thresholds)
    ready_at = observation_complete_at(data.infusion_ended_at, settings)
    unmet: list[Problem] = []
    if aldrete.total is None or aldrete.total < thresholds.aldrete_discharge_min:
        unmet.append(Problem("aldrete_answers", f"modified Aldrete below "
                                                f"{thresholds.aldrete_discharge_min}"))
    if padss.total is None or padss.total < thresholds.padss_discharge_min:
        unmet.append(Problem("padss_answers", f"PADSS below {thresholds.padss_discharge_min}"))
    if not data.escort_confirmed:
        unmet.append(Problem("escort_confirmed", "responsible adult escort not confirmed"))
    if not data.no_driving_advice_given:
        unmet.append(Problem("no_driving_advice_given", "no-driving advice not given"))
    if data.assessed_at < ready_at:
        unmet.append(Problem("observation", f"observation of {settings.observation_min} min "
                                            "after the infusion has not elapsed"))
    override = bool(data.override_reason and data.override_reason.strip())
    if override and not data.override_by_prescriber:
        raise RuleError("only a prescriber may override discharge criteria",
                        field="override_reason")
    overridden = bool(unmet) and override
    return DischargeDecision(allowed=not unmet or overridden, overridden=overridden,
                             unmet=tuple(unmet), aldrete=aldrete, padss=padss, ready_at=ready_at)


def require_discharge(data: DischargeInput, **kwargs: object) -> DischargeDecision:
    decision = assess_discharge(data, **kwargs)  # type: ignore[arg-type]
    if not decision.allowed:
        first = decision.unmet[0]
        rest = "; ".join(problem.message for problem in decision.unmet)
        raise RuleError(f"discharge criteria not met: {rest} (a prescriber may override with "
                        "a reason)", field=first.field)
    return decision
