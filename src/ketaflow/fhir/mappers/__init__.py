"""Our rows to FHIR R4 JSON: one module per resource type, small functions, no queries.

The service sets `id` and `meta` (profile, lastUpdated) from the registry; a mapper builds the
rest from the rows it is given.
"""
