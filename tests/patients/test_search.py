"""Patient search: "Last, First", "First Last", a part of a name, MRN and date of birth, without
case or accents, the same on SQLite and PostgreSQL (the `db` fixture runs both)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from ketaflow.patients import service
from ketaflow.patients.search_text import fold, query_words, search_name
from ketaflow.patients.service.registry import parse_birth_date
from tests.patients.factories import demographics, make_patient
from tests.support.factories import SYSTEM


def _found(db: Session, query: str) -> list[str]:
    return [f"{s.demographics.given_name} {s.demographics.family_name}"
            for s in service.search_patients(db, SYSTEM, query=query)]


@pytest.fixture
def clinic_patients(db: Session) -> None:
    make_patient(db, given_name="Élodie", family_name="Müller-Brandt", mrn="MRN-4410",
                 date_of_birth=date(1984, 3, 14))
    make_patient(db, given_name="John", family_name="Smith", date_of_birth=date(1970, 1, 2))
    make_patient(db, given_name="Joan", family_name="O'Brien", date_of_birth=date(1991, 12, 3))
    make_patient(db, given_name="Smithy", family_name="Jones", date_of_birth=date(1965, 7, 8))


@pytest.mark.usefixtures("clinic_patients")
@pytest.mark.parametrize(("query", "expected"), [
    ("Smith, John", ["John Smith"]),
    ("smith,john", ["John Smith"]),
    ("John Smith", ["John Smith"]),
    ("JOHN SMITH", ["John Smith"]),
    ("Smith", ["Smithy Jones", "John Smith"]),
    ("smi", ["Smithy Jones", "John Smith"]),
    ("elodie", ["Élodie Müller-Brandt"]),
    ("ÉLODIE MÜLLER", ["Élodie Müller-Brandt"]),
    ("Muller, Elodie", ["Élodie Müller-Brandt"]),
    ("brandt", ["Élodie Müller-Brandt"]),
    ("obrien", []),  # a word start: "o brien" or "brien" find her
    ("O'Brien, Joan", ["Joan O'Brien"]),
    ("brien", ["Joan O'Brien"]),
    ("mrn-4410", ["Élodie Müller-Brandt"]),
    ("4410", ["Élodie Müller-Brandt"]),
    ("1984-03-14", ["Élodie Müller-Brandt"]),
    ("14/03/1984", ["Élodie Müller-Brandt"]),
    ("3/12/1991", ["Joan O'Brien"]),
    ("ith", []),  # the middle of a word finds nothing: "Smith" is found by how it starts
    ("31/02/1984", []),
    ("%", []),
    ("John Jones", []),
])
def test_search_finds_names_mrn_and_birth_dates(db: Session, query: str,
                                                expected: list[str]) -> None:
    assert _found(db, query) == expected


def test_an_amended_name_is_found_and_the_old_one_is_not(db: Session) -> None:
    patient = make_patient(db, given_name="Zoë", family_name="Quinn")
    service.amend_demographics(db, SYSTEM, patient_id=patient.id,
                               demographics=demographics(given_name="Zoë",
                                                         family_name="Ångström"),
                               reason="married name")
    assert _found(db, "angstrom zoe") == ["Zoë Ångström"]
    assert _found(db, "quinn") == []


def test_folding_removes_case_accents_and_punctuation() -> None:
    assert fold("  ÉLODIE  Müller-Brandt ") == "elodie muller brandt"
    assert fold("Straße Øre Łódź") == "strasse ore lodz"
    assert query_words("Smith,  John") == ["smith", "john"]
    assert search_name("Ada", "Lovelace-Byron") == " ada lovelace byron "


def test_birth_dates_are_iso_or_day_month_year() -> None:
    assert parse_birth_date("1984-03-14") == date(1984, 3, 14)
    assert parse_birth_date("14/03/1984") == date(1984, 3, 14)
    assert parse_birth_date("03/14/1984") is None  # month 14: not day/month/year
    assert parse_birth_date("14.03.1984") is None
    assert parse_birth_date("smith") is None
