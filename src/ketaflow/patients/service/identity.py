"""Who a record is about, as every clinical screen and printout shows it: full name, date of
birth and MRN (two identifiers and more, as the pre-checks demand), and staff by name and role.

Reads only and not audited here: the caller's use case audits what its page shows (ids only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaflow.auth.models import StaffUser
from ketaflow.patients.models import Patient, PatientDemographics, Sex
from ketaflow.patients.service._common import today


@dataclass(frozen=True)
class PatientIdentity:
    patient_id: int
    mrn: str
    # None only for a record without demographics (never registered through the service).
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    sex: Sex | None = None

    @property
    def full_name(self) -> str:
        """As the patient banner writes it: FAMILY, Given."""
        if self.family_name is None:
            return "name not recorded"
        return f"{self.family_name.upper()}, {self.given_name}"

    @property
    def sort_key(self) -> tuple[str, str]:
        return ((self.family_name or "").casefold(), (self.given_name or "").casefold())

    @property
    def born(self) -> str:
        return "not recorded" if self.date_of_birth is None else self.date_of_birth.isoformat()

    @property
    def age_years(self) -> int | None:
        born, now = self.date_of_birth, today()
        if born is None:
            return None
        return now.year - born.year - ((now.month, now.day) < (born.month, born.day))

    @property
    def line(self) -> str:
        """One line for printouts: name, date of birth and MRN."""
        return f"{self.full_name} · born {self.born} · MRN {self.mrn}"


def patient_identities(session: Session, patient_ids: Iterable[int]
                       ) -> dict[int, PatientIdentity]:
    """Current name, date of birth and MRN for each patient id (one query)."""
    wanted = sorted(set(patient_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Patient.id, Patient.mrn, PatientDemographics.given_name,
               PatientDemographics.family_name, PatientDemographics.date_of_birth,
               PatientDemographics.sex)
        .outerjoin(PatientDemographics, (PatientDemographics.patient_id == Patient.id)
                   & PatientDemographics.superseded_at.is_(None))
        .where(Patient.id.in_(wanted))).all()
    return {row[0]: PatientIdentity(*row) for row in rows}


def patient_identity(session: Session, patient_id: int) -> PatientIdentity | None:
    return patient_identities(session, [patient_id]).get(patient_id)


def staff_labels(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """"Full Name (role)" for each staff id: staff are shown by name and role, never by id."""
    wanted = sorted({i for i in user_ids if i is not None})
    if not wanted:
        return {}
    rows = session.execute(select(StaffUser.id, StaffUser.full_name, StaffUser.role)
                           .where(StaffUser.id.in_(wanted))).all()
    return {user_id: f"{name} ({role.value})" for user_id, name, role in rows}
