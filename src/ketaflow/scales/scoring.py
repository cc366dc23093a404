"""The scoring engine: validated answers in, a frozen result with total, band and flags out.

Answers are refused, never repaired: a missing, extra or out-of-range answer raises
ScaleInputError naming the item and the allowed range, so no partial total is ever produced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ketaflow.scales.instruments import (
    Band,
    Instrument,
    Item,
    RiskLevel,
    ScoringRule,
    cssrs_risk,
    get_instrument,
)
from ketaflow.scales.thresholds import DEFAULT_THRESHOLDS, ScaleThresholds

# One answer: an integer score, a yes/no (C-SSRS: True/False or 1/0), or None for "left out".
# Typed as object because answers arrive from forms and the command line and validating them is
# this module's job: anything else is refused with a ScaleInputError.
Answer = object
Answers = Sequence[Answer] | Mapping[str, Answer]


class Flag(StrEnum):
    """Signals a single rating raises; what to do about them is decided elsewhere."""

    SUICIDALITY_ITEM_POSITIVE = "suicidality-item-positive"
    CSSRS_SCREEN_NEEDED = "cssrs-screen-needed"
    MADRS_ITEM10_SCREEN = "madrs-item10-screen"
    MADRS_ITEM10_SAME_DAY_REVIEW = "madrs-item10-same-day-review"
    # A suicidality item at the level of the urgent pathway (PHQ-9 item 9, QIDS-SR16 item 12,
    # MADRS item 10; C-SSRS high has its own flag).
    SUICIDALITY_URGENT = "suicidality-urgent"
    POSSIBLE_SWITCH = "possible-switch"
    PROBABLE_MANIA = "probable-mania"
    CSSRS_MODERATE = "cssrs-moderate"
    CSSRS_HIGH = "cssrs-high"
    DISCHARGE_CRITERION_MET = "discharge-criterion-met"
    DISCHARGE_CRITERION_NOT_MET = "discharge-criterion-not-met"
    SEVERE_SIDE_EFFECT = "severe-side-effect"


class ScaleInputError(ValueError):
    """Answers that cannot be scored. The message names the item and what it allows."""

    def __init__(
        self,
        instrument_id: str,
        message: str,
        *,
        item_id: str | None = None,
        allowed: str | None = None,
        got: object = None,
    ) -> None:
        super().__init__(message)
        self.instrument_id = instrument_id
        self.item_id = item_id
        self.allowed = allowed
        self.got = got


@dataclass(frozen=True)
class ScoreResult:
    """One scored rating. `answers` maps item id to score (C-SSRS: 1 yes, 0 no; skipped absent)."""

    instrument_id: str
    instrument_version: str
    answers: Mapping[str, int]
    total: int | None
    total_range: tuple[int, int] | None
    severity: Band | None
    subscores: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    flags: tuple[Flag, ...] = ()
    risk_level: RiskLevel | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the CLI's output and the API's payload)."""
        severity = (
            None
            if self.severity is None
            else {"label": self.severity.label, "low": self.severity.low,
                  "high": self.severity.high}
        )
        return {
            "instrument": self.instrument_id,
            "version": self.instrument_version,
            "total": self.total,
            "total_range": None if self.total_range is None else list(self.total_range),
            "severity": severity,
            "subscores": dict(self.subscores),
            "flags": [str(flag) for flag in self.flags],
            "risk_level": None if self.risk_level is None else str(self.risk_level),
            "answers": dict(self.answers),
        }


def _label(instrument: Instrument, item: Item) -> str:
    return f"{instrument.id} item {item.ref} ({item.id})"


def _allowed(instrument: Instrument, item: Item) -> str:
    if instrument.rule is ScoringRule.RISK_LEVEL:
        return "yes or no"
    return f"an integer {item.min_score}-{item.max_score}"


def _by_item(instrument: Instrument, answers: Answers) -> dict[str, Answer]:
    """Key the answers by item id, refusing wrong counts and unknown ids."""
    asked = instrument.asked_items
    if isinstance(answers, Mapping):
        known = {item.id for item in instrument.items}
        for key in answers:
            if key not in known:
                raise ScaleInputError(instrument.id, f"{instrument.id} has no item {key!r}",
                                      item_id=str(key))
        return dict(answers)
    if isinstance(answers, str | bytes):
        raise TypeError("answers must be a sequence or a mapping, not a string")
    if len(answers) < len(asked):
        missing = asked[len(answers)]
        raise ScaleInputError(
            instrument.id,
            f"{_label(instrument, missing)} is missing: {instrument.id} expects {len(asked)} "
            f"answers (got {len(answers)})",
            item_id=missing.id, allowed=_allowed(instrument, missing))
    if len(answers) > len(asked):
        raise ScaleInputError(
            instrument.id,
            f"{instrument.id} expects {len(asked)} answers (got {len(answers)}): answer "
            f"{len(asked) + 1} has no item")
    return {item.id: value for item, value in zip(asked, answers, strict=True)}


def _check_score(instrument: Instrument, item: Item, value: Answer) -> int:
    label = _label(instrument, item)
    allowed = _allowed(instrument, item)
    if item.fixed_score is not None:
        # Accept the rule's own value so stored results can be re-scored; refuse anything else.
        if value is None or (not isinstance(value, bool) and value == item.fixed_score):
            return item.fixed_score
        raise ScaleInputError(
            instrument.id,
            f"{label} is scored {item.fixed_score} by rule and is not asked (got {value!r})",
            item_id=item.id, allowed=str(item.fixed_score), got=value)
    if value is None:
        raise ScaleInputError(instrument.id, f"{label} is missing: must be {allowed}",
                              item_id=item.id, allowed=allowed)
    if isinstance(value, bool) or not isinstance(value, int) or value not in item.scores:
        raise ScaleInputError(instrument.id, f"{label} must be {allowed} (got {value!r})",
                              item_id=item.id, allowed=allowed, got=value)
    return value


def _check_yes_no(instrument: Instrument, answers: Mapping[str, Answer]) -> dict[str, bool]:
    """C-SSRS: validate yes/no answers against the skip logic."""
    given: dict[str, bool] = {}
    for item in instrument.items:
        value = answers.get(item.id)
        label = _label(instrument, item)
        gate = None if item.asked_if_yes is None else instrument.item(item.asked_if_yes)
        asked = gate is None or given.get(gate.id, False)
        if not asked:
            if value is not None:
                assert gate is not None  # an unasked item always has a gate
                raise ScaleInputError(
                    instrument.id,
                    f"{label} must be left out because item {gate.ref} is no "
                    f"(got {_yes_no_text(value)})",
                    item_id=item.id, allowed="left out", got=value)
            continue
        if value is None:
            reason = "" if gate is None else f" because item {gate.ref} is yes"
            raise ScaleInputError(instrument.id, f"{label} is missing: must be yes or no{reason}",
                                  item_id=item.id, allowed="yes or no")
        if value not in (0, 1) or not isinstance(value, int):
            raise ScaleInputError(instrument.id, f"{label} must be yes or no (got {value!r})",
                                  item_id=item.id, allowed="yes or no", got=value)
        given[item.id] = bool(value)
    return given


def _yes_no_text(value: object) -> str:
    if value is True or value == 1:
        return "yes"
    if value is False or value == 0:
        return "no"
    return repr(value)


def _severity(instrument: Instrument, total: int) -> Band | None:
    return next((band for band in instrument.bands if band.contains(total)), None)


def _total_and_subscores(instrument: Instrument, scores: Mapping[str, int]
                         ) -> tuple[int, dict[str, int]]:
    subscores = {item.id: scores[item.id] for item in instrument.items if not item.in_total}
    if instrument.rule is ScoringRule.DOMAIN_MAX:
        domains = {d.id: max(scores[i] for i in d.item_ids) for d in instrument.domains}
        return sum(domains.values()), {**domains, **subscores}
    return sum(scores[item.id] for item in instrument.items if item.in_total), subscores


def score(
    instrument: str | Instrument,
    answers: Answers,
    thresholds: ScaleThresholds = DEFAULT_THRESHOLDS,
) -> ScoreResult:
    """Score one completed rating.

    `answers` is either a sequence in item order (asked items only: the PADSS bleeding item,
    scored by rule, is left out; C-SSRS uses None for items the skip logic leaves out) or a
    mapping from item id to answer. Raises ScaleInputError on any incomplete or invalid answer and
    UnknownInstrumentError for an unknown instrument id.
    """
    definition = get_instrument(instrument)
    keyed = _by_item(definition, answers)
    if definition.rule is ScoringRule.RISK_LEVEL:
        yes_no = _check_yes_no(definition, keyed)
        risk = cssrs_risk(yes_no)
        stored = {item_id: int(value) for item_id, value in yes_no.items()}
        return ScoreResult(
            instrument_id=definition.id, instrument_version=definition.version,
            answers=MappingProxyType(stored), total=None, total_range=None, severity=None,
            flags=_flags(definition.id, stored, None, risk, thresholds), risk_level=risk)
    scores = {item.id: _check_score(definition, item, keyed.get(item.id))
              for item in definition.items}
    total, subscores = _total_and_subscores(definition, scores)
    assert definition.min_total is not None and definition.max_total is not None
    return ScoreResult(
        instrument_id=definition.id,
        instrument_version=definition.version,
        answers=MappingProxyType(scores),
        total=total,
        total_range=(definition.min_total, definition.max_total),
        severity=_severity(definition, total),
        subscores=MappingProxyType(subscores),
        flags=_flags(definition.id, scores, total, None, thresholds),
    )


# --- flags ---------------------------------------------------------------------------------------
# Each rule sees the item scores, the total and the thresholds, and returns the flags it raises.
_FlagRule = Callable[[Mapping[str, int], int | None, ScaleThresholds], list[Flag]]


def _suicidality_item(item_id: str, setting: str, urgent_setting: str) -> _FlagRule:
    def rule(scores: Mapping[str, int], _total: int | None, t: ScaleThresholds) -> list[Flag]:
        flags = []
        if scores[item_id] >= getattr(t, setting):
            flags += [Flag.SUICIDALITY_ITEM_POSITIVE, Flag.CSSRS_SCREEN_NEEDED]
        if scores[item_id] >= getattr(t, urgent_setting):
            flags.append(Flag.SUICIDALITY_URGENT)
        return flags
    return rule


def _madrs(scores: Mapping[str, int], _total: int | None, t: ScaleThresholds) -> list[Flag]:
    item10 = scores["suicidal_thoughts"]
    flags = []
    if item10 >= t.madrs_item10_screen_min:
        flags += [Flag.SUICIDALITY_ITEM_POSITIVE, Flag.MADRS_ITEM10_SCREEN]
    if item10 >= t.madrs_item10_same_day_min:
        flags.append(Flag.MADRS_ITEM10_SAME_DAY_REVIEW)
    if item10 >= t.madrs_item10_urgent_min:
        flags.append(Flag.SUICIDALITY_URGENT)
    return flags


def _ymrs(_scores: Mapping[str, int], total: int | None, t: ScaleThresholds) -> list[Flag]:
    assert total is not None
    flags = [Flag.POSSIBLE_SWITCH] if total >= t.ymrs_possible_switch_min else []
    return flags + ([Flag.PROBABLE_MANIA] if total >= t.ymrs_probable_mania_min else [])


def _asrm(_scores: Mapping[str, int], total: int | None, t: ScaleThresholds) -> list[Flag]:
    assert total is not None
    return [Flag.POSSIBLE_SWITCH] if total >= t.asrm_possible_switch_min else []


def _discharge(setting: str) -> _FlagRule:
    def rule(_scores: Mapping[str, int], total: int | None, t: ScaleThresholds) -> list[Flag]:
        assert total is not None
        met = total >= getattr(t, setting)
        return [Flag.DISCHARGE_CRITERION_MET if met else Flag.DISCHARGE_CRITERION_NOT_MET]
    return rule


def _side_effects(scores: Mapping[str, int], _total: int | None, _t: ScaleThresholds
                  ) -> list[Flag]:
    # Grade 3 is "severe" on every symptom item; tolerability is on another scale.
    severe = any(value == 3 for key, value in scores.items() if key != "tolerability")
    return [Flag.SEVERE_SIDE_EFFECT] if severe else []


_FLAG_RULES: Mapping[str, _FlagRule] = MappingProxyType({
    "phq9": _suicidality_item("self_harm_thoughts", "phq9_item9_positive_min",
                              "phq9_item9_urgent_min"),
    "qids-sr16": _suicidality_item("death_suicide_thoughts", "qids_item12_positive_min",
                                   "qids_item12_urgent_min"),
    "madrs": _madrs,
    "ymrs": _ymrs,
    "asrm": _asrm,
    "aldrete": _discharge("aldrete_discharge_min"),
    "padss": _discharge("padss_discharge_min"),
    "side-effects": _side_effects,
})

_RISK_FLAGS = {RiskLevel.HIGH: [Flag.CSSRS_HIGH], RiskLevel.MODERATE: [Flag.CSSRS_MODERATE]}


def _flags(instrument_id: str, scores: Mapping[str, int], total: int | None,
           risk: RiskLevel | None, thresholds: ScaleThresholds) -> tuple[Flag, ...]:
    if risk is not None:
        return tuple(_RISK_FLAGS.get(risk, []))
    rule = _FLAG_RULES.get(instrument_id)
    return () if rule is None else tuple(rule(scores, total, thresholds))


def evaluate_flags(result: ScoreResult, thresholds: ScaleThresholds) -> tuple[Flag, ...]:
    """Flags for an existing result under (possibly changed) clinic thresholds."""
    return _flags(result.instrument_id, result.answers, result.total, result.risk_level,
                  thresholds)
