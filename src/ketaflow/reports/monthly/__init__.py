"""The monthly clinic report (docs/outcomes.md#monthly-clinic-report): month parsing, the
aggregate counts, the text view and its PDF and CSV."""
