"""Referral import: `POST /fhir/R4` with a transaction Bundle of Patient, Condition,
MedicationStatement and AllergyIntolerance entries (docs/fhir.md, "Referral import").

- `models`   identifiers of other systems stored against our patients (`patient_identifiers`),
             so a later referral from the same EHR finds the same patient
- `bundle`   the Bundle parsed with the fhir.resources R4B models and checked as a transaction:
             entry kinds, requests, `urn:uuid:` references; every problem names its element
- `mapping`  each resource turned into the patients domain's inputs (the Condition, allergy and
             medication mappers inverted); pure, no database
- `service`  the use case: match or register patients, record or match each entry, one audit
             event; raises before anything is committed, so a refusal saves nothing
"""
