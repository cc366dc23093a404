"""Patient use cases, one function each; split by concept. Services never commit."""

from ketaflow.patients.service.body import (
    list_allergies,
    list_measurements,
    record_allergy,
    record_measurement,
)
from ketaflow.patients.service.diagnosis import (
    DiagnosisInput,
    current_diagnosis,
    diagnosis_history,
    episode_duration_days,
    record_diagnosis,
)
from ketaflow.patients.service.identity import (
    PatientIdentity,
    patient_identities,
    patient_identity,
    staff_labels,
)
from ketaflow.patients.service.medications import (
    MedicationInput,
    MedicationOverview,
    add_medication,
    list_medications,
    medication_overview,
    stop_medication,
)
from ketaflow.patients.service.record import (
    ClinicalRecord,
    PatientRecord,
    load_clinical,
    read_patient,
    read_section,
)
from ketaflow.patients.service.registry import (
    SAME_PERSON_FIELD,
    SAME_PERSON_LABEL,
    Demographics,
    PatientSummary,
    amend_demographics,
    demographics_history,
    register_patient,
    search_patients,
)
from ketaflow.patients.service.trials import (
    TrialInput,
    add_treatment_trial,
    evaluate_resistance,
    list_trials,
)

__all__ = [
    "SAME_PERSON_FIELD",
    "SAME_PERSON_LABEL",
    "ClinicalRecord",
    "Demographics",
    "DiagnosisInput",
    "MedicationInput",
    "MedicationOverview",
    "PatientIdentity",
    "PatientRecord",
    "PatientSummary",
    "TrialInput",
    "add_medication",
    "add_treatment_trial",
    "amend_demographics",
    "current_diagnosis",
    "demographics_history",
    "diagnosis_history",
    "episode_duration_days",
    "evaluate_resistance",
    "list_allergies",
    "list_measurements",
    "list_medications",
    "list_trials",
    "load_clinical",
    "medication_overview",
    "patient_identities",
    "patient_identity",
    "read_patient",
    "read_section",
    "record_allergy",
    "record_diagnosis",
    "record_measurement",
    "register_patient",
    "search_patients",
    "staff_labels",
    "stop_medication",
]
