"""One list of drug names and the aliases clinicians type for them (pure, stdlib only).

The medication catalogue (`ketaflow.patients.medication_catalogue`) and the treatment-resistance
rules (`ketaflow.clinical.resistance`) both resolve a typed name here, so a name the catalogue
knows is never a stranger to the resistance check (docs/clinical-sources.md#treatment-resistance).
Keys are generic names; a fixed-dose combination is keyed by its components joined with "-"
and listed in COMBINATIONS.
"""

from __future__ import annotations

import re

ALIASES: dict[str, tuple[str, ...]] = {
    # Benzodiazepines.
    "diazepam": ("valium",),
    "alprazolam": ("xanax",),
    "clonazepam": ("klonopin", "rivotril"),
    "lorazepam": ("ativan",),
    "oxazepam": ("serax",),
    "temazepam": ("restoril",),
    "chlordiazepoxide": ("librium",),
    "nitrazepam": ("mogadon",),
    "clobazam": ("frisium", "onfi"),
    # Z-drugs.
    "zolpidem": ("ambien", "stilnoct", "stilnox"),
    "zopiclone": ("zimovane", "imovane"),
    "eszopiclone": ("lunesta",),
    "zaleplon": ("sonata",),
    # Mood stabilisers.
    "lithium": ("lithium carbonate", "lithium citrate", "priadel", "camcolit"),
    "valproate": ("valproic acid", "sodium valproate", "divalproex", "depakote"),
    "lamotrigine": ("lamictal",),
    "carbamazepine": ("tegretol", "equetro"),
    "oxcarbazepine": ("trileptal",),
    # Antipsychotics.
    "quetiapine": ("seroquel",),
    "lurasidone": ("latuda",),
    "olanzapine": ("zyprexa",),
    "olanzapine-fluoxetine": (
        "symbyax", "olanzapine/fluoxetine", "olanzapine+fluoxetine", "olanzapine fluoxetine",
        "olanzapine and fluoxetine", "olanzapine fluoxetine combination",
        "olanzapine-fluoxetine combination", "olanzapine/fluoxetine combination", "ofc",
        "fluoxetine-olanzapine", "fluoxetine/olanzapine", "fluoxetine+olanzapine",
    ),
    "cariprazine": ("vraylar", "reagila"),
    "lumateperone": ("caplyta",),
    "aripiprazole": ("abilify",),
    "risperidone": ("risperdal",),
    "ziprasidone": ("geodon",),
    "asenapine": ("saphris", "sycrest"),
    "haloperidol": ("haldol",),
    "clozapine": ("clozaril",),
    # Antidepressants.
    "fluoxetine": ("prozac",),
    "sertraline": ("zoloft",),
    "escitalopram": ("lexapro", "cipralex"),
    "citalopram": ("celexa",),
    "paroxetine": ("paxil", "seroxat"),
    "venlafaxine": ("effexor",),
    "duloxetine": ("cymbalta",),
    "bupropion": ("wellbutrin",),
    "mirtazapine": ("remeron",),
    "trazodone": ("desyrel",),
    "vortioxetine": ("trintellix", "brintellix"),
    "phenelzine": ("nardil",),
    "tranylcypromine": ("parnate",),
    "isocarboxazid": ("marplan",),
    "selegiline": ("emsam",),
    # Stimulants and sympathomimetics.
    "methylphenidate": ("ritalin", "concerta"),
    "amphetamine": ("adderall", "mixed amphetamine salts"),
    "dexamfetamine": ("dextroamphetamine", "dexedrine"),
    "lisdexamfetamine": ("vyvanse", "elvanse"),
    "modafinil": ("provigil",),
    "armodafinil": ("nuvigil",),
    # Others that matter with ketamine.
    "theophylline": (),
    "aminophylline": (),
    "rifampicin": ("rifampin",),
    "phenytoin": ("dilantin",),
    "phenobarbital": ("phenobarbitone",),
    "st john's wort": ("hypericum", "st johns wort"),
    "clarithromycin": ("biaxin",),
    "ketoconazole": (),
    "itraconazole": (),
    "ticlopidine": (),
    "oxycodone": (),
    "morphine": (),
    "hydrocodone": (),
    "tramadol": (),
    "methadone": (),
    "buprenorphine": (),
    "gabapentin": (),
    "pregabalin": (),
}

# Fixed-dose combinations and their components, in the order their doses are written
# ("olanzapine/fluoxetine 6/25 mg": olanzapine 6 mg, fluoxetine 25 mg).
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "olanzapine-fluoxetine": ("olanzapine", "fluoxetine"),
}

# Release-form suffixes that do not change the drug ("Seroquel XR" is quetiapine).
_RELEASE_SUFFIXES = (" xr", " xl", " er", " sr", " cr")


def normalise_name(name: str) -> str:
    """Lower case, single spaces, typographic apostrophes straightened and no spaces around
    "/", "+" or "-", so "Olanzapine / Fluoxetine" and "olanzapine/fluoxetine" meet."""
    cleaned = " ".join(name.strip().lower().replace("\u2019", "'").split())
    return re.sub(r"\s*([/+-])\s*", r"\1", cleaned)


_BY_ALIAS: dict[str, str] = {
    normalise_name(alias): generic
    for generic, aliases in ALIASES.items() for alias in (generic, *aliases)
}


def generic_name(name: str) -> str | None:
    """The generic name for a generic, brand or alias (release suffix ignored), or None."""
    cleaned = normalise_name(name)
    if cleaned in _BY_ALIAS:
        return _BY_ALIAS[cleaned]
    for suffix in _RELEASE_SUFFIXES:
        if cleaned.endswith(suffix):
            return _BY_ALIAS.get(cleaned.removesuffix(suffix))
    return None


def generic_or_typed(name: str) -> str:
    """The generic name when the name is known, else the name as typed, normalised and without
    a release suffix."""
    known = generic_name(name)
    if known is not None:
        return known
    cleaned = normalise_name(name)
    for suffix in _RELEASE_SUFFIXES:
        cleaned = cleaned.removesuffix(suffix)
    return cleaned
