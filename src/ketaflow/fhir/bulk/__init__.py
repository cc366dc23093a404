"""Bulk Data Access (IG v2) `$export`: the whole record, or the patients' part of it, as one
NDJSON file per resource type, written by a background job (docs/fhir.md, "Bulk export").

- `models`   the job row (`fhir_export_jobs`): state, request, claim and heartbeat, output
- `ndjson`   the export itself: rows streamed from each type's sources in chunks, mapped by
             the same mappers as read and search, one JSON line each
- `service`  kick-off, status, cancel, download and the worker's claim/heartbeat/finish (audited)
- `runner`   the background runner each server process starts (its own thread and engine)
- `api`      the thin routes under /fhir/R4
"""
