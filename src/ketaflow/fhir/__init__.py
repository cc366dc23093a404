"""FHIR R4 read and search under /fhir/R4 (US Core profiles), over the same records and
permissions as the rest of ketaflow.

- `registry`   every resource type served: its profile, permission, search parameters and the
               row sources it is built from; the routes and the CapabilityStatement both read it
- `search`     FHIR search parameters (date prefixes, tokens, references, paging) turned into
               SQLAlchemy filters over those sources
- `mappers/`   our rows to FHIR JSON, one small module per resource type
- `service`    read and search as use cases (audited); `capability` the CapabilityStatement
- `outcome`    OperationOutcome for every error under /fhir/R4
- `referrals/` the referral import: a transaction Bundle POSTed to /fhir/R4
- `api`        the thin routes

docs/fhir.md says what is supported, with the codes used.
"""
