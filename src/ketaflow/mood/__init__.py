"""Between-visit mood charting: the pure core (no web or database code).

`entries` validates a daily report and applies the daily summary rule; `series` lays days out as
arrays (patients x days); `signals` turns them into early warnings against each patient's own
baseline; `forecast` predicts the next week's mood. Method and sources: docs/mood.md and
docs/clinical-sources.md#mood-chart-signals.
"""
