"""Drug catalogue for the medication history: class, diazepam equivalence and ketamine-relevant
interaction notes, each with its source (pure, stdlib only).

The catalogue is deliberately small: the drugs a bipolar-depression clinic sees most and those
whose interaction with ketamine matters. A drug not listed is recorded as typed, with the class the
clinician chooses, and simply carries no notes: absence of a note is not evidence of safety.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class DrugClass(StrEnum):
    MOOD_STABILISER = "mood_stabiliser"
    ANTIPSYCHOTIC = "antipsychotic"
    ANTIDEPRESSANT = "antidepressant"
    BENZODIAZEPINE = "benzodiazepine"
    STIMULANT = "stimulant"
    OTHER = "other"


CLASS_LABELS = {
    DrugClass.MOOD_STABILISER: "Mood stabilisers",
    DrugClass.ANTIPSYCHOTIC: "Antipsychotics",
    DrugClass.ANTIDEPRESSANT: "Antidepressants",
    DrugClass.BENZODIAZEPINE: "Benzodiazepines",
    DrugClass.STIMULANT: "Stimulants",
    DrugClass.OTHER: "Other",
}


class DoseUnit(StrEnum):
    MG_PER_DAY = "mg/day"
    MCG_PER_DAY = "mcg/day"
    MG_PER_WEEK = "mg/week"
    MG_PER_MONTH = "mg/month"  # long-acting injectables


class Interaction(StrEnum):
    BENZODIAZEPINE = "benzodiazepine"
    LAMOTRIGINE = "lamotrigine"
    CYP_INDUCER = "cyp_inducer"
    CYP_INHIBITOR = "cyp_inhibitor"
    SYMPATHOMIMETIC = "sympathomimetic"
    MAOI = "maoi"
    THEOPHYLLINE = "theophylline"
    CNS_DEPRESSANT = "cns_depressant"


@dataclass(frozen=True)
class InteractionNote:
    kind: Interaction
    severity: str  # "avoid" (do not co-administer), "caution" or "info"
    text: str
    source: str


_KETALAR = "Ketalar (ketamine) US prescribing information, revised 10/2024, drug interactions"
NOTES: dict[Interaction, InteractionNote] = {
    note.kind: note
    for note in (
        InteractionNote(
            Interaction.BENZODIAZEPINE,
            "caution",
            "Benzodiazepines with ketamine: profound sedation and respiratory depression are "
            "possible; a diazepam-equivalent load above 8 mg/day is linked to weaker ketamine "
            "response (the NIH bipolar ketamine trials excluded benzodiazepines).",
            f"{_KETALAR}; Andrashko et al. 2020; docs/clinical-sources.md#benzodiazepine-load",
        ),
        InteractionNote(
            Interaction.LAMOTRIGINE,
            "info",
            "Lamotrigine reduces ketamine's perceptual and dissociative side effects; its effect "
            "on antidepressant response is unknown.",
            "Anand A et al., Arch Gen Psychiatry 2000;57:270-6; "
            "docs/clinical-sources.md#interactions",
        ),
        InteractionNote(
            Interaction.CYP_INDUCER,
            "caution",
            "CYP2B6/CYP3A4 inducer: may lower ketamine exposure and weaken the effect of a "
            "weight-based dose.",
            "Ketamine is N-demethylated mainly by CYP2B6 and CYP3A4 (Ketalar prescribing "
            "information, clinical pharmacology, 12.3); docs/clinical-sources.md#interactions",
        ),
        InteractionNote(
            Interaction.CYP_INHIBITOR,
            "caution",
            "CYP2B6/CYP3A4 inhibitor: may raise ketamine exposure; watch sedation and "
            "dissociation.",
            "Ketamine is N-demethylated mainly by CYP2B6 and CYP3A4 (Ketalar prescribing "
            "information, clinical pharmacology, 12.3); docs/clinical-sources.md#interactions",
        ),
        InteractionNote(
            Interaction.SYMPATHOMIMETIC,
            "caution",
            "Stimulant/sympathomimetic: additive rise in blood pressure and heart rate; monitor "
            "vital signs closely.",
            _KETALAR,
        ),
        InteractionNote(
            Interaction.MAOI,
            "caution",
            "MAO inhibitor: risk of hypertensive response; monitor blood pressure closely.",
            "Spravato (esketamine) US prescribing information, drug interactions (7); "
            "docs/clinical-sources.md#interactions",
        ),
        InteractionNote(
            Interaction.THEOPHYLLINE,
            "avoid",
            "Theophylline/aminophylline lowers the seizure threshold with ketamine: do not "
            "co-administer.",
            _KETALAR,
        ),
        InteractionNote(
            Interaction.CNS_DEPRESSANT,
            "caution",
            "Opioid or other CNS depressant: profound sedation and respiratory depression are "
            "possible; monitor closely.",
            _KETALAR,
        ),
    )
}

BENZODIAZEPINE_SOURCE = (
    "Ashton CH, Benzodiazepines: How They Work and How to Withdraw, 2002 "
    "(approximate equivalents of diazepam 10 mg)"
)
# Andrashko et al. 2020 (unipolar, n = 47; docs/clinical-sources.md#benzodiazepine-load):
# above this, flag the load.
BENZODIAZEPINE_FLAG_ABOVE_MG_PER_DAY = 8.0
BENZODIAZEPINE_FLAG_TEXT = "linked to weaker ketamine response"


@dataclass(frozen=True)
class Drug:
    name: str
    drug_class: DrugClass
    interactions: tuple[Interaction, ...] = ()
    # Oral dose equivalent to diazepam 10 mg (Ashton 2002); only for benzodiazepines.
    equivalent_to_diazepam_10_mg: float | None = None
    aliases: tuple[str, ...] = ()

    @property
    def diazepam_mg_per_mg(self) -> float | None:
        if self.equivalent_to_diazepam_10_mg is None:
            return None
        return 10.0 / self.equivalent_to_diazepam_10_mg


_B, _MS, _AP, _AD, _ST, _OT = (
    DrugClass.BENZODIAZEPINE,
    DrugClass.MOOD_STABILISER,
    DrugClass.ANTIPSYCHOTIC,
    DrugClass.ANTIDEPRESSANT,
    DrugClass.STIMULANT,
    DrugClass.OTHER,
)
_BZ, _IND, _INH = (Interaction.BENZODIAZEPINE, Interaction.CYP_INDUCER, Interaction.CYP_INHIBITOR)
_SYM, _MAOI, _CNS = (Interaction.SYMPATHOMIMETIC, Interaction.MAOI, Interaction.CNS_DEPRESSANT)

_DRUGS = (
    # Benzodiazepines, with Ashton's equivalents of diazepam 10 mg.
    Drug("diazepam", _B, (_BZ,), 10, ("valium",)),
    Drug("alprazolam", _B, (_BZ,), 0.5, ("xanax",)),
    Drug("clonazepam", _B, (_BZ,), 0.5, ("klonopin", "rivotril")),
    Drug("lorazepam", _B, (_BZ,), 1, ("ativan",)),
    Drug("oxazepam", _B, (_BZ,), 20, ("serax",)),
    Drug("temazepam", _B, (_BZ,), 20, ("restoril",)),
    Drug("chlordiazepoxide", _B, (_BZ,), 25, ("librium",)),
    Drug("nitrazepam", _B, (_BZ,), 10, ("mogadon",)),
    Drug("clobazam", _B, (_BZ,), 20, ("frisium", "onfi")),
    # Mood stabilisers.
    Drug("lithium", _MS, aliases=("lithium carbonate", "lithium citrate", "priadel", "camcolit")),
    Drug("valproate", _MS, aliases=("valproic acid", "sodium valproate", "divalproex", "depakote")),
    Drug("lamotrigine", _MS, (Interaction.LAMOTRIGINE,), aliases=("lamictal",)),
    Drug("carbamazepine", _MS, (_IND,), aliases=("tegretol", "equetro")),
    Drug("oxcarbazepine", _MS, aliases=("trileptal",)),
    # Antipsychotics.
    Drug("quetiapine", _AP, aliases=("seroquel",)),
    Drug("lurasidone", _AP, aliases=("latuda",)),
    Drug("olanzapine", _AP, aliases=("zyprexa",)),
    Drug("olanzapine-fluoxetine", _AP, aliases=("symbyax", "olanzapine/fluoxetine")),
    Drug("cariprazine", _AP, aliases=("vraylar", "reagila")),
    Drug("lumateperone", _AP, aliases=("caplyta",)),
    Drug("aripiprazole", _AP, aliases=("abilify",)),
    Drug("risperidone", _AP, aliases=("risperdal",)),
    Drug("ziprasidone", _AP, aliases=("geodon",)),
    Drug("asenapine", _AP, aliases=("saphris", "sycrest")),
    Drug("haloperidol", _AP, aliases=("haldol",)),
    Drug("clozapine", _AP, aliases=("clozaril",)),
    # Antidepressants.
    Drug("fluoxetine", _AD, aliases=("prozac",)),
    Drug("sertraline", _AD, aliases=("zoloft",)),
    Drug("escitalopram", _AD, aliases=("lexapro", "cipralex")),
    Drug("citalopram", _AD, aliases=("celexa",)),
    Drug("paroxetine", _AD, aliases=("paxil", "seroxat")),
    Drug("venlafaxine", _AD, aliases=("effexor",)),
    Drug("duloxetine", _AD, aliases=("cymbalta",)),
    Drug("bupropion", _AD, aliases=("wellbutrin",)),
    Drug("mirtazapine", _AD, aliases=("remeron",)),
    Drug("trazodone", _AD, aliases=("desyrel",)),
    Drug("vortioxetine", _AD, aliases=("trintellix", "brintellix")),
    Drug("phenelzine", _AD, (_MAOI,), aliases=("nardil",)),
    Drug("tranylcypromine", _AD, (_MAOI,), aliases=("parnate",)),
    Drug("isocarboxazid", _AD, (_MAOI,), aliases=("marplan",)),
    Drug("selegiline", _AD, (_MAOI,), aliases=("emsam",)),
    # Stimulants and sympathomimetics.
    Drug("methylphenidate", _ST, (_SYM,), aliases=("ritalin", "concerta")),
    Drug("amphetamine", _ST, (_SYM,), aliases=("adderall", "mixed amphetamine salts")),
    Drug("dexamfetamine", _ST, (_SYM,), aliases=("dextroamphetamine", "dexedrine")),
    Drug("lisdexamfetamine", _ST, (_SYM,), aliases=("vyvanse", "elvanse")),
    Drug("modafinil", _ST, (_SYM,), aliases=("provigil",)),
    Drug("armodafinil", _ST, (_SYM,), aliases=("nuvigil",)),
    # Others that matter with ketamine.
    Drug("theophylline", _OT, (Interaction.THEOPHYLLINE,)),
    Drug("aminophylline", _OT, (Interaction.THEOPHYLLINE,)),
    Drug("rifampicin", _OT, (_IND,), aliases=("rifampin",)),
    Drug("phenytoin", _OT, (_IND,), aliases=("dilantin",)),
    Drug("phenobarbital", _OT, (_IND, _CNS), aliases=("phenobarbitone",)),
    Drug("st john's wort", _OT, (_IND,), aliases=("hypericum", "st johns wort")),
    Drug("clarithromycin", _OT, (_INH,), aliases=("biaxin",)),
    Drug("ketoconazole", _OT, (_INH,)),
    Drug("itraconazole", _OT, (_INH,)),
    Drug("ticlopidine", _OT, (_INH,)),
    Drug("oxycodone", _OT, (_CNS,)),
    Drug("morphine", _OT, (_CNS,)),
    Drug("hydrocodone", _OT, (_CNS,)),
    Drug("tramadol", _OT, (_CNS,)),
    Drug("methadone", _OT, (_CNS,)),
    Drug("buprenorphine", _OT, (_CNS,)),
    Drug("gabapentin", _OT, (_CNS,)),
    Drug("pregabalin", _OT, (_CNS,)),
    Drug("zolpidem", _OT, (_CNS,), aliases=("ambien",)),
    Drug("zopiclone", _OT, (_CNS,)),
    Drug("eszopiclone", _OT, (_CNS,), aliases=("lunesta",)),
)

CATALOGUE: dict[str, Drug] = {drug.name: drug for drug in _DRUGS}
_BY_ALIAS: dict[str, Drug] = {
    alias: drug for drug in _DRUGS for alias in (drug.name, *drug.aliases)
}


def normalise_name(name: str) -> str:
    return " ".join(name.strip().lower().replace("\u2019", "'").split())


def lookup(name: str) -> Drug | None:
    """The catalogue entry for a generic or brand name (case and spacing ignored), if any."""
    return _BY_ALIAS.get(normalise_name(name))


def drug_names() -> list[str]:
    return sorted(CATALOGUE)


def daily_mg(amount: float, unit: DoseUnit) -> float | None:
    """A dose as mg/day, or None when the unit is not a daily one (weekly, monthly depots)."""
    if unit is DoseUnit.MG_PER_DAY:
        return amount
    if unit is DoseUnit.MCG_PER_DAY:
        return amount / 1000.0
    return None


def diazepam_equivalent_mg_per_day(name: str, amount: float, unit: DoseUnit) -> float | None:
    """Diazepam-equivalent mg/day for a benzodiazepine dose (Ashton 2002); None otherwise."""
    drug = lookup(name)
    factor = drug.diazepam_mg_per_mg if drug else None
    mg = daily_mg(amount, unit)
    if factor is None or mg is None:
        return None
    return mg * factor


@dataclass(frozen=True)
class BenzodiazepineLoad:
    total_diazepam_mg_per_day: float
    flagged: bool
    threshold_mg_per_day: float = BENZODIAZEPINE_FLAG_ABOVE_MG_PER_DAY
    flag_text: str = BENZODIAZEPINE_FLAG_TEXT
    source: str = BENZODIAZEPINE_SOURCE
    # Benzodiazepines taken whose dose could not be converted (unknown drug or non-daily unit).
    unconverted: tuple[str, ...] = ()


def benzodiazepine_load(
    doses: Iterable[tuple[str, float, DoseUnit]],
    threshold_mg_per_day: float = BENZODIAZEPINE_FLAG_ABOVE_MG_PER_DAY,
) -> BenzodiazepineLoad:
    """Total diazepam-equivalent mg/day over current benzodiazepines (name, amount, unit)."""
    total, unconverted = 0.0, []
    for name, amount, unit in doses:
        equivalent = diazepam_equivalent_mg_per_day(name, amount, unit)
        if equivalent is None:
            unconverted.append(normalise_name(name))
        else:
            total += equivalent
    return BenzodiazepineLoad(
        total_diazepam_mg_per_day=total,
        flagged=total > threshold_mg_per_day,
        threshold_mg_per_day=threshold_mg_per_day,
        unconverted=tuple(unconverted),
    )


def interaction_notes(names: Iterable[str]) -> list[tuple[InteractionNote, list[str]]]:
    """Each note that applies to any of the drugs, with the drugs that trigger it, most severe
    first ("avoid" before "caution" before "info"), then in catalogue order."""
    triggered: dict[Interaction, list[str]] = {}
    for name in names:
        drug = lookup(name)
        for kind in drug.interactions if drug else ():
            drugs = triggered.setdefault(kind, [])
            if drug and drug.name not in drugs:
                drugs.append(drug.name)
    order = {"avoid": 0, "caution": 1, "info": 2}
    kinds = sorted(triggered, key=lambda k: (order[NOTES[k].severity], list(NOTES).index(k)))
    return [(NOTES[kind], triggered[kind]) for kind in kinds]
