"""Registry of published racemic ketamine models, as functions of covariates.

Values and full citations (with DOI where confirmed) are in docs/clinical-sources.md#pk-models;
each model's citation points to its entry there. Each model records its population, sampling
site, enantiomer, covariate range and whether its ke0 was published or assumed; doubts about a
model are returned as warnings with every prediction, never silently "fixed". All model functions
are vectorised: weights arrive as arrays of shape (N,).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from ketaflow.pk.covariates import CovariateRange, Covariates
from ketaflow.pk.errors import PKInputError
from ketaflow.pk.kinetics import FloatArray, Kinetics, as_array

_PER_HOUR = 1.0 / 60.0  # L/h -> L/min
_DOC = "docs/clinical-sources.md#"


class Ke0Source(StrEnum):
    PUBLISHED = "published"
    ASSUMED = "assumed"
    NONE = "none"


@dataclass(frozen=True)
class ModelInfo:
    """What is known about a published model besides its numbers."""

    key: str
    name: str
    citation: str
    population: str
    sampling_site: str
    enantiomer: str
    structure: str
    ke0_source: Ke0Source
    ke0_note: str
    covariate_range: CovariateRange
    # Coefficient of variation of log-normal between-subject variability, per parameter name
    # (v1, v2, v3, cl, q2, q3). Empty when none was published or retrieved.
    variability_cv: tuple[tuple[str, float], ...]
    notes: tuple[str, ...]

    @property
    def plasma_label(self) -> str:
        """How to label its plasma curve: "arterial plasma" for an arterial model, else "plasma".

        Trials in depression sample venous blood; an arterial curve reads higher during an
        infusion and lower afterwards, so it is never shown unlabelled next to venous data."""
        return "arterial plasma" if self.sampling_site.startswith("arterial") else "plasma"

    def omega(self) -> dict[str, float]:
        """Standard deviations of the log-normal etas: omega^2 = ln(1 + CV^2)."""
        return {name: math.sqrt(math.log1p(cv * cv)) for name, cv in self.variability_cv}


@dataclass(frozen=True)
class ModelParameters:
    """One patient's parameters under one model, with the model's facts and any warnings."""

    info: ModelInfo
    covariates: Covariates
    kinetics: Kinetics  # arrays of shape (1,)
    warnings: tuple[str, ...]

    def describe(self) -> dict[str, float | None]:
        """Volumes (L), clearances (L/min), micro-constants and ke0 (1/min) as plain numbers."""
        k = self.kinetics
        values: dict[str, float | None] = {
            "v1_l": float(k.v1_l[0]),
            "v2_l": float(k.v2_l[0]),
            "v3_l": None if k.v3_l is None else float(k.v3_l[0]),
            "cl_l_per_min": float(k.cl_l_per_min[0]),
            "q2_l_per_min": float(k.q2_l_per_min[0]),
            "q3_l_per_min": None if k.q3_l_per_min is None else float(k.q3_l_per_min[0]),
            "ke0_per_min": None if k.ke0_per_min is None else float(k.ke0_per_min[0]),
        }
        values.update({f"{name}_per_min": float(v[0]) for name, v in k.micro_constants().items()})
        return values


KineticsFunction = Callable[[FloatArray], Kinetics]


@dataclass(frozen=True)
class Model:
    info: ModelInfo
    kinetics_for_weight: KineticsFunction  # weight_kg (N,) -> Kinetics (N,)


def _ke0(value: float | None, weight_kg: FloatArray) -> FloatArray | None:
    return None if value is None else np.full_like(weight_kg, value)


def _allometric(
    weight_kg: FloatArray,
    *,
    v1: float,
    v2: float,
    cl_per_h: float,
    q_per_h: float,
    ke0: float | None,
) -> Kinetics:
    """Two compartments per 70 kg: volumes x (W/70), clearances x (W/70)^0.75."""
    size = weight_kg / 70.0
    flow = np.sqrt(size * np.sqrt(size)) * _PER_HOUR  # (W/70)^0.75; two sqrt beat one pow
    return Kinetics(
        v1_l=v1 * size,
        v2_l=v2 * size,
        cl_l_per_min=cl_per_h * flow,
        q2_l_per_min=q_per_h * flow,
        ke0_per_min=_ke0(ke0, weight_kg),
    )


def _domino(w: FloatArray) -> Kinetics:
    return Kinetics.from_micro_constants(
        0.063 * w,
        k10_per_min=0.4381,
        k12_per_min=0.5921,
        k21_per_min=0.2470,
        k13_per_min=0.5900,
        k31_per_min=0.0146,
        ke0_per_min=0.652,
    )


def _clements(w: FloatArray) -> Kinetics:
    return Kinetics.from_micro_constants(
        1.7522 * w, k10_per_min=0.0109, k12_per_min=0.0186, k21_per_min=0.0137, ke0_per_min=5.2
    )


def _hijazi(w: FloatArray) -> Kinetics:
    return Kinetics.from_micro_constants(
        1.08 * w, k10_per_min=0.0333, k12_per_min=0.0088, k21_per_min=0.0030, ke0_per_min=4.773
    )


def _kamp(w: FloatArray) -> Kinetics:
    size = w / 70.0  # Kamp 2020: every volume and clearance linear in weight
    return Kinetics(
        v1_l=25.0 * size,
        v2_l=56.0 * size,
        v3_l=157.0 * size,
        cl_l_per_min=84.0 * _PER_HOUR * size,
        q2_l_per_min=161.0 * _PER_HOUR * size,
        q3_l_per_min=79.0 * _PER_HOUR * size,
        ke0_per_min=np.full_like(w, 2.791),
    )


# Herd 2008 (Paediatr Anaesth 18:36) published t1/2ke0 = 11 s in children.
HERD_KE0_PER_MIN = math.log(2.0) / (11.0 / 60.0)

_NOT_RETRIEVED = "exact range not retrieved"
_ADULTS = CovariateRange(age_years=(18.0, None), source=f"adult cohort; {_NOT_RETRIEVED}")
_CHILDREN = CovariateRange(age_years=(None, 18.0), source=f"paediatric cohort; {_NOT_RETRIEVED}")
_VENOUS_UNKNOWN = f"not recorded in {_DOC}pk-models (check the source paper)"


def _assumed(value: float, tpeak: str = "an assumed 1-min time to peak effect") -> str:
    return f"ke0 {value:g}/min is assumed (derived from {tpeak}, as in opentiva), not published"


MODELS: dict[str, Model] = {
    model.info.key: model
    for model in (
        Model(
            ModelInfo(
                key="domino",
                name="Domino",
                citation="Domino EF et al. Clin Pharmacol Ther 1984 (constants as in "
                f"STANPUMP-lineage code and opentiva); "
                f"{_DOC}domino-1984",
                population="adults",
                sampling_site=_VENOUS_UNKNOWN,
                enantiomer="racemic",
                structure="3-compartment; V1 0.063 L/kg, rate constants independent of weight",
                ke0_source=Ke0Source.ASSUMED,
                ke0_note=_assumed(0.652),
                covariate_range=_ADULTS,
                variability_cv=(),
                notes=("no between-subject variability published",),
            ),
            _domino,
        ),
        Model(
            ModelInfo(
                key="clements",
                name="Clements 250 ug/kg",
                citation="Clements JA, Nimmo WS. Br J Anaesth 1981;53:27 (250 ug/kg data); "
                f"{_DOC}clements-1981",
                population="adults",
                sampling_site=_VENOUS_UNKNOWN,
                enantiomer="racemic",
                structure="2-compartment; V1 1.7522 L/kg",
                ke0_source=Ke0Source.ASSUMED,
                ke0_note=_assumed(5.2),
                covariate_range=_ADULTS,
                variability_cv=(),
                notes=("no between-subject variability published",),
            ),
            _clements,
        ),
        Model(
            ModelInfo(
                key="hijazi",
                name="Hijazi 2003",
                citation=f"Hijazi Y et al. Br J Anaesth 2003;90:155; {_DOC}hijazi-2003",
                population="12 ICU adults with brain or spinal injury",
                sampling_site=_VENOUS_UNKNOWN,
                enantiomer="racemic",
                structure="2-compartment; V1 1.08 L/kg (CL 36 mL/min/kg, t1/2 4.9 h)",
                ke0_source=Ke0Source.ASSUMED,
                ke0_note=_assumed(4.773),
                covariate_range=_ADULTS,
                variability_cv=(),
                notes=(
                    "between-subject SDs were reported but not as log-normal omegas; none applied",
                    "opentiva flags age > 18 years as out of range for Hijazi although the cohort "
                    "was adult; ketaflow treats adults as in range",
                ),
            ),
            _hijazi,
        ),
        Model(
            ModelInfo(
                key="kamp",
                name="Kamp 2020 (arterial)",
                citation="Kamp J et al. Anesthesiology 2020;133(6):1192-1213, "
                f"doi:10.1097/ALN.0000000000003577 (three-compartment constants); {_DOC}kamp-2020",
                population="mixed (pooled data)",
                sampling_site="arterial (the central compartment is arterial; the paper's venous "
                "delay compartments are not modelled)",
                enantiomer="racemic",
                structure="3-compartment; V1 25, V2 56, V3 157 L and CL 84, Q2 161, Q3 79 L/h per "
                "70 kg, linear in weight",
                ke0_source=Ke0Source.ASSUMED,
                ke0_note=_assumed(2.791),
                covariate_range=CovariateRange(source="not retrieved"),
                variability_cv=(),
                notes=(
                    "arterial concentrations: the paper's raw-data model also has venous delay "
                    "compartments, not included here, so this curve is arterial; venous trial "
                    "data read lower during the infusion and higher afterwards",
                    "between-subject variability not retrieved",
                ),
            ),
            _kamp,
        ),
        Model(
            ModelInfo(
                key="herd",
                name="Herd 2007",
                citation="Herd D, Anderson BJ. Paediatr Anaesth 2007;17(7):622-629, PMID 17564643; "
                f"{_DOC}herd-2007",
                population="54 children",
                sampling_site="serum (venous or arterial not stated in ketaflow's sources)",
                enantiomer="racemic",
                structure="2-compartment; V1 38.7, V2 102 L x (W/70); "
                "CL 90, Q 215 L/h x (W/70)^0.75",
                ke0_source=Ke0Source.PUBLISHED,
                ke0_note=f"ke0 {HERD_KE0_PER_MIN:.3f}/min from t1/2ke0 11 s (Herd 2008, Paediatr "
                "Anaesth 18:36, children); opentiva uses an assumed 2.995/min",
                covariate_range=CovariateRange(
                    weight_kg=(10.8, 74.8),
                    age_years=(1.0, 14.0),
                    source="range as encoded by opentiva",
                ),
                variability_cv=(("v1", 0.64), ("v2", 0.517), ("cl", 0.381), ("q2", 0.19)),
                notes=(),
            ),
            lambda w: _allometric(
                w, v1=38.7, v2=102.0, cl_per_h=90.0, q_per_h=215.0, ke0=HERD_KE0_PER_MIN
            ),
        ),
        Model(
            ModelInfo(
                key="hornik",
                name="Hornik 2018",
                citation="Hornik CP et al. J Clin Pharmacol 2018 "
                f"(doi:10.1002/jcph.1116); {_DOC}hornik-2018",
                population="113 children, IV and IM dosing",
                sampling_site=_VENOUS_UNKNOWN,
                enantiomer="racemic",
                structure="2-compartment; V1 32.8, V2 152 L x (W/70); "
                "CL 38.9, Q 54.9 L/h x (W/70)^0.75",
                ke0_source=Ke0Source.ASSUMED,
                ke0_note=_assumed(4.212),
                covariate_range=CovariateRange(
                    weight_kg=(2.4, 176.1),
                    age_years=(0.02, 17.6),
                    source=f"the study's range, Hornik 2018; {_DOC}hornik-2018",
                ),
                variability_cv=(),
                notes=(
                    "Hornik clearance (38.9 L/h/70 kg) is far below every other estimate (Kamp "
                    "meta-analysis 79 L/h/70 kg); predictions after the infusion are likely "
                    "too high",
                    "between-subject variability not retrieved",
                ),
            ),
            lambda w: _allometric(w, v1=32.8, v2=152.0, cl_per_h=38.9, q_per_h=54.9, ke0=4.212),
        ),
        Model(
            ModelInfo(
                key="elkomy",
                name="Elkomy 2015",
                citation="Elkomy MH et al. Int J Pharm 2015;478(1):223-231, "
                f"doi:10.1016/j.ijpharm.2014.11.026; {_DOC}elkomy-2015",
                population="21 children with heart disease",
                sampling_site=_VENOUS_UNKNOWN,
                enantiomer="racemic",
                structure="2-compartment; V1 57.3, V2 152 L x (W/70); "
                "CL 60.6, Q 73.2 L/h x (W/70)^0.75",
                ke0_source=Ke0Source.NONE,
                ke0_note="no ke0: effect site not modelled",
                covariate_range=_CHILDREN,
                variability_cv=(),
                notes=("between-subject variability not retrieved",),
            ),
            lambda w: _allometric(w, v1=57.3, v2=152.0, cl_per_h=60.6, q_per_h=73.2, ke0=None),
        ),
        Model(
            ModelInfo(
                key="sherwin",
                name="Sherwin 2015",
                citation="Sherwin CMT et al. Paediatr Anaesth 2015;25(2):211-216, "
                f"doi:10.1111/pan.12521; {_DOC}sherwin-2015",
                population="57 children",
                sampling_site=_VENOUS_UNKNOWN,
                enantiomer="racemic",
                structure="2-compartment; V1 20.5, V2 220 L and CL 87.9, Q 87.3 L/h per 70 kg",
                ke0_source=Ke0Source.NONE,
                ke0_note="no ke0: effect site not modelled",
                covariate_range=_CHILDREN,
                variability_cv=(),
                notes=(
                    "weight exponents are not in ketaflow's sources; allometric 1 (volumes) and "
                    "0.75 (clearances) are assumed, as in the other paediatric models",
                    "between-subject variability of 34-98% was reported but not per parameter; "
                    "none applied",
                ),
            ),
            lambda w: _allometric(w, v1=20.5, v2=220.0, cl_per_h=87.9, q_per_h=87.3, ke0=None),
        ),
    )
}


def get_model(name: str) -> Model:
    """Look a model up by key, case-insensitively (domino, clements, hijazi, kamp, ...)."""
    model = MODELS.get(name.strip().lower())
    if model is None:
        raise PKInputError("model", f"must be one of {', '.join(MODELS)}", repr(name))
    return model


def model_warnings(info: ModelInfo, covariates: Covariates | None = None) -> tuple[str, ...]:
    """Standing doubts about the model plus, for a patient, each covariate outside its range."""
    found = list(info.notes)
    if info.ke0_source is Ke0Source.ASSUMED:
        found.append(info.ke0_note)
    if covariates is not None:
        found.extend(info.covariate_range.violations(covariates))
    return tuple(found)


def model_parameters(name: str, covariates: Covariates) -> ModelParameters:
    """The parameters of one patient under the named model, with citation and warnings."""
    model = get_model(name)
    kinetics = model.kinetics_for_weight(as_array(covariates.weight_kg))
    return ModelParameters(
        info=model.info,
        covariates=covariates,
        kinetics=kinetics,
        warnings=model_warnings(model.info, covariates),
    )
