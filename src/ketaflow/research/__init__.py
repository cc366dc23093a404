"""De-identified research export (issue 15, item 4): HIPAA Safe Harbor tables, keyed pseudonyms,
per-patient date shifting, a data dictionary and a manifest. See docs/research-export.md."""
