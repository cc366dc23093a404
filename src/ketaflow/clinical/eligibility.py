"""Eligibility screening for IV ketamine: the checklist, baseline vitals and baseline YMRS.

Every checklist item is a contraindication, a caution or a requirement, with its source
(docs/clinical-sources.md#contraindications and the anchors each item names). The checklist is
versioned: a signed screening is re-evaluated with the version it was signed with. The result is
one of:
- INCOMPLETE: a required item is unanswered (or answered "unknown"); it cannot be signed,
- NOT_ELIGIBLE: a contraindication is present or a requirement is not met,
- ELIGIBLE_WITH_CAUTIONS: only cautions were found,
- ELIGIBLE: nothing was found.
Findings are listed even for an incomplete screening, so the nurse sees them while filling it in.
The software supports the prescriber's decision; it never replaces it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ketaflow.clinical.body import HUMAN_WEIGHT_MAX_KG, HUMAN_WEIGHT_MIN_KG
from ketaflow.clinical.bp_gate import BpGate, BpGateSettings, classify_bp
from ketaflow.dosing.limits import DEFAULT_LIMITS, DosingLimits
from ketaflow.sourced import require_whole_numbers, setting, source_of

APA_2017 = (
    "APA consensus statement 2017 (Sanacora et al., JAMA Psychiatry): pre-procedural evaluation"
)
KETALAR = "Ketalar label, revised 10/2024"
SPRAVATO = "Spravato label"
REF2 = "docs/clinical-sources.md#eligibility-screening"
REF3 = "docs/clinical-sources.md#discharge-scores"


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class ItemKind(StrEnum):
    CONTRAINDICATION = "contraindication"
    CAUTION = "caution"
    REQUIREMENT = "requirement"


class FindingKind(StrEnum):
    CONTRAINDICATION = "contraindication"
    CAUTION = "caution"
    REQUIREMENT_NOT_MET = "requirement_not_met"

    @property
    def blocks(self) -> bool:
        return self is not FindingKind.CAUTION


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    ELIGIBLE_WITH_CAUTIONS = "eligible_with_cautions"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"

    @property
    def allows_course(self) -> bool:
        return self in (Outcome.ELIGIBLE, Outcome.ELIGIBLE_WITH_CAUTIONS)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class PregnancyStatus(StrEnum):
    NOT_APPLICABLE = "not_applicable"
    NEGATIVE_TEST = "negative_test"
    PREGNANT = "pregnant"
    BREASTFEEDING = "breastfeeding"


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    question: str
    kind: ItemKind
    why: str
    source: str

    @property
    def flagged_by(self) -> Answer:
        """The answer that raises a finding: "no" for a requirement, "yes" otherwise."""
        return Answer.NO if self.kind is ItemKind.REQUIREMENT else Answer.YES


def _item(key: str, question: str, kind: ItemKind, why: str, source: str) -> ChecklistItem:
    return ChecklistItem(key, question, kind, why, source)


_C, _W, _R = ItemKind.CONTRAINDICATION, ItemKind.CAUTION, ItemKind.REQUIREMENT

# The checklist as first shipped (version 1). Screenings signed with it keep being shown and
# re-evaluated with the items their signer saw, so a later checklist never changes a signed
# verdict or leaves a signed screening "unanswered". Never edit it: add a version instead.
CHECKLIST_V1: tuple[ChecklistItem, ...] = (
    _item("bipolar_depression_confirmed",
          "Confirmed bipolar I or II disorder with a current major depressive episode?", _R,
          "the indication being treated", f"{APA_2017}; {REF2}"),
    _item("current_psychotic_features", "Current psychotic features?", _C,
          "ketamine can worsen psychotic symptoms", APA_2017),
    _item("psychosis_history", "History of psychosis?", _W,
          "ketamine can provoke psychotic symptoms; weigh and monitor", APA_2017),
    _item("substance_use_history",
          "History of substance use disorder (including ketamine or other dissociatives)?", _W,
          "abuse and misuse potential", f"{APA_2017}; {SPRAVATO}"),
    _item("vascular_disease",
          "Aneurysmal vascular disease, arteriovenous malformation, or history of "
          "intracerebral haemorrhage?", _C,
          "blood pressure rises during infusion", f"{SPRAVATO} (contraindications)"),
    _item("bp_hazard",
          "Uncontrolled hypertension, or a condition in which raised blood pressure would be "
          "a serious hazard?", _C,
          "blood pressure rises during infusion", f"{KETALAR} (contraindications); {APA_2017}"),
    _item("known_hypertension", "Known hypertension (currently controlled)?", _W,
          "older age and known hypertension predict blood-pressure surges",
          f"Yale infusion series; {REF2}"),
    _item("current_hypomania_mixed", "Current hypomania, mania or mixed features?", _C,
          "ketamine may precipitate a manic switch", f"{APA_2017}; {REF2}"),
    _item("hypersensitivity", "Known hypersensitivity to ketamine or an excipient?", _C,
          "allergic reaction", f"{KETALAR} (contraindications)"),
    _item("theophylline", "Takes theophylline or aminophylline?", _C,
          "lowers the seizure threshold: do not co-administer", f"{KETALAR} (interactions)"),
    _item("cns_depressants", "Takes benzodiazepines, opioids or other CNS depressants?", _W,
          "profound sedation and respiratory depression; benzodiazepines > 8 mg/day "
          "diazepam-equivalent are linked to weaker response", f"{KETALAR} (interactions); {REF2}"),
    _item("sympathomimetics", "Takes sympathomimetics or vasopressin?", _W,
          "monitor vital signs closely", f"{KETALAR} (interactions)"),
    _item("escort_arranged",
          "Responsible adult escort and transport home arranged (no driving until the next "
          "day)?", _R, "required for discharge after every infusion", f"{REF3}; {SPRAVATO}"),
)

_V1 = {item.key: item for item in CHECKLIST_V1}
SOURCES_DOC = "docs/clinical-sources.md"
SPRAVATO_USPI = "Spravato (esketamine) USPI"
KETALAR_USPI = "Ketalar (ketamine) USPI, revised 10/2024"

# Version 2 (issue 11): the blood-pressure/intracranial-pressure, cardiovascular,
# hypertensive-encephalopathy, hepatic and dissociative-use-disorder items; theophylline a
# caution. `bp_hazard` becomes `bp_icp_hazard` because its question widened: an old "no" must
# not be copied into an amendment as an answer to a question its signer was never asked.
CHECKLIST: tuple[ChecklistItem, ...] = (
    _item("bipolar_depression_confirmed",
          "Confirmed bipolar I or II disorder with a current major depressive episode?", _R,
          "the indication being treated", f"{APA_2017} ({SOURCES_DOC}#contraindications)"),
    _V1["current_psychotic_features"],
    _V1["psychosis_history"],
    _item("substance_use_history",
          "History of substance use disorder (including ketamine or other dissociatives)?", _W,
          "abuse and misuse: assess the risk before treating and monitor for misuse",
          f"{SPRAVATO_USPI} 5.4 (abuse and misuse); {APA_2017} "
          f"({SOURCES_DOC}#substance-use-disorder)"),
    # The labels ask to assess and monitor, and list no substance use disorder among the
    # contraindications, so an active one is a caution the prescriber must weigh, asked apart
    # from history so it cannot hide in it.
    _item("dissociative_use_disorder",
          "Current (active) ketamine, phencyclidine (PCP) or other dissociative use disorder?", _W,
          "high risk of abuse and misuse: the prescriber assesses that risk, documents why "
          "treatment is considered, and monitors for misuse and drug-seeking",
          f"{SPRAVATO_USPI} 5.4 (abuse and misuse) and 9.2 (abuse); {KETALAR_USPI} 9 (drug "
          f"abuse and dependence) ({SOURCES_DOC}#substance-use-disorder)"),
    _item("vascular_disease",
          "Aneurysmal vascular disease (including thoracic and abdominal aorta, intracranial "
          "and peripheral arteries), arteriovenous malformation, or history of intracerebral "
          "haemorrhage?", _C,
          "blood pressure rises during infusion",
          f"{SPRAVATO_USPI} 4 (contraindications) ({SOURCES_DOC}#contraindications)"),
    _item("bp_icp_hazard",
          "Uncontrolled hypertension, or any condition in which a rise in blood pressure or "
          "intracranial pressure poses a serious risk?", _C,
          "ketamine raises blood pressure during and after the infusion",
          f"{SPRAVATO_USPI} 5.6 (increases in blood pressure); {KETALAR_USPI} 4 "
          f"(contraindications) ({SOURCES_DOC}#contraindications)"),
    _item("cardio_cerebrovascular",
          "Other cardiovascular or cerebrovascular disease (e.g. coronary disease, heart "
          "failure, valve disease, arrhythmia, previous stroke or TIA)?", _W,
          "assess whether the benefit outweighs the risk before treating; monitor blood "
          "pressure closely",
          f"{SPRAVATO_USPI} 5.6 (increases in blood pressure) ({SOURCES_DOC}#contraindications)"),
    _item("hypertensive_encephalopathy", "History of hypertensive encephalopathy?", _W,
          "encephalopathy can follow even small rises in blood pressure: monitor blood "
          "pressure and symptoms more often",
          f"{SPRAVATO_USPI} 5.6 (increases in blood pressure) ({SOURCES_DOC}#contraindications)"),
    _item("known_hypertension", "Known hypertension (currently controlled)?", _W,
          "older age and known hypertension predict blood-pressure surges",
          f"Yale infusion series ({SOURCES_DOC}#contraindications)"),
    _item("severe_hepatic_impairment", "Severe hepatic impairment (Child-Pugh class C)?", _C,
          "not studied; use is not recommended (ketamine is cleared by the liver)",
          f"{SPRAVATO_USPI} 8.6 (hepatic impairment) ({SOURCES_DOC}#contraindications)"),
    _item("current_hypomania_mixed", "Current hypomania, mania or mixed features?", _C,
          "ketamine may precipitate a manic switch",
          f"{APA_2017} ({SOURCES_DOC}#contraindications)"),
    _item("hypersensitivity", "Known hypersensitivity to ketamine or an excipient?", _C,
          "allergic reaction", f"{KETALAR_USPI} 4 (contraindications) "
          f"({SOURCES_DOC}#contraindications)"),
    _item("theophylline", "Takes theophylline or aminophylline?", _W,
          "may lower the seizure threshold: consider an alternative",
          f"{KETALAR_USPI} 7.1 ({SOURCES_DOC}#interactions)"),
    _item("cns_depressants",
          "Takes benzodiazepines, Z-drugs, opioids or other CNS depressants?", _W,
          "profound sedation and respiratory depression; a benzodiazepine/Z-drug load above "
          "8 mg/day diazepam-equivalent went with weaker response in one small unipolar study "
          "(n = 47)",
          f"{KETALAR_USPI} 7 (drug interactions) ({SOURCES_DOC}#interactions); Andrashko et "
          f"al., Front Psychiatry 2020;11:844 ({SOURCES_DOC}#benzodiazepine-load)"),
    _item("sympathomimetics", "Takes sympathomimetics or vasopressin?", _W,
          "monitor vital signs closely", f"{KETALAR_USPI} 7 (drug interactions) "
          f"({SOURCES_DOC}#interactions)"),
    _item("escort_arranged",
          "Responsible adult escort and transport home arranged (no driving until the next "
          "day)?", _R, "required for discharge after every infusion",
          f"{SPRAVATO_USPI} 5.8 (no driving until the next day after a restful sleep); clinic "
          f"discharge practice ({SOURCES_DOC}#contraindications)"),
)
CHECKLIST_BY_KEY: dict[str, ChecklistItem] = {item.key: item for item in CHECKLIST}
# Newest first: the version a signed screening was signed with is the newest one it answers.
CHECKLIST_VERSIONS: tuple[tuple[int, tuple[ChecklistItem, ...]], ...] = (
    (2, CHECKLIST), (1, CHECKLIST_V1))
# Every key any version has used: stored answers to retired items are still valid data.
KNOWN_ITEM_KEYS: frozenset[str] = frozenset(
    item.key for _, items in CHECKLIST_VERSIONS for item in items)


def checklist_signed_with(answered_keys: frozenset[str] | set[str]) -> tuple[ChecklistItem, ...]:
    """The checklist a signed screening was signed with: signing needs every item answered, so
    it is the newest version all of whose items are answered (the current one if none is)."""
    for _, items in CHECKLIST_VERSIONS:
        if {item.key for item in items} <= answered_keys:
            return items
    return CHECKLIST


@dataclass(frozen=True)
class EligibilitySettings:
    """Clinic settings for the baseline checks; comparisons are named by their field suffix."""

    # The same gate the chair-side pre-check applies on the day (clinical.bp_gate).
    bp_gate: BpGateSettings = field(default_factory=BpGateSettings)
    ymrs_hypomania_min: int = setting(
        12, "YMRS >= 12 possible (hypo)mania, the hypomanic band (Int J Bipolar Disord 2021, "
        "doi:10.1186/s40345-021-00241-5, table 1); docs/clinical-sources.md#ymrs",
        "Baseline YMRS possible hypomania: at least", minimum=8, maximum=20, ref="ymrs")

    def __post_init__(self) -> None:
        require_whole_numbers(self, minimum=1)

    @staticmethod
    def source_of(name: str) -> str:
        return source_of(EligibilitySettings, name)


DEFAULT_SETTINGS = EligibilitySettings()


# Plausible ranges: they catch typing errors (a missing digit), not clinical judgement. The
# weight's is the one human weight range (`ketaflow.clinical.body`), as for measurements.
VITAL_RANGES: dict[str, tuple[float, float]] = {
    "systolic_mmhg": (50, 300),
    "diastolic_mmhg": (20, 200),
    "heart_rate_bpm": (20, 250),
    "spo2_pct": (50, 100),
    "weight_kg": (HUMAN_WEIGHT_MIN_KG, HUMAN_WEIGHT_MAX_KG),
}


def check_vital(name: str, value: float) -> None:
    """Raise ValueError naming the field and its range when `value` is implausible."""
    low, high = VITAL_RANGES[name]
    whole = name != "weight_kg"
    if whole and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be a whole number from {low:g} to {high:g}")
    if not math.isfinite(value) or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{name} must be {kind} from {low:g} to {high:g}")


@dataclass(frozen=True)
class BaselineVitals:
    systolic_mmhg: int
    diastolic_mmhg: int
    heart_rate_bpm: int
    spo2_pct: int
    weight_kg: float

    def __post_init__(self) -> None:
        for name in VITAL_RANGES:
            check_vital(name, getattr(self, name))
        if self.diastolic_mmhg >= self.systolic_mmhg:
            raise ValueError("diastolic_mmhg must be below systolic_mmhg")


@dataclass(frozen=True)
class ScreeningInput:
    answers: Mapping[str, Answer]
    vitals: BaselineVitals | None = None
    ymrs_total: int | None = None
    ymrs_override_reason: str | None = None
    pregnancy: PregnancyStatus | None = None
    pregnancy_test_on: date | None = None
    # From clinical.resistance; None when it was not evaluated (it is then not a finding).
    resistance_meets: bool | None = None
    # The items asked: the current checklist, or for a signed screening the one it was signed
    # with (`checklist_signed_with`).
    checklist: tuple[ChecklistItem, ...] = CHECKLIST

    def __post_init__(self) -> None:
        unknown = set(self.answers) - KNOWN_ITEM_KEYS
        if unknown:
            raise ValueError(f"unknown checklist items: {', '.join(sorted(unknown))}")
        if self.ymrs_total is not None and not 0 <= self.ymrs_total <= 60:
            raise ValueError("ymrs_total must be from 0 to 60")


@dataclass(frozen=True)
class Finding:
    key: str
    kind: FindingKind
    message: str
    source: str


@dataclass(frozen=True)
class Missing:
    key: str
    label: str


@dataclass(frozen=True)
class EligibilityResult:
    outcome: Outcome
    findings: tuple[Finding, ...]
    unanswered: tuple[Missing, ...]

    @property
    def complete(self) -> bool:
        return not self.unanswered


def evaluate_eligibility(
    entry: ScreeningInput,
    *,
    settings: EligibilitySettings = DEFAULT_SETTINGS,
    limits: DosingLimits = DEFAULT_LIMITS,
) -> EligibilityResult:
    findings: list[Finding] = []
    missing: list[Missing] = []
    _check_items(entry.checklist, entry.answers, findings, missing)
    _check_vitals(entry.vitals, settings, limits, findings, missing)
    _check_ymrs(entry, settings, findings, missing)
    _check_pregnancy(entry, findings, missing)
    if entry.resistance_meets is False:
        findings.append(Finding(
            "treatment_resistance", FindingKind.CAUTION,
            "does not meet the ISBD 2025 definition of treatment resistance: the prescriber "
            "documents why ketamine is considered",
            "Vieta et al. 2025 (ISBD task force); docs/clinical-sources.md#treatment-resistance"))
    return EligibilityResult(_outcome(findings, missing), tuple(findings), tuple(missing))


def _outcome(findings: list[Finding], missing: list[Missing]) -> Outcome:
    if missing:
        return Outcome.INCOMPLETE
    if any(f.kind.blocks for f in findings):
        return Outcome.NOT_ELIGIBLE
    return Outcome.ELIGIBLE_WITH_CAUTIONS if findings else Outcome.ELIGIBLE


def _check_items(
    checklist: tuple[ChecklistItem, ...], answers: Mapping[str, Answer],
    findings: list[Finding], missing: list[Missing],
) -> None:
    for item in checklist:
        answer = answers.get(item.key)
        if answer is None or answer is Answer.UNKNOWN:
            missing.append(Missing(item.key, item.question))
        elif answer is item.flagged_by:
            kind = {ItemKind.CONTRAINDICATION: FindingKind.CONTRAINDICATION,
                    ItemKind.CAUTION: FindingKind.CAUTION,
                    ItemKind.REQUIREMENT: FindingKind.REQUIREMENT_NOT_MET}[item.kind]
            findings.append(Finding(item.key, kind, f"{item.question} {answer.value}: {item.why}",
                                    item.source))


def _check_vitals(
    vitals: BaselineVitals | None,
    settings: EligibilitySettings,
    limits: DosingLimits,
    findings: list[Finding],
    missing: list[Missing],
) -> None:
    if vitals is None:
        missing.append(Missing("vitals", "Baseline vital signs"))
        return
    bp = f"BP {vitals.systolic_mmhg}/{vitals.diastolic_mmhg} mmHg"
    g = settings.bp_gate
    gate = classify_bp(vitals.systolic_mmhg, vitals.diastolic_mmhg, g)
    if gate is BpGate.DEFER:
        findings.append(Finding(
            "baseline_bp", FindingKind.CONTRAINDICATION,
            f"{bp} is at or above {g.defer_sbp_min_mmhg}/{g.defer_dbp_min_mmhg}: "
            "defer and re-measure", source_of(g, "defer_sbp_min_mmhg")))
    elif gate is BpGate.REVIEW:
        findings.append(Finding(
            "baseline_bp", FindingKind.CAUTION,
            f"{bp} is above {g.review_sbp_above_mmhg}/{g.review_dbp_above_mmhg}: "
            "prescriber review before the first infusion",
            source_of(g, "review_sbp_above_mmhg")))
    if not limits.min_weight_kg <= vitals.weight_kg <= limits.max_weight_kg:
        findings.append(Finding(
            "weight", FindingKind.REQUIREMENT_NOT_MET,
            f"weight {vitals.weight_kg:g} kg is outside the clinic dosing range "
            f"{limits.min_weight_kg:g}-{limits.max_weight_kg:g} kg: no dose can be calculated",
            "clinic dosing limits (ketaflow.dosing.limits)"))


def _check_ymrs(
    entry: ScreeningInput,
    settings: EligibilitySettings,
    findings: list[Finding],
    missing: list[Missing],
) -> None:
    if entry.ymrs_total is None:
        missing.append(Missing("ymrs", "Baseline YMRS"))
        return
    if entry.ymrs_total < settings.ymrs_hypomania_min:
        return
    text = (f"baseline YMRS {entry.ymrs_total} >= {settings.ymrs_hypomania_min}: possible "
            "(hypo)mania")
    reason = (entry.ymrs_override_reason or "").strip()
    if reason:
        findings.append(Finding("ymrs", FindingKind.CAUTION,
                                f"{text}; the prescriber recorded a reason to proceed",
                                settings.source_of("ymrs_hypomania_min")))
    else:
        findings.append(Finding("ymrs", FindingKind.CONTRAINDICATION,
                                f"{text}: current (hypo)mania unless the prescriber records a "
                                "reason", settings.source_of("ymrs_hypomania_min")))


def _check_pregnancy(
    entry: ScreeningInput, findings: list[Finding], missing: list[Missing]
) -> None:
    status = entry.pregnancy
    if status is None:
        missing.append(Missing("pregnancy", "Pregnancy and breastfeeding status"))
    elif status is PregnancyStatus.NEGATIVE_TEST and entry.pregnancy_test_on is None:
        missing.append(Missing("pregnancy_test_on", "Date of the negative pregnancy test"))
    elif status is PregnancyStatus.PREGNANT:
        findings.append(Finding("pregnancy", FindingKind.CONTRAINDICATION,
                                "pregnant: ketamine treatment is not recommended in pregnancy",
                                f"{SPRAVATO_USPI} 8.1; {APA_2017} "
                                f"({SOURCES_DOC}#pregnancy-and-breastfeeding)"))
    elif status is PregnancyStatus.BREASTFEEDING:
        # A caution, not a block: the label's instruction is advice to the patient, who may
        # stop breastfeeding for the course.
        findings.append(Finding("pregnancy", FindingKind.CAUTION,
                                "breastfeeding: advise the patient not to breastfeed during "
                                "treatment", f"{SPRAVATO_USPI} 8.2 (lactation) "
                                f"({SOURCES_DOC}#pregnancy-and-breastfeeding)"))
