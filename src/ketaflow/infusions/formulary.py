"""The clinic formulary: the infusion drug an order may name, and the rescue medications.

Both are clinic settings; these are the shipped defaults, defined here and nowhere else.

The infusion drug. An order names a formulary drug by key and one of its listed concentrations,
never free text: a typed "ketamine 10" could be read as 10 mg/mL or a 10 mL vial, and free text
cannot be checked against the concentrations the pharmacy stocks. Racemic ketamine
hydrochloride is the studied drug (docs/clinical-sources.md#formulary). US vials are labelled in
ketamine *base* equivalent: 10 mg/mL (20 mL vial, 200 mg), 50 mg/mL (10 mL, 500 mg) and
100 mg/mL (5 mL, 500 mg); 10 mg base = 11.53 mg hydrochloride. For an infusion the label
gives 1 mg/mL or, where fluid is restricted, 2 mg/mL (500 mg in 500 or 250 mL of 5% dextrose or
0.9% sodium chloride); the 10 mg/mL vial is used undiluted (syringe pump); the 100 mg/mL vial
must not be given IV undiluted. Source: Ketalar (ketamine hydrochloride) injection USPI,
Par Pharmaceutical, revised 10/2024, sections 2 and 3. Offering only 1, 2 and 10 mg/mL for an
order is a ketaflow house default (*unverified*); a clinic that runs 50 mg/mL adds it here.

The rescue medications. Ondansetron, labetalol/clonidine and midazolam are examples of what a
clinic formulary holds (docs/clinical-sources.md#rescue-medications); doses and routes here are
the clinic's to set and are *unverified* house defaults. A dose outside an item's range is
refused, naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaflow.dosing import SaltForm

KETALAR_LABEL = ("Ketalar (ketamine hydrochloride) injection USPI, Par Pharmaceutical, "
                 "rev. 10/2024, sections 2-3")


@dataclass(frozen=True)
class InfusionDrug:
    """A drug an infusion order may name, with the concentrations it may run at."""

    key: str
    name: str
    # The salt the concentrations are labelled in (US ketamine vials: base equivalent).
    concentration_salt: SaltForm
    # What an order may run: diluted bags and the undiluted low-strength vial.
    order_concentrations_mg_per_ml: tuple[float, ...]
    # Vials as supplied, (mg/mL, mL): what the controlled-substance ledger receives.
    vials: tuple[tuple[float, float], ...]
    source: str

    @property
    def vial_concentrations_mg_per_ml(self) -> tuple[float, ...]:
        return tuple(sorted({concentration for concentration, _ in self.vials}))

    @property
    def largest_vial_mg(self) -> float:
        return max(concentration * volume for concentration, volume in self.vials)

    def label(self, concentration_mg_per_ml: float) -> str:
        return (f"{self.name} {concentration_mg_per_ml:g} mg/mL "
                f"(as {self.concentration_salt.value})")


KETAMINE_HCL = InfusionDrug(
    key="ketamine_hcl", name="Ketamine hydrochloride", concentration_salt=SaltForm.BASE,
    order_concentrations_mg_per_ml=(1.0, 2.0, 10.0),
    vials=((10.0, 20.0), (50.0, 10.0), (100.0, 5.0)), source=KETALAR_LABEL)
INFUSION_DRUGS: tuple[InfusionDrug, ...] = (KETAMINE_HCL,)
INFUSION_DRUGS_BY_KEY = {drug.key: drug for drug in INFUSION_DRUGS}


def drug_name(key: str) -> str:
    """The display name of a formulary drug key (orders written before the formulary kept
    their text, which is shown as it was)."""
    drug = INFUSION_DRUGS_BY_KEY.get(key)
    return key if drug is None else drug.name


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
