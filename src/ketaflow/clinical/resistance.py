"""Treatment-resistant bipolar depression per the ISBD task force 2025 definition.

No significant, sustained response after >= 2 approved, adequately dosed treatments of sufficient
duration with verified adherence (Vieta et al. 2025; docs/clinical-sources.md#treatment-resistance).
Each trial is judged against the adequacy table for the patient's bipolar type and every judgement
carries its reason, so the screening page can show "which trials count and why".

Choices made here, each stated in the reasons the evaluation returns:
- A trial stopped because it was not tolerated does not count: intolerance is not non-response.
- A dose above the labelled range still counts as adequately dosed (it is not *under*-dosed); the
  reason says it was above the range.
- Two trials of the same regimen count once: the definition asks for two treatments.
- Drugs outside an approved regimen (lithium, lamotrigine, antidepressants...) are recorded as
  history. Earlier definitions counted, for example, lithium >= 0.8 mmol/L for 6 weeks; under
  ISBD 2025 they do not count. When such a drug is given alongside an approved regimen it is
  treated as background and the approved regimen is judged on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from ketaflow.clinical import drug_names

SOURCE_ISBD_2025 = (
    "ISBD task force 2025 definition of treatment-resistant bipolar depression "
    "(Vieta et al., Bipolar Disord 2025, doi:10.1111/bdi.70048; "
    "docs/clinical-sources.md#treatment-resistance)"
)
SOURCE_EARLIER = (
    "earlier definitions, e.g. lithium >= 0.8 mmol/L for 6 weeks (common practice, unverified: "
    "may be recorded as history; docs/clinical-sources.md#treatment-resistance)"
)
REQUIRED_ADEQUATE_TRIALS = 2
LITHIUM_EARLIER_LEVEL_MMOL_PER_L = 0.8
LITHIUM_EARLIER_WEEKS = 6.0


class BipolarType(StrEnum):
    BIPOLAR_I = "bipolar_i"
    BIPOLAR_II = "bipolar_ii"

    @property
    def label(self) -> str:
        return "bipolar I" if self is BipolarType.BIPOLAR_I else "bipolar II"


class TrialResponse(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    RESPONSE = "response"
    REMISSION = "remission"
    NOT_TOLERATED = "not_tolerated"


@dataclass(frozen=True)
class DoseRange:
    drug: str
    min_mg_per_day: float
    max_mg_per_day: float

    def text(self) -> str:
        if self.min_mg_per_day == self.max_mg_per_day:
            return f"{_num(self.min_mg_per_day)} mg/d"
        return f"{_num(self.min_mg_per_day)}-{_num(self.max_mg_per_day)} mg/d"


@dataclass(frozen=True)
class AdequateRegimen:
    """One row of the adequacy table: one or two drugs, their doses, and the minimum duration."""

    name: str
    components: tuple[DoseRange, ...]
    min_weeks: float
    bipolar_types: frozenset[BipolarType]
    source: str = SOURCE_ISBD_2025

    @property
    def drugs(self) -> frozenset[str]:
        return frozenset(c.drug for c in self.components)


_BOTH = frozenset(BipolarType)
_BP1 = frozenset({BipolarType.BIPOLAR_I})

ADEQUACY_TABLE: tuple[AdequateRegimen, ...] = (
    AdequateRegimen("quetiapine", (DoseRange("quetiapine", 300, 600),), 8, _BOTH),
    AdequateRegimen("lurasidone", (DoseRange("lurasidone", 20, 120),), 6, _BP1),
    AdequateRegimen(
        "olanzapine + fluoxetine",
        (DoseRange("olanzapine", 6, 12), DoseRange("fluoxetine", 25, 75)),
        8,
        _BP1,
    ),
    AdequateRegimen("cariprazine", (DoseRange("cariprazine", 1.5, 3),), 6, _BP1),
    AdequateRegimen("lumateperone", (DoseRange("lumateperone", 42, 42),), 6, _BOTH),
)

def normalise_drug(name: str) -> str:
    """Lower-case generic name, so 'Seroquel XR' and 'quetiapine' meet in one table row. Names
    and aliases come from the one list the medication catalogue uses (clinical.drug_names)."""
    return drug_names.generic_or_typed(name)


def _component_doses(drugs: tuple[tuple[str, float], ...]) -> dict[str, float]:
    """Each generic drug with its mg/day. A fixed-dose combination (Symbyax, "olanzapine/
    fluoxetine", "OFC"...) is its components: its own dose is the first component's, and the
    second drug's dose, when the trial records one, is the second component's, whatever name it
    was recorded under (the component, the combination again, or blank)."""
    doses: dict[str, float] = {}
    names = [normalise_drug(name) for name, _ in drugs]
    combination = next((n for n in names if n in drug_names.COMBINATIONS), None)
    if combination is None:
        return {name: dose for name, (_, dose) in zip(names, drugs, strict=True)}
    components = drug_names.COMBINATIONS[combination]
    first = names.index(combination)
    doses[components[0]] = drugs[first][1]
    for index, (name, (_, dose)) in enumerate(zip(names, drugs, strict=True)):
        if index == first:
            continue
        if name in ("", combination, *components[1:]):
            doses[components[1]] = dose
        else:
            doses[name] = dose
    return doses


@dataclass(frozen=True)
class TrialInput:
    """One prior treatment trial as the clinician recorded it.

    `drugs` holds (name, dose_mg_per_day) pairs: one for monotherapy, two for a combination such as
    olanzapine + fluoxetine. `serum_level_mmol_per_l` matters only for lithium history.
    """

    drugs: tuple[tuple[str, float], ...]
    duration_weeks: float
    adherence_verified: bool
    response: TrialResponse
    serum_level_mmol_per_l: float | None = None

    def __post_init__(self) -> None:
        if not self.drugs:
            raise ValueError("a trial needs at least one drug")
        for index, (name, dose) in enumerate(self.drugs):
            # A combination's second dose may be recorded without repeating a name.
            if not name.strip() and not (index > 0 and self._has_combination):
                raise ValueError("drug name must not be empty")
            if not math.isfinite(dose) or dose <= 0:
                raise ValueError("dose_mg_per_day must be a positive number")
        if not math.isfinite(self.duration_weeks) or self.duration_weeks < 0:
            raise ValueError("duration_weeks must be zero or more")
        level = self.serum_level_mmol_per_l
        if level is not None and (not math.isfinite(level) or level < 0):
            raise ValueError("serum_level_mmol_per_l must be zero or more")

    @property
    def _has_combination(self) -> bool:
        return any(normalise_drug(n) in drug_names.COMBINATIONS for n, _ in self.drugs if n)

    @property
    def doses(self) -> dict[str, float]:
        """Generic drug -> mg/day, a fixed-dose combination split into its components."""
        return _component_doses(self.drugs)

    def describe(self) -> str:
        parts = " + ".join(f"{n} {_num(d)} mg/d" for n, d in self.doses.items())
        return f"{parts} for {_num(self.duration_weeks)} weeks"


@dataclass(frozen=True)
class TrialEvaluation:
    """Whether one trial counts toward the definition, and every reason why (or why not)."""

    index: int
    trial: TrialInput
    counts: bool
    reasons: tuple[str, ...]
    regimen: AdequateRegimen | None
    source: str

    @property
    def history_only(self) -> bool:
        """True when no approved regimen was found: the trial is recorded, never counted."""
        return self.regimen is None


@dataclass(frozen=True)
class ResistanceEvaluation:
    bipolar_type: BipolarType
    trials: tuple[TrialEvaluation, ...]
    adequate_failed_count: int
    required_count: int
    source: str = SOURCE_ISBD_2025

    @property
    def meets(self) -> bool:
        return self.adequate_failed_count >= self.required_count

    @property
    def verdict(self) -> str:
        status = "meets" if self.meets else "does not meet"
        return (
            f"{status} the ISBD 2025 definition of treatment-resistant bipolar depression: "
            f"{self.adequate_failed_count} of {self.required_count} required adequate trials "
            "without sustained response"
        )


def evaluate_resistance(
    bipolar_type: BipolarType,
    trials: tuple[TrialInput, ...] | list[TrialInput],
    *,
    required_count: int = REQUIRED_ADEQUATE_TRIALS,
) -> ResistanceEvaluation:
    """Judge each trial in order, counting each regimen once, and give the overall verdict."""
    if required_count < 1:
        raise ValueError("required_count must be at least 1")
    evaluations: list[TrialEvaluation] = []
    counted: dict[str, int] = {}
    for index, trial in enumerate(trials, start=1):
        evaluation = evaluate_trial(bipolar_type, trial, index=index)
        regimen = evaluation.regimen
        if evaluation.counts and regimen is not None:
            if regimen.name in counted:
                evaluation = _as_duplicate(evaluation, counted[regimen.name])
            else:
                counted[regimen.name] = index
        evaluations.append(evaluation)
    return ResistanceEvaluation(
        bipolar_type=bipolar_type,
        trials=tuple(evaluations),
        adequate_failed_count=len(counted),
        required_count=required_count,
    )


def evaluate_trial(
    bipolar_type: BipolarType, trial: TrialInput, *, index: int = 1
) -> TrialEvaluation:
    """Judge one trial on its own (regimen, bipolar type, dose, duration, adherence, response)."""
    regimen, background = _match_regimen(trial)
    if regimen is None:
        return TrialEvaluation(index, trial, False, _history_reasons(trial), None, SOURCE_EARLIER)
    reasons: list[str] = []
    if background:
        reasons.append(
            f"{', '.join(sorted(background))} treated as background: not part of an approved "
            "regimen, so the regimen is judged on its own"
        )
    failures = _adequacy_failures(bipolar_type, trial, regimen)
    failures += _outcome_failures(trial)
    reasons += failures
    if not failures:
        reasons.append(_counts_reason(trial, regimen))
    return TrialEvaluation(index, trial, not failures, tuple(reasons), regimen, regimen.source)


def _match_regimen(trial: TrialInput) -> tuple[AdequateRegimen | None, frozenset[str]]:
    """The largest table row whose drugs are all in the trial, and the drugs left over."""
    drugs = frozenset(trial.doses)
    candidates = [r for r in ADEQUACY_TABLE if r.drugs <= drugs]
    if not candidates:
        return None, drugs
    best = max(candidates, key=lambda r: len(r.components))
    return best, drugs - best.drugs


def _adequacy_failures(
    bipolar_type: BipolarType, trial: TrialInput, regimen: AdequateRegimen
) -> list[str]:
    failures: list[str] = []
    if bipolar_type not in regimen.bipolar_types:
        failures.append(
            f"{regimen.name} is not approved for {bipolar_type.label} depression "
            "(ISBD 2025 adequacy table)"
        )
    doses = trial.doses
    for component in regimen.components:
        dose = doses[component.drug]
        if dose < component.min_mg_per_day:
            failures.append(
                f"{component.drug} {_num(dose)} mg/d is below the adequate {component.text()}"
            )
    if trial.duration_weeks < regimen.min_weeks:
        failures.append(
            f"{_num(trial.duration_weeks)} weeks < {_num(regimen.min_weeks)} weeks "
            f"required for {regimen.name}"
        )
    return failures


def _outcome_failures(trial: TrialInput) -> list[str]:
    failures: list[str] = []
    if not trial.adherence_verified:
        failures.append("adherence not verified")
    if trial.response in (TrialResponse.RESPONSE, TrialResponse.REMISSION):
        failures.append(f"responded ({trial.response.value}): not a failed trial")
    elif trial.response is TrialResponse.NOT_TOLERATED:
        failures.append(
            "not tolerated: intolerance is not non-response, so the trial does not count"
        )
    return failures


def _counts_reason(trial: TrialInput, regimen: AdequateRegimen) -> str:
    doses = trial.doses
    above = [
        f"{c.drug} {_num(doses[c.drug])} mg/d is above the labelled {c.text()}"
        for c in regimen.components
        if doses[c.drug] > c.max_mg_per_day
    ]
    outcome = "no response" if trial.response is TrialResponse.NONE else "partial response only"
    text = (
        f"counts: {regimen.name} adequately dosed for >= {_num(regimen.min_weeks)} weeks, "
        f"adherence verified, {outcome}"
    )
    return f"{text} ({'; '.join(above)}; counted as adequately dosed)" if above else text


def _history_reasons(trial: TrialInput) -> tuple[str, ...]:
    drugs = sorted(trial.doses)
    partial = [r.name for r in ADEQUACY_TABLE if r.drugs & set(drugs) and not r.drugs <= set(drugs)]
    reasons = [
        f"{' + '.join(drugs)} is not an approved treatment for bipolar depression under ISBD 2025: "
        "recorded as history, does not count"
    ]
    if partial:
        reasons.append(f"the approved regimen is {', '.join(partial)} (all its drugs together)")
    combination = next((normalise_drug(n) for n, _ in trial.drugs
                        if normalise_drug(n) in drug_names.COMBINATIONS), None)
    if combination is not None:
        first, second = drug_names.COMBINATIONS[combination][:2]
        reasons.append(f"{combination} was recorded with one dose, taken as the {first} dose: "
                       f"record the {second} dose as the second drug's dose")
    if "lithium" in drugs:
        reasons.append(_lithium_history(trial))
    return tuple(reasons)


def _lithium_history(trial: TrialInput) -> str:
    level = trial.serum_level_mmol_per_l
    earlier = (
        f"the earlier lithium >= {_num(LITHIUM_EARLIER_LEVEL_MMOL_PER_L)} mmol/L for "
        f"{_num(LITHIUM_EARLIER_WEEKS)} weeks definition"
    )
    if level is None:
        return f"no lithium level recorded, so {earlier} cannot be checked (history only)"
    met = (
        level >= LITHIUM_EARLIER_LEVEL_MMOL_PER_L
        and trial.duration_weeks >= LITHIUM_EARLIER_WEEKS
    )
    verb = "would have met" if met else "would not have met"
    return f"lithium {_num(level)} mmol/L {verb} {earlier}; it does not count toward ISBD 2025"


def _as_duplicate(evaluation: TrialEvaluation, first_index: int) -> TrialEvaluation:
    # A counted trial's last reason is its "counts: ..." line; it no longer holds.
    reason = (
        f"same regimen as trial {first_index}: the definition asks for two different "
        "treatments, so it counts once"
    )
    return TrialEvaluation(
        evaluation.index, evaluation.trial, False, (*evaluation.reasons[:-1], reason),
        evaluation.regimen, evaluation.source,
    )


def _num(value: float) -> str:
    return f"{value:.10g}"
