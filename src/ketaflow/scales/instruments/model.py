"""The shape of an instrument definition: items, options, bands, codes and licence position.

Instruments are plain frozen data so that scoring, forms, FHIR export and documentation all read the
same definition. Nothing here knows about a database or a web page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

LOINC = "http://loinc.org"
# Local code system for scores that have no LOINC code (QIDS-SR16, MADRS, YMRS, ...).
KETAFLOW_SCORES = "https://ketaflow.org/fhir/CodeSystem/scale-scores"


class Rater(StrEnum):
    """Who fills the instrument in."""

    SELF = "self"
    CLINICIAN = "clinician"
    NURSE = "nurse"


class Licence(StrEnum):
    """What ketaflow may ship for the instrument (docs/clinical-sources.md#rating-scales)."""

    # Full item wording may be shipped (public domain-like, or criteria that are clinical facts).
    PUBLIC_WORDING = "public-wording"
    # Copyrighted wording: ship item names and scoring only; clinics load licensed wording.
    NAMES_ONLY = "names-only"
    # C-SSRS: electronic wording is licensed exclusively; record clinician-entered answers only.
    NO_ELECTRONIC_WORDING = "no-electronic-wording"


class ScoringRule(StrEnum):
    """How item scores become a total."""

    SUM = "sum"  # plain sum of the items that count toward the total
    DOMAIN_MAX = "domain-max"  # QIDS-SR16: sum over domains, each the max of its items
    RISK_LEVEL = "risk-level"  # C-SSRS screener: no total, a risk level from yes/no answers


@dataclass(frozen=True)
class Code:
    """A coding (FHIR Coding without the version)."""

    system: str
    code: str
    display: str


@dataclass(frozen=True)
class Option:
    """One response option: its score and a short label that is safe to ship."""

    score: int
    label: str


@dataclass(frozen=True)
class Item:
    """One question or rated symptom.

    `name` is a short item name (always safe to ship). `text` is the full wording and is only set
    where the licence allows it; otherwise the display falls back to the name or a wording pack.
    """

    id: str
    number: int
    name: str
    options: tuple[Option, ...]
    text: str | None = None
    code: Code | None = None
    # False for items charted alongside but not summed (side-effect checklist tolerability).
    in_total: bool = True
    # Set when the score is fixed by rule and the item is not asked (PADSS bleeding for ketamine).
    fixed_score: int | None = None
    fixed_reason: str | None = None
    # C-SSRS skip logic: the item is asked only when this item was answered yes.
    asked_if_yes: str | None = None
    # Printed number where it differs from `number` (C-SSRS "6b").
    number_label: str | None = None

    @property
    def ref(self) -> str:
        """The item's number as a person reads it: "3", or "6b"."""
        return self.number_label or str(self.number)

    @property
    def scores(self) -> tuple[int, ...]:
        return tuple(option.score for option in self.options)

    @property
    def min_score(self) -> int:
        return min(self.scores)

    @property
    def max_score(self) -> int:
        return max(self.scores)

    @property
    def lowest(self) -> int:
        """Lowest score the item can contribute (its fixed score when scored by rule)."""
        return self.min_score if self.fixed_score is None else self.fixed_score

    @property
    def highest(self) -> int:
        return self.max_score if self.fixed_score is None else self.fixed_score

    @property
    def is_asked(self) -> bool:
        return self.fixed_score is None


@dataclass(frozen=True)
class Band:
    """A severity band; `low` and `high` are inclusive total scores."""

    label: str
    low: int
    high: int

    def contains(self, total: int) -> bool:
        return self.low <= total <= self.high


@dataclass(frozen=True)
class Domain:
    """A QIDS-SR16 domain: its score is the maximum of its items."""

    id: str
    name: str
    item_ids: tuple[str, ...]


@dataclass(frozen=True)
class Instrument:
    """A complete instrument definition."""

    id: str
    name: str
    version: str
    rater: Rater
    recall_period: str
    items: tuple[Item, ...]
    rule: ScoringRule
    citation: str
    licence: Licence
    licence_note: str
    bands: tuple[Band, ...] = ()
    domains: tuple[Domain, ...] = ()
    attribution: str | None = None
    preamble: str | None = None
    total_code: Code | None = None
    panel_code: Code | None = None
    # Names of the ScaleThresholds fields (clinic settings) that apply to this instrument.
    thresholds: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def asked_items(self) -> tuple[Item, ...]:
        """Items the rater answers, in order (fixed-by-rule items excluded)."""
        return tuple(item for item in self.items if item.is_asked)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    @property
    def min_total(self) -> int | None:
        if self.rule is ScoringRule.RISK_LEVEL:
            return None
        if self.rule is ScoringRule.DOMAIN_MAX:
            return sum(
                max(self.item(item_id).lowest for item_id in domain.item_ids)
                for domain in self.domains
            )
        return sum(item.lowest for item in self._total_parts())

    @property
    def max_total(self) -> int | None:
        if self.rule is ScoringRule.RISK_LEVEL:
            return None
        if self.rule is ScoringRule.DOMAIN_MAX:
            return sum(
                max(self.item(item_id).highest for item_id in domain.item_ids)
                for domain in self.domains
            )
        return sum(item.highest for item in self._total_parts())

    def _total_parts(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.in_total)


def scored_options(low: int, high: int) -> tuple[Option, ...]:
    """Options labelled by their number only: used where anchor wording is copyrighted."""
    return tuple(Option(score, str(score)) for score in range(low, high + 1))
