"""Pre-checks before the pump starts, the pre-infusion blood-pressure gate and the signed order.

`missing_prechecks` lists everything still blocking the start, each with the field to fix, so
the chair-side page can show the whole list at once rather than one refusal at a time.

Some checks are nurse confirmations; others are facts from the record that the service gathers
and passes in (today's self-report, the patient's open suicidality/switch alerts), so they cannot
be satisfied by ticking a box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ketaflow.clinical.bp_gate import BpGate, classify_bp
from ketaflow.infusions.rules.problems import Problem
from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS, InfusionSettings
from ketaflow.infusions.rules.vitals import VitalsReading


class PregnancyTest(StrEnum):
    NOT_APPLICABLE = "not_applicable"
    NOT_DONE = "not_done"
    NEGATIVE = "negative"
    POSITIVE = "positive"


def bp_gate(sbp_mmhg: float, dbp_mmhg: float,
            settings: InfusionSettings = DEFAULT_SETTINGS) -> BpGate:
    """Spravato >140/90 guide (review); 160/100 common practice (defer)."""
    return classify_bp(sbp_mmhg, dbp_mmhg, settings.bp_gate)


@dataclass(frozen=True)
class OrderDetails:
    """The prescriber's order as it must stand, signed, before the pump starts."""

    drug: str
    lot_number: str
    expiry_date: date | None
    concentration_mg_per_ml: float | None
    dose_mg: float | None
    rate_ml_per_h: float | None
    signed: bool


def order_problems(order: OrderDetails | None, today: date) -> list[Problem]:
    if order is None:
        return [Problem("order", "no order: a prescriber must write and sign one")]
    problems = [Problem(name, f"order {name} is missing")
                for name in ("drug", "lot_number") if not getattr(order, name).strip()]
    if order.expiry_date is None:
        problems.append(Problem("expiry_date", "order expiry_date is missing"))
    elif order.expiry_date < today:
        problems.append(Problem("expiry_date", "the lot has expired: use another lot"))
    for name in ("concentration_mg_per_ml", "dose_mg", "rate_ml_per_h"):
        value = getattr(order, name)
        if value is None or not math.isfinite(value) or value <= 0:
            problems.append(Problem(name, f"order {name} must be a positive number"))
    if not order.signed:
        problems.append(Problem("order", "the order is not signed by a prescriber"))
    return problems


@dataclass(frozen=True)
class PrecheckInput:
    identity_confirmed: bool = False
    consent_current: bool = False
    fasting_confirmed: bool = False
    escort_confirmed: bool = False
    transport_confirmed: bool = False
    pregnancy_test: PregnancyTest = PregnancyTest.NOT_DONE
    pre_infusion_vitals: VitalsReading | None = None
    bp_review_by_prescriber: bool = False
    # Facts from the record, not answers: a self-report (PHQ-9, QIDS-SR16, GAD-7, ASRM) rated
    # today, or the documented reason to proceed without one.
    self_report_found: bool = False
    self_report_override_reason: str | None = None
    unacknowledged_alerts: int = 0       # this session's vitals/symptom alerts
    open_patient_alerts: int = 0         # the patient's suicidality/switch alerts (ketaflow.alerts)
    order: OrderDetails | None = None


_CONFIRMATIONS = (
    ("identity_confirmed", "patient identity not confirmed (two identifiers)"),
    ("consent_current", "consent is not current"),
    ("fasting_confirmed", "fasting not confirmed"),
    ("escort_confirmed", "responsible adult escort not confirmed"),
    ("transport_confirmed", "transport home not confirmed (no driving until the next day)"),
)


def self_report_problems(checks: PrecheckInput) -> list[Problem]:
    """Satisfied by a self-report rated today, or by a documented reason to go without one."""
    if checks.self_report_found or (checks.self_report_override_reason or "").strip():
        return []
    return [Problem("self_report", "no self-report (PHQ-9, QIDS-SR16, GAD-7 or ASRM) rated "
                                   "today: enter one, or record why the infusion goes ahead "
                                   "without it")]


def alert_problems(checks: PrecheckInput) -> list[Problem]:
    problems = []
    if checks.open_patient_alerts > 0:
        # Suicidality or a switch to (hypo)mania needs a prescriber's decision before dosing.
        problems.append(Problem("patient_alerts",
                                f"{checks.open_patient_alerts} suicidality/switch alert(s) "
                                "open: a prescriber must acknowledge them"))
    if checks.unacknowledged_alerts > 0:
        problems.append(Problem("alerts", f"{checks.unacknowledged_alerts} alert(s) not "
                                          "acknowledged"))
    return problems


def _bp_problems(checks: PrecheckInput, settings: InfusionSettings) -> list[Problem]:
    vitals = checks.pre_infusion_vitals
    if vitals is None or not vitals.has_bp:
        return [Problem("pre_infusion_vitals", "pre-infusion blood pressure not recorded")]
    gate = bp_gate(vitals.sbp_mmhg, vitals.dbp_mmhg, settings)  # type: ignore[arg-type]
    if gate is BpGate.DEFER:
        return [Problem("pre_infusion_vitals",
                        f"pre-infusion BP at or above {settings.bp_gate.defer_sbp_min_mmhg}/"
                        f"{settings.bp_gate.defer_dbp_min_mmhg} mmHg: defer the infusion")]
    if gate is BpGate.REVIEW and not checks.bp_review_by_prescriber:
        return [Problem("bp_review_by_prescriber",
                        f"pre-infusion BP above {settings.bp_gate.review_sbp_above_mmhg}/"
                        f"{settings.bp_gate.review_dbp_above_mmhg} mmHg: prescriber review "
                        "needed before start")]
    return []


def missing_prechecks(
    checks: PrecheckInput, *, today: date, settings: InfusionSettings = DEFAULT_SETTINGS
) -> tuple[Problem, ...]:
    """Everything that still blocks the start; empty when the pump may start."""
    problems = [Problem(name, message) for name, message in _CONFIRMATIONS
                if not getattr(checks, name)]
    problems += self_report_problems(checks)
    if checks.pregnancy_test is PregnancyTest.NOT_DONE:
        problems.append(Problem("pregnancy_test", "pregnancy test not recorded (or mark it not "
                                                  "applicable)"))
    elif checks.pregnancy_test is PregnancyTest.POSITIVE:
        problems.append(Problem("pregnancy_test", "pregnancy test positive: do not start"))
    problems += _bp_problems(checks, settings)
    problems += alert_problems(checks)
    problems += order_problems(checks.order, today)
    return tuple(problems)
