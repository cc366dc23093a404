"""Stored rating-scale assessments: entry forms, result versions, amendments, charts, FHIR export.

Scoring itself lives in the pure `ketaflow.scales` core; this domain persists what was answered,
who rated it and when, and every result computed from it.
"""
