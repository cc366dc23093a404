"""The clinic's rescue-medication formulary (a clinic setting; these are the shipped examples).

The clinical reference lists ondansetron, labetalol/clonidine and midazolam as examples of what a
clinic formulary holds; doses and routes here are the clinic's to set and are *unverified* house
defaults. A dose outside an item's range is refused, naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormularyItem:
    key: str
    name: str
    indication: str
    routes: tuple[str, ...]
    min_dose_mg: float
    max_dose_mg: float


DEFAULT_FORMULARY: tuple[FormularyItem, ...] = (
    FormularyItem("ondansetron", "Ondansetron", "nausea or vomiting", ("iv", "po"), 4, 8),
    FormularyItem("labetalol", "Labetalol", "raised blood pressure", ("iv",), 5, 20),
    FormularyItem("clonidine", "Clonidine", "raised blood pressure", ("po",), 0.1, 0.2),
    FormularyItem("midazolam", "Midazolam", "agitation or distressing emergence", ("iv",),
                  0.5, 2),
)
FORMULARY_BY_KEY = {item.key: item for item in DEFAULT_FORMULARY}
