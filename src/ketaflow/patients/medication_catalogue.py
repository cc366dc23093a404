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

from ketaflow.clinical import drug_names as names


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
            "Benzodiazepines and Z-drugs with ketamine: profound sedation and respiratory "
            "depression are possible (Ketalar label). Separately, a diazepam-equivalent load "
            "above 8 mg/day went with a weaker ketamine response in one retrospective unipolar "
            "study (Andrashko 2020, n = 47); the NIH bipolar ketamine trials excluded "
            "benzodiazepines, so there is no bipolar evidence either way.",
            f"{_KETALAR}; Andrashko et al., Front Psychiatry 2020;11:844 "
            "(docs/clinical-sources.md#benzodiazepine-load)",
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
            "caution",
            "Theophylline/aminophylline with ketamine may lower the seizure threshold: consider "
            "an alternative.",
            "Ketalar (ketamine) USPI, revised 10/2024, 7.1 (docs/clinical-sources.md#interactions)",
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
    "Ashton CH, Benzodiazepines: How They Work and How to Withdraw (the Ashton Manual), 2002, "
    "table of approximate equivalents of diazepam 10 mg; Z-drugs: zolpidem 10 mg ~ zopiclone "
    "7.5 mg ~ diazepam 5 mg (docs/clinical-sources.md#benzodiazepine-load)"
)
# Clinic-setting default: above this, flag the load. From one study, so the flag says so.
BENZODIAZEPINE_FLAG_ABOVE_MG_PER_DAY = 8.0
BENZODIAZEPINE_FLAG_SOURCE = (
    "Andrashko et al., Front Psychiatry 2020;11:844 (docs/clinical-sources.md#benzodiazepine-load)"
)
BENZODIAZEPINE_FLAG_TEXT = (
    "linked to a weaker ketamine response in one retrospective study of unipolar depression "
    "(Andrashko et al., Front Psychiatry 2020;11:844, n = 47); not shown in bipolar depression, "
    "and not a label threshold"
)


@dataclass(frozen=True)
class Drug:
    name: str
    drug_class: DrugClass
    interactions: tuple[Interaction, ...] = ()
    # Oral dose equivalent to diazepam 10 mg (Ashton 2002); benzodiazepines and Z-drugs only,
    # and only where the source gives one.
    equivalent_to_diazepam_10_mg: float | None = None
    # A "Z-drug" hypnotic (zolpidem, zopiclone...): counted in the diazepam-equivalent load
    # with the benzodiazepines although it is filed under "other".
    z_drug: bool = False
    # The highest daily dose the US label gives for any adult indication, where the catalogue
    # lists one (docs/clinical-sources.md#daily-dose-maximum); None: no check.
    max_daily_dose_mg: float | None = None

    @property
    def aliases(self) -> tuple[str, ...]:
        """Brand names and other spellings, from the one shared list (clinical.drug_names)."""
        return names.ALIASES[self.name]

    @property
    def counts_toward_load(self) -> bool:
        return self.drug_class is DrugClass.BENZODIAZEPINE or self.z_drug

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
    Drug("diazepam", _B, (_BZ,), 10, max_daily_dose_mg=40),
    Drug("alprazolam", _B, (_BZ,), 0.5, max_daily_dose_mg=10),
    Drug("clonazepam", _B, (_BZ,), 0.5, max_daily_dose_mg=20),
    Drug("lorazepam", _B, (_BZ,), 1, max_daily_dose_mg=10),
    Drug("oxazepam", _B, (_BZ,), 20),
    Drug("temazepam", _B, (_BZ,), 20),
    Drug("chlordiazepoxide", _B, (_BZ,), 25),
    Drug("nitrazepam", _B, (_BZ,), 10),
    Drug("clobazam", _B, (_BZ,), 20),
    # Mood stabilisers.
    Drug("lithium", _MS),
    Drug("valproate", _MS),
    Drug("lamotrigine", _MS, (Interaction.LAMOTRIGINE,)),
    Drug("carbamazepine", _MS, (_IND,)),
    Drug("oxcarbazepine", _MS),
    # Antipsychotics.
    Drug("quetiapine", _AP, max_daily_dose_mg=800),
    Drug("lurasidone", _AP, max_daily_dose_mg=160),
    Drug("olanzapine", _AP, max_daily_dose_mg=20),
    Drug("olanzapine-fluoxetine", _AP),
    Drug("cariprazine", _AP),
    Drug("lumateperone", _AP),
    Drug("aripiprazole", _AP, max_daily_dose_mg=30),
    Drug("risperidone", _AP),
    Drug("ziprasidone", _AP),
    Drug("asenapine", _AP),
    Drug("haloperidol", _AP),
    Drug("clozapine", _AP),
    # Antidepressants.
    Drug("fluoxetine", _AD, max_daily_dose_mg=80),
    Drug("sertraline", _AD, max_daily_dose_mg=200),
    Drug("escitalopram", _AD, max_daily_dose_mg=20),
    Drug("citalopram", _AD, max_daily_dose_mg=40),
    Drug("paroxetine", _AD),
    Drug("venlafaxine", _AD),
    Drug("duloxetine", _AD),
    Drug("bupropion", _AD, max_daily_dose_mg=450),
    Drug("mirtazapine", _AD),
    Drug("trazodone", _AD),
    Drug("vortioxetine", _AD),
    Drug("phenelzine", _AD, (_MAOI,)),
    Drug("tranylcypromine", _AD, (_MAOI,)),
    Drug("isocarboxazid", _AD, (_MAOI,)),
    Drug("selegiline", _AD, (_MAOI,)),
    # Stimulants and sympathomimetics.
    Drug("methylphenidate", _ST, (_SYM,)),
    Drug("amphetamine", _ST, (_SYM,)),
    Drug("dexamfetamine", _ST, (_SYM,)),
    Drug("lisdexamfetamine", _ST, (_SYM,)),
    Drug("modafinil", _ST, (_SYM,)),
    Drug("armodafinil", _ST, (_SYM,)),
    # Others that matter with ketamine.
    Drug("theophylline", _OT, (Interaction.THEOPHYLLINE,)),
    Drug("aminophylline", _OT, (Interaction.THEOPHYLLINE,)),
    Drug("rifampicin", _OT, (_IND,)),
    Drug("phenytoin", _OT, (_IND,)),
    Drug("phenobarbital", _OT, (_IND, _CNS)),
    Drug("st john's wort", _OT, (_IND,)),
    Drug("clarithromycin", _OT, (_INH,)),
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
    # Z-drugs: Ashton gives zolpidem 20 mg and zopiclone 15 mg ~ diazepam 10 mg. No
    # equivalent is cited for eszopiclone or zaleplon, so they are listed as not converted.
    Drug("zolpidem", _OT, (_BZ, _CNS), 20, z_drug=True),
    Drug("zopiclone", _OT, (_BZ, _CNS), 15, z_drug=True),
    Drug("eszopiclone", _OT, (_BZ, _CNS), z_drug=True),
    Drug("zaleplon", _OT, (_BZ, _CNS), z_drug=True),
)

CATALOGUE: dict[str, Drug] = {drug.name: drug for drug in _DRUGS}
normalise_name = names.normalise_name


def lookup(name: str) -> Drug | None:
    """The catalogue entry for a generic or brand name (case and spacing ignored), if any."""
    generic = names.generic_name(name)
    return CATALOGUE.get(generic) if generic is not None else None


def drug_names() -> list[str]:
    return sorted(CATALOGUE)


def daily_mg(amount: float, unit: DoseUnit) -> float | None:
    """A dose as mg/day, or None when the unit is not a daily one (weekly, monthly depots)."""
    if unit is DoseUnit.MG_PER_DAY:
        return amount
    if unit is DoseUnit.MCG_PER_DAY:
        return amount / 1000.0
    return None


MAX_DAILY_DOSE_SOURCE = (
    "US prescribing information, dosage and administration: the highest daily dose for any adult "
    "indication (docs/clinical-sources.md#daily-dose-maximum)"
)


def max_daily_dose_exceeded(name: str, amount: float, unit: DoseUnit) -> float | None:
    """The catalogue's daily maximum (mg/day) when this dose is above it, else None (also for a
    drug with no listed maximum, or a weekly or monthly dose, which are not checked)."""
    drug = lookup(name)
    mg = daily_mg(amount, unit)
    if drug is None or drug.max_daily_dose_mg is None or mg is None:
        return None
    return drug.max_daily_dose_mg if mg > drug.max_daily_dose_mg else None


def diazepam_equivalent_mg_per_day(name: str, amount: float, unit: DoseUnit) -> float | None:
    """Diazepam-equivalent mg/day for a benzodiazepine or Z-drug dose (Ashton 2002); None
    otherwise."""
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
    flag_source: str = BENZODIAZEPINE_FLAG_SOURCE
    # Benzodiazepines taken whose dose could not be converted (unknown drug or non-daily unit).
    unconverted: tuple[str, ...] = ()


def benzodiazepine_load(
    doses: Iterable[tuple[str, float, DoseUnit]],
    threshold_mg_per_day: float = BENZODIAZEPINE_FLAG_ABOVE_MG_PER_DAY,
) -> BenzodiazepineLoad:
    """Total diazepam-equivalent mg/day over current benzodiazepines and Z-drugs (name, amount,
    unit); a dose with no cited equivalent is listed in `unconverted`, never guessed."""
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
