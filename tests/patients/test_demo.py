"""Demo patients: realistic stages, every record valid through the same services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.patients import service
from ketaflow.patients.demo import seed_patients
from tests.support.factories import SYSTEM


def test_demo_patients_cover_the_stages(db: Session) -> None:
    patients = seed_patients(db, SYSTEM)
    assert len(patients) == 5
    records = [
        service.read_patient(db, SYSTEM, patient_id=p.id, clinical=True).clinical for p in patients
    ]
    assert all(r is not None and r.diagnosis is not None for r in records)
    meets = [r.resistance.meets if r and r.resistance else None for r in records]
    assert meets == [True, True, False, False, True]
    loads = [r.medication_overview.benzodiazepine_load for r in records if r]
    flagged = [load.total_diazepam_mg_per_day for load in loads if load and load.flagged]
    assert flagged == [20, 10]
    rowan = records[1]
    assert rowan is not None and rowan.latest_weight is not None
    assert rowan.latest_weight.weight_entered_unit == "lb"
    assert rowan.diagnosis is not None and rowan.diagnosis.icd10_code == "F31.81"
    assert [p.mrn for p in patients] == [f"KF-{p.id:06d}" for p in patients]
    states = {r.allergy_status.value for r in records if r}
    assert states == {"listed", "no_known_allergies", "not_asked"}
