"""Vital-sign readings: refusing impossible values, and alerts against the clinic thresholds.

Sedation is charted with the Richmond Agitation-Sedation Scale (RASS, Sessler et al., Am J Respir
Crit Care Med 2002;166:1338): integers from -5 (unarousable) to +4 (combative), 0 = alert and
calm. Every field is optional, so a pulse-oximeter-only reading can be charted, but blood
pressure is systolic and diastolic together and a reading must hold at least one value.

Alerts: review bands (house defaults), the high-BP hold on a repeat reading, the SpO2 stop, and
the dangerous-reading criteria (docs/clinical-sources.md#vital-sign-criteria): hypotension or a
fall from the pre-infusion systolic, bradycardia or no pulse, bradypnoea or apnoea, deep sedation
and agitation each hold or stop on a single reading. Each alert says what to do at the chair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum

from ketaflow.infusions.rules.labels import label as field_label
from ketaflow.infusions.rules.problems import Problem, RuleError
from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS, InfusionSettings

RASS_MIN, RASS_MAX = -5, 4
RASS_UNAROUSABLE = -5
_ZERO_IS_A_FINDING = frozenset({"hr_bpm", "rr_per_min"})

# Limits of what a living, monitored adult can show; outside them the entry is a typo or a
# misplaced probe, so it is refused rather than charted.
PLAUSIBLE: dict[str, tuple[float, float, str]] = {
    "sbp_mmhg": (50, 300, "mmHg"),
    "dbp_mmhg": (20, 200, "mmHg"),
    "hr_bpm": (20, 250, "bpm"),
    "spo2_percent": (50, 100, "%"),
    "rr_per_min": (1, 60, "/min"),
}


@dataclass(frozen=True)
class VitalsReading:
    taken_at: datetime
    sbp_mmhg: float | None = None
    dbp_mmhg: float | None = None
    hr_bpm: float | None = None
    spo2_percent: float | None = None
    rr_per_min: float | None = None
    rass: int | None = None

    @property
    def has_bp(self) -> bool:
        return self.sbp_mmhg is not None and self.dbp_mmhg is not None

    @property
    def is_scheduled_set(self) -> bool:
        """BP and heart rate: what the every-10-minute schedule asks for."""
        return self.has_bp and self.hr_bpm is not None


class AlertLevel(StrEnum):
    """REVIEW: tell the prescriber; HOLD: pause the infusion until the prescriber decides;
    STOP: stop the infusion and treat."""

    REVIEW = "review"
    HOLD = "hold"
    STOP = "stop"

    @property
    def rank(self) -> int:
        return (AlertLevel.REVIEW, AlertLevel.HOLD, AlertLevel.STOP).index(self)


@dataclass(frozen=True)
class VitalsAlert:
    level: AlertLevel
    code: str
    field: str
    message: str


def _number_problem(name: str, value: float) -> Problem | None:
    low, high, unit = PLAUSIBLE[name]
    if isinstance(value, bool) or not math.isfinite(value):
        return Problem(name, f"{field_label(name)} must be a number")
    if value < 0:
        return Problem(name, f"{field_label(name)} cannot be negative")
    if not low <= value <= high:
        return Problem(name, f"{field_label(name)} must be between {low:g} and {high:g} {unit}")
    return None


def _check_values(reading: VitalsReading) -> None:
    if (reading.sbp_mmhg is None) != (reading.dbp_mmhg is None):
        missing = "dbp_mmhg" if reading.dbp_mmhg is None else "sbp_mmhg"
        raise RuleError("blood pressure needs both systolic and diastolic", field=missing)
    values = {spec.name: getattr(reading, spec.name) for spec in fields(reading)}
    if all(values[name] is None for name in (*PLAUSIBLE, "rass")):
        raise RuleError("a reading needs at least one value", field="sbp_mmhg")
    if reading.rass is not None and (
            isinstance(reading.rass, bool) or reading.rass not in range(RASS_MIN, RASS_MAX + 1)):
        raise RuleError(f"RASS must be a whole number from {RASS_MIN} to +{RASS_MAX}",
                        field="rass")
    if reading.hr_bpm == 0 and reading.rass != RASS_UNAROUSABLE:
        # Asystole with a patient who answers is a lead off, not a rhythm.
        raise RuleError(f"{field_label('hr_bpm')} 0 cannot be recorded for a conscious patient",
                        field="hr_bpm")
    problems = [
        problem for name in PLAUSIBLE
        # 0 is a finding, not a typo: no pulse (unarousable patient only, above) or apnoea.
        if (value := values[name]) is not None and not (name in _ZERO_IS_A_FINDING and value == 0)
        and (problem := _number_problem(name, value)) is not None
    ]
    if problems:  # every implausible value at once, so the nurse corrects them together
        raise RuleError.of(problems)
    if reading.has_bp and reading.dbp_mmhg >= reading.sbp_mmhg:  # type: ignore[operator]
        raise RuleError(f"{field_label('dbp_mmhg')} must be below {field_label('sbp_mmhg')}",
                        field="dbp_mmhg")


def validate_reading(
    reading: VitalsReading,
    *,
    session_opened_at: datetime,
    now: datetime,
    settings: InfusionSettings = DEFAULT_SETTINGS,
) -> None:
    """Raise RuleError naming the field if the reading is impossible or timed outside it."""
    if reading.taken_at < session_opened_at:
        raise RuleError(f"{field_label('taken_at')} is before the session was opened",
                        field="taken_at")
    if reading.taken_at > now + timedelta(seconds=settings.future_tolerance_s):
        raise RuleError(f"{field_label('taken_at')} is in the future", field="taken_at")
    _check_values(reading)


def _severe_bp(reading: VitalsReading | None, settings: InfusionSettings) -> bool:
    return reading is not None and reading.has_bp and (
        reading.sbp_mmhg >= settings.hold_sbp_min_mmhg  # type: ignore[operator]
        or reading.dbp_mmhg >= settings.hold_dbp_min_mmhg)  # type: ignore[operator]


def _bp_alerts(reading: VitalsReading, previous_bp: VitalsReading | None,
               settings: InfusionSettings) -> list[VitalsAlert]:
    if not reading.has_bp:
        return []
    limit = f"{settings.hold_sbp_min_mmhg}/{settings.hold_dbp_min_mmhg} mmHg"
    if _severe_bp(reading, settings):
        if _severe_bp(previous_bp, settings):
            return [VitalsAlert(AlertLevel.HOLD, "bp-severe-repeat", "sbp_mmhg",
                                f"BP at or above {limit} on a repeat reading: hold the infusion "
                                "and call the prescriber")]
        return [VitalsAlert(AlertLevel.REVIEW, "bp-severe-repeat-now", "sbp_mmhg",
                            f"BP at or above {limit}: repeat the reading now")]
    if (reading.sbp_mmhg >= settings.review_sbp_min_mmhg  # type: ignore[operator]
            or reading.dbp_mmhg >= settings.review_dbp_min_mmhg):  # type: ignore[operator]
        return [VitalsAlert(AlertLevel.REVIEW, "bp-high", "sbp_mmhg",
                            f"BP at or above {settings.review_sbp_min_mmhg}/"
                            f"{settings.review_dbp_min_mmhg} mmHg: prescriber review")]
    return []


def _spo2_alerts(reading: VitalsReading, settings: InfusionSettings) -> list[VitalsAlert]:
    spo2 = reading.spo2_percent
    if spo2 is None:
        return []
    if spo2 < settings.stop_spo2_below_percent:
        return [VitalsAlert(AlertLevel.STOP, "spo2-low", "spo2_percent",
                            f"SpO2 below {settings.stop_spo2_below_percent}%: stop the infusion, "
                            "support the airway, call the prescriber")]
    if spo2 < settings.review_spo2_below_percent:
        return [VitalsAlert(AlertLevel.REVIEW, "spo2-borderline", "spo2_percent",
                            f"SpO2 below {settings.review_spo2_below_percent}%: prescriber review")]
    return []


def _band_alerts(reading: VitalsReading, settings: InfusionSettings,
                 skip: frozenset[str]) -> list[VitalsAlert]:
    """Review alerts outside the house bands; `skip` holds the fields that already raised a
    hold or stop, since one field shows only its most severe alert."""
    alerts = []
    bands = (
        ("hr_bpm", reading.hr_bpm, settings.review_hr_below_bpm, settings.review_hr_above_bpm,
         "heart rate", "bpm"),
        ("rr_per_min", reading.rr_per_min, settings.review_rr_below_per_min,
         settings.review_rr_above_per_min, "respiratory rate", "/min"),
    )
    for name, value, below, above, label, unit in bands:
        if name not in skip and value is not None and not below <= value <= above:
            alerts.append(VitalsAlert(AlertLevel.REVIEW, f"{name.split('_')[0]}-out-of-band", name,
                                      f"{label} outside {below}-{above} {unit}: "
                                      "prescriber review"))
    if ("rass" not in skip and reading.rass is not None
            and reading.rass <= settings.review_rass_max):
        alerts.append(VitalsAlert(AlertLevel.REVIEW, "sedation-deep", "rass",
                                  f"RASS {settings.review_rass_max} or deeper: prescriber review"))
    return alerts


_CALL_FOR_HELP = "stop the infusion, call for help, check airway and breathing"


def _low_sbp_alerts(reading: VitalsReading, baseline_sbp_mmhg: float | None,
                    settings: InfusionSettings) -> list[VitalsAlert]:
    sbp = reading.sbp_mmhg
    if sbp is None:
        return []
    if sbp < settings.hold_sbp_below_mmhg:
        return [VitalsAlert(AlertLevel.HOLD, "sbp-low", "sbp_mmhg",
                            f"SBP below {settings.hold_sbp_below_mmhg} mmHg: hold the infusion, "
                            "lay the patient flat, repeat the BP and call the prescriber")]
    if baseline_sbp_mmhg is not None and baseline_sbp_mmhg > 0:
        drop_percent = (baseline_sbp_mmhg - sbp) / baseline_sbp_mmhg * 100
        if drop_percent > settings.hold_sbp_drop_above_percent:
            return [VitalsAlert(AlertLevel.HOLD, "sbp-drop", "sbp_mmhg",
                                f"SBP more than {settings.hold_sbp_drop_above_percent}% below "
                                f"the pre-infusion {baseline_sbp_mmhg:g} mmHg: hold the "
                                "infusion, repeat the BP and call the prescriber")]
    return []


def _hr_alerts(hr: float | None, settings: InfusionSettings) -> list[VitalsAlert]:
    if hr is None:
        return []
    if hr == 0:
        return [VitalsAlert(AlertLevel.STOP, "pulse-absent", "hr_bpm",
                            "no pulse: stop the infusion, call the emergency team and start "
                            "resuscitation")]
    if hr < settings.stop_hr_below_bpm:
        return [VitalsAlert(AlertLevel.STOP, "hr-very-low", "hr_bpm",
                            f"heart rate below {settings.stop_hr_below_bpm} bpm: {_CALL_FOR_HELP}"
                            " and circulation; call the emergency team")]
    if hr < settings.hold_hr_below_bpm:
        return [VitalsAlert(AlertLevel.HOLD, "hr-low", "hr_bpm",
                            f"heart rate below {settings.hold_hr_below_bpm} bpm: hold the "
                            "infusion, check the patient and the pulse, call the prescriber")]
    return []


def _rr_alerts(rr: float | None, settings: InfusionSettings) -> list[VitalsAlert]:
    if rr is None:
        return []
    if rr == 0:
        return [VitalsAlert(AlertLevel.STOP, "apnoea", "rr_per_min",
                            "apnoea: stop the infusion, call for help, open the airway and "
                            "ventilate")]
    if rr < settings.stop_rr_below_per_min:
        return [VitalsAlert(AlertLevel.STOP, "rr-very-low", "rr_per_min",
                            f"respiratory rate below {settings.stop_rr_below_per_min}/min: "
                            f"{_CALL_FOR_HELP}; support ventilation")]
    if rr < settings.hold_rr_below_per_min:
        return [VitalsAlert(AlertLevel.HOLD, "rr-low", "rr_per_min",
                            f"respiratory rate below {settings.hold_rr_below_per_min}/min: hold "
                            "the infusion, rouse the patient, check airway and SpO2, call the "
                            "prescriber")]
    return []


def _rass_alerts(rass: int | None, settings: InfusionSettings) -> list[VitalsAlert]:
    if rass is None:
        return []
    if rass <= settings.stop_rass_max:
        # Deep sedation is not expected at sub-anaesthetic doses: treat it as an emergency.
        return [VitalsAlert(AlertLevel.STOP, "rass-deep", "rass",
                            f"RASS {rass:+d} (at or below {settings.stop_rass_max:+d}, deep "
                            f"sedation): {_CALL_FOR_HELP}")]
    if rass >= settings.hold_rass_min:
        return [VitalsAlert(AlertLevel.HOLD, "rass-agitated", "rass",
                            f"RASS {rass:+d} (at or above {settings.hold_rass_min:+d}, agitation "
                            "or emergence reaction): hold the infusion, keep the patient safe, "
                            "calm the room, call the prescriber")]
    return []


def _danger_alerts(reading: VitalsReading, baseline_sbp_mmhg: float | None,
                   settings: InfusionSettings) -> list[VitalsAlert]:
    """Hold and stop alerts for hypotension, bradycardia, bradypnoea and sedation depth."""
    return (_low_sbp_alerts(reading, baseline_sbp_mmhg, settings)
            + _hr_alerts(reading.hr_bpm, settings) + _rr_alerts(reading.rr_per_min, settings)
            + _rass_alerts(reading.rass, settings))


def assess_reading(
    reading: VitalsReading,
    previous: Sequence[VitalsReading] = (),
    settings: InfusionSettings = DEFAULT_SETTINGS,
    *,
    baseline_sbp_mmhg: float | None = None,
) -> tuple[VitalsAlert, ...]:
    """Alerts this reading raises, most severe first. `previous` are the session's earlier
    readings in time order; the last one with a blood pressure is the "repeat" comparison.
    `baseline_sbp_mmhg` is the pre-infusion systolic (None before the infusion starts)."""
    previous_bp = next((r for r in reversed(previous) if r.has_bp), None)
    danger = _danger_alerts(reading, baseline_sbp_mmhg, settings)
    alerts = (_spo2_alerts(reading, settings) + _bp_alerts(reading, previous_bp, settings)
              + danger + _band_alerts(reading, settings, frozenset(a.field for a in danger)))
    return tuple(sorted(alerts, key=lambda alert: -alert.level.rank))


# Symptoms the reference lists as reasons to stop (possible hypertensive emergency).
RED_FLAG_SYMPTOMS: dict[str, str] = {
    "chest_pain": "chest pain",
    "dyspnoea": "dyspnoea",
    "severe_headache": "severe headache",
    "visual_change": "visual change",
    "neurological_change": "neurological change",
}


def symptom_alerts(symptoms: Sequence[str]) -> tuple[VitalsAlert, ...]:
    """A STOP alert for each red-flag symptom reported; unknown symptom keys are refused."""
    alerts = []
    for key in symptoms:
        if key not in RED_FLAG_SYMPTOMS:
            raise RuleError(f"unknown symptom {key!r}", field="symptoms")
        alerts.append(VitalsAlert(AlertLevel.STOP, f"symptom-{key}", "symptoms",
                                  f"{RED_FLAG_SYMPTOMS[key]}: stop the infusion; consider "
                                  "emergency care"))
    return tuple(alerts)
