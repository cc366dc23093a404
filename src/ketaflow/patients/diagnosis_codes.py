"""Bipolar disorder coding: ICD-10-CM derived from type, current episode and severity (pure).

Sources: ICD-10-CM Tabular List, category F31 (bipolar disorder) (docs/clinical-sources.md#codes).
Bipolar II has one code, F31.81; its episode and severity are kept in their own fields because the
code cannot carry them. SNOMED CT: 371596008 "Bipolar I disorder", 83225003 "Bipolar II
disorder"; 13746004 "Bipolar disorder" is the generic parent, kept for diagnoses recorded before
the type-specific concepts (ship IDs only: SNOMED CT descriptions are licensed).
"""

from __future__ import annotations

from enum import StrEnum

SNOMED_BIPOLAR_DISORDER = "13746004"  # generic "bipolar disorder": records made before issue 11
SNOMED_BIPOLAR_I = "371596008"
SNOMED_BIPOLAR_II = "83225003"
ICD10_SOURCE = "ICD-10-CM Tabular List, category F31 (docs/clinical-sources.md#codes)"


class BipolarType(StrEnum):
    BIPOLAR_I = "bipolar_i"
    BIPOLAR_II = "bipolar_ii"


def snomed_code(bipolar_type: BipolarType) -> str:
    """The SNOMED CT concept for the type: the generic 13746004 would lose the distinction."""
    return SNOMED_BIPOLAR_I if bipolar_type is BipolarType.BIPOLAR_I else SNOMED_BIPOLAR_II


class Episode(StrEnum):
    DEPRESSED = "depressed"
    HYPOMANIC = "hypomanic"
    MANIC = "manic"
    MIXED = "mixed"
    EUTHYMIC = "euthymic"


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    SEVERE_PSYCHOTIC = "severe_psychotic"


SEVERITY_LABELS = {
    Severity.MILD: "mild",
    Severity.MODERATE: "moderate",
    Severity.SEVERE: "severe without psychotic features",
    Severity.SEVERE_PSYCHOTIC: "severe with psychotic features",
}

# Episodes for which ICD-10-CM distinguishes severity (None = severity not stated).
_BY_SEVERITY: dict[Episode, dict[Severity | None, str]] = {
    Episode.DEPRESSED: {
        None: "F31.30",  # mild or moderate severity, unspecified
        Severity.MILD: "F31.31",
        Severity.MODERATE: "F31.32",
        Severity.SEVERE: "F31.4",
        Severity.SEVERE_PSYCHOTIC: "F31.5",
    },
    Episode.MANIC: {
        None: "F31.10",
        Severity.MILD: "F31.11",
        Severity.MODERATE: "F31.12",
        Severity.SEVERE: "F31.13",
        Severity.SEVERE_PSYCHOTIC: "F31.2",
    },
    Episode.MIXED: {
        None: "F31.60",
        Severity.MILD: "F31.61",
        Severity.MODERATE: "F31.62",
        Severity.SEVERE: "F31.63",
        Severity.SEVERE_PSYCHOTIC: "F31.64",
    },
}
# F31.0 has no severity; F31.70 is "currently in remission, most recent episode unspecified".
_WITHOUT_SEVERITY = {Episode.HYPOMANIC: "F31.0", Episode.EUTHYMIC: "F31.70"}
BIPOLAR_II_CODE = "F31.81"


def severity_applies(episode: Episode) -> bool:
    """Whether a severity is meaningful for this episode (not for hypomania or euthymia)."""
    return episode in _BY_SEVERITY


def icd10_code(bipolar_type: BipolarType, episode: Episode, severity: Severity | None) -> str:
    """The ICD-10-CM code for a bipolar diagnosis.

    Raises ValueError when a severity is given for an episode that has none (hypomanic,
    euthymic): silently dropping it would record something the clinician did not mean; and for
    bipolar II with a manic episode, which is a contradiction.
    """
    if severity is not None and not severity_applies(episode):
        raise ValueError(f"a {episode.value} episode has no severity")
    if bipolar_type is BipolarType.BIPOLAR_II and episode is Episode.MANIC:
        # DSM-5: any lifetime manic episode makes the diagnosis bipolar I.
        raise ValueError("a manic episode means bipolar I, not bipolar II")
    if bipolar_type is BipolarType.BIPOLAR_II:
        return BIPOLAR_II_CODE
    if episode in _WITHOUT_SEVERITY:
        return _WITHOUT_SEVERITY[episode]
    return _BY_SEVERITY[episode][severity]
