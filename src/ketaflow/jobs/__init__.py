"""The outbox: messages to patients (mail now, SMS through a clinic's sender) written in the
request's own transaction and delivered afterwards by a background worker, exactly once with
several server processes (docs/jobs.md)."""
