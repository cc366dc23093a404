"""Demo patients at different stages, for `ketaflow demo seed` (obviously fictional people).

Two meet the ISBD 2025 treatment-resistance definition outright, one falls one adequate trial
short, one is a new referral with no trials yet, and one has a high benzodiazepine load. Dates are
relative to today so episode durations stay plausible whenever the demo is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy.orm import Session

from ketaflow.audit.service import AuditContext
from ketaflow.db import utcnow
from ketaflow.patients import service
from ketaflow.patients.diagnosis_codes import BipolarType, Episode, Severity
from ketaflow.patients.medication_catalogue import DoseUnit
from ketaflow.patients.models import Adherence, AllergySeverity, Patient, Sex, SubstanceUse
from ketaflow.patients.models import TrialResponse as R

MG = DoseUnit.MG_PER_DAY


@dataclass(frozen=True)
class _DemoPatient:
    demographics: service.Demographics
    weight: tuple[float, str]
    height: tuple[float, str]
    diagnosis: service.DiagnosisInput
    medications: list[service.MedicationInput] = field(default_factory=list)
    trials: list[service.TrialInput] = field(default_factory=list)
    allergies: list[tuple[str, str, AllergySeverity]] = field(default_factory=list)


def _weeks_ago(weeks: int) -> date:
    return utcnow().date() - timedelta(weeks=weeks)


def _dx(
    bipolar_type: BipolarType,
    episode: Episode,
    severity: Severity | None,
    *,
    onset_year: int,
    episode_weeks: int,
    psychosis: bool = False,
    substance: SubstanceUse = SubstanceUse.NONE,
    substance_note: str | None = None,
    attempts: int = 0,
    last_attempt: date | None = None,
) -> service.DiagnosisInput:
    return service.DiagnosisInput(
        bipolar_type=bipolar_type,
        current_episode=episode,
        severity=severity,
        psychosis_history=psychosis,
        substance_use=substance,
        substance_use_note=substance_note,
        suicide_attempts=attempts,
        last_suicide_attempt_date=last_attempt,
        onset_date=date(onset_year, 1, 1),
        episode_start_date=_weeks_ago(episode_weeks),
    )


def _med(
    drug: str, dose: float, since: date, adherence: Adherence = Adherence.GOOD, **extra: object
) -> service.MedicationInput:
    return service.MedicationInput(
        drug_name=drug,
        dose_amount=dose,
        dose_unit=MG,
        adherence=adherence,
        start_date=since,
        **extra,  # type: ignore[arg-type]
    )


def _trial(
    drug: str, dose: float, weeks: float, response: R, start: date, **extra: object
) -> service.TrialInput:
    return service.TrialInput(
        drug_name=drug,
        dose_mg_per_day=dose,
        duration_weeks=weeks,
        adherence_verified=True,
        response=response,
        start_date=start,
        **extra,  # type: ignore[arg-type]
    )


def _people() -> list[_DemoPatient]:
    return [
        _DemoPatient(  # bipolar I, lithium background, two adequate failed trials: meets
            service.Demographics(
                "Juniper",
                "Testwood",
                date(1981, 5, 14),
                Sex.FEMALE,
                "+1 555 0101",
                "juniper.testwood@example.org",
                "1 Sample Lane, Exampletown",
                "Hazel Testwood",
                "+1 555 0102",
                "Dr Alder (fictional GP)",
            ),
            (68.0, "kg"),
            (165.0, "cm"),
            _dx(
                BipolarType.BIPOLAR_I,
                Episode.DEPRESSED,
                Severity.SEVERE,
                onset_year=2003,
                episode_weeks=14,
                attempts=1,
                last_attempt=date(2016, 8, 2),
            ),
            [
                _med(
                    "lithium",
                    900,
                    date(2019, 3, 1),
                    lithium_level_mmol_per_l=0.7,
                    lithium_level_date=_weeks_ago(3),
                )
            ],
            [
                _trial("quetiapine", 400, 10, R.NONE, date(2023, 1, 9)),
                _trial("lurasidone", 80, 8, R.PARTIAL, date(2024, 2, 5)),
            ],
        ),
        _DemoPatient(  # bipolar II, lamotrigine, clonazepam 1 mg (= 20 mg diazepam): meets
            service.Demographics(
                "Rowan",
                "Placeholder",
                date(1975, 11, 2),
                Sex.MALE,
                "+1 555 0111",
                None,
                "22 Demo Road, Sampleville",
                "Ash Placeholder",
                "+1 555 0112",
                "Dr Birch (fictional psychiatrist)",
            ),
            (198.0, "lb"),
            (70.0, "in"),
            _dx(
                BipolarType.BIPOLAR_II,
                Episode.DEPRESSED,
                Severity.MODERATE,
                onset_year=1998,
                episode_weeks=22,
            ),
            [
                _med("lamotrigine", 200, date(2020, 6, 1)),
                _med("clonazepam", 1, date(2022, 4, 1), Adherence.GOOD),
            ],
            [
                _trial("quetiapine", 300, 8, R.NONE, date(2022, 9, 1)),
                _trial("lumateperone", 42, 6, R.NONE, date(2024, 5, 6)),
            ],
        ),
        _DemoPatient(  # bipolar I, one adequate trial and one under-dosed: does not meet yet
            service.Demographics(
                "Sorrel",
                "Examplesson",
                date(1992, 2, 29),
                Sex.FEMALE,
                "+1 555 0121",
                "sorrel@example.org",
                None,
                None,
                None,
                "Dr Cedar (fictional)",
            ),
            (82.0, "kg"),
            (171.0, "cm"),
            _dx(
                BipolarType.BIPOLAR_I,
                Episode.DEPRESSED,
                Severity.MODERATE,
                onset_year=2011,
                episode_weeks=9,
                substance=SubstanceUse.PAST,
                substance_note="cannabis, stopped 2019",
            ),
            [_med("valproate", 1000, date(2021, 1, 15), Adherence.PARTIAL)],
            [
                _trial(
                    "olanzapine",
                    10,
                    8,
                    R.PARTIAL,
                    date(2022, 3, 1),
                    partner_drug_name="fluoxetine",
                    partner_dose_mg_per_day=50,
                ),
                _trial("quetiapine", 200, 8, R.NONE, date(2023, 6, 1)),
            ],
        ),
        _DemoPatient(  # new referral, euthymic on lithium, no trials recorded yet
            service.Demographics(
                "Wren",
                "Fictitious",
                date(1968, 7, 21),
                Sex.UNKNOWN,
                "+1 555 0131",
                None,
                "3 Imaginary Close, Nowhere",
                "Robin Fictitious",
                "+1 555 0132",
                None,
            ),
            (59.0, "kg"),
            (160.0, "cm"),
            _dx(BipolarType.BIPOLAR_I, Episode.EUTHYMIC, None, onset_year=1990, episode_weeks=30),
            [
                _med(
                    "lithium",
                    800,
                    date(2010, 1, 1),
                    lithium_level_mmol_per_l=0.6,
                    lithium_level_date=_weeks_ago(8),
                )
            ],
            allergies=[("penicillin", "urticaria", AllergySeverity.MODERATE)],
        ),
        _DemoPatient(  # psychosis history, lorazepam 1 mg (= 10 mg diazepam), three trials
            service.Demographics(
                "Basil",
                "Mockingham",
                date(1986, 9, 9),
                Sex.MALE,
                "+1 555 0141",
                "basil.m@example.org",
                "9 Pretend Street, Testford",
                "Sage Mockingham",
                "+1 555 0142",
                "Dr Elm (fictional)",
            ),
            (91.5, "kg"),
            (183.0, "cm"),
            _dx(
                BipolarType.BIPOLAR_I,
                Episode.DEPRESSED,
                Severity.SEVERE_PSYCHOTIC,
                onset_year=2006,
                episode_weeks=11,
                psychosis=True,
                substance=SubstanceUse.PAST,
                substance_note="alcohol, abstinent since 2020",
                attempts=2,
                last_attempt=date(2021, 11, 30),
            ),
            [
                _med("lorazepam", 1, date(2023, 10, 1)),
                _med("mirtazapine", 30, date(2024, 1, 10), Adherence.PARTIAL),
            ],
            [
                _trial("quetiapine", 600, 3, R.NOT_TOLERATED, date(2021, 2, 1)),
                _trial("cariprazine", 3, 6, R.NONE, date(2022, 6, 1)),
                _trial("lurasidone", 60, 7, R.NONE, date(2023, 4, 3)),
            ],
            allergies=[("haloperidol", "acute dystonia", AllergySeverity.SEVERE)],
        ),
    ]


def seed_patients(session: Session, ctx: AuditContext) -> list[Patient]:
    """Create the demo patients with their full histories; return them (later domains add
    screenings and courses for them)."""
    people = _people()
    # The demo shows all three allergy states: listed, "no known allergies" (asked) and, for
    # the last patient without allergies, not yet asked.
    not_asked = [p for p in people if not p.allergies][-1]
    return [_register(session, ctx, person, no_known_allergies=not person.allergies
                      and person is not not_asked) for person in people]


def _register(session: Session, ctx: AuditContext, person: _DemoPatient, *,
              no_known_allergies: bool = False) -> Patient:
    """One demo patient with their whole history, through the services."""
    patient = service.register_patient(session, ctx, demographics=person.demographics)
    service.record_measurement(
        session,
        ctx,
        patient_id=patient.id,
        weight=person.weight[0],
        weight_unit=person.weight[1],
        height=person.height[0],
        height_unit=person.height[1],
    )
    service.record_diagnosis(session, ctx, patient_id=patient.id, diagnosis=person.diagnosis)
    for medication in person.medications:
        service.add_medication(session, ctx, patient_id=patient.id, medication=medication)
    for trial in person.trials:
        service.add_treatment_trial(session, ctx, patient_id=patient.id, trial=trial)
    for substance, reaction, severity in person.allergies:
        service.record_allergy(
            session,
            ctx,
            patient_id=patient.id,
            substance=substance,
            reaction=reaction,
            severity=severity,
        )
    if no_known_allergies:
        service.record_no_known_allergies(session, ctx, patient_id=patient.id)
    return patient


# The demo's full clinic day (`ketaflow.infusions.demo.seed_clinic_day`) needs a patient for each
# session in progress (one at a time per patient): the first demo patient's history under other
# (obviously fictional) names.
_DAY_PEOPLE = (
    ("Alder", "Daytrial", date(1970, 4, 3), Sex.MALE),
    ("Briar", "Daytrial", date(1988, 9, 21), Sex.FEMALE),
    ("Cobalt", "Daytrial", date(1964, 1, 30), Sex.MALE),
    ("Dune", "Daytrial", date(1995, 7, 8), Sex.FEMALE),
    ("Ember", "Daytrial", date(1979, 12, 12), Sex.FEMALE),
    ("Fennel", "Daytrial", date(1983, 6, 17), Sex.MALE),
    ("Garnet", "Daytrial", date(1990, 3, 25), Sex.FEMALE),
    ("Heath", "Daytrial", date(1972, 10, 5), Sex.MALE),
    # Maintenance courses (`ketaflow.courses.demo.seed_maintenance`).
    ("Iris", "Keeptrial", date(1981, 2, 14), Sex.FEMALE),
    ("Jasper", "Keeptrial", date(1976, 8, 30), Sex.MALE),
    # Finished courses behind the outcomes dashboard (`ketaflow.outcomes.demo`).
    ("Kestrel", "Pasttrial", date(1978, 5, 2), Sex.FEMALE),
    ("Linden", "Pasttrial", date(1969, 11, 19), Sex.MALE),
    ("Marram", "Pasttrial", date(1992, 1, 7), Sex.FEMALE),
    ("Nettle", "Pasttrial", date(1985, 9, 28), Sex.MALE),
)


def seed_day_patients(session: Session, ctx: AuditContext, *, count: int, skip: int = 0
                      ) -> list[Patient]:
    """`count` (at most 14 with `skip`) further patients like the first demo patient, for the
    clinic day (the first 8), the maintenance courses (`skip=8`) and the finished courses of
    the outcomes dashboard (`skip=10`)."""
    template = _people()[0]
    created = []
    for given, family, born, sex in _DAY_PEOPLE[skip:skip + count]:
        demographics = replace(template.demographics, given_name=given, family_name=family,
                               date_of_birth=born, sex=sex, email=None,
                               emergency_contact_name=None, emergency_contact_phone=None)
        created.append(_register(session, ctx, replace(template, demographics=demographics)))
    return created
