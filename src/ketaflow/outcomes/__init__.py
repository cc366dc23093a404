"""Outcomes: what the clinic's courses achieved, beside the published trials.

`settings` and `stats` are the pure core (definitions and statistics: no database or web
code); `service` counts with database aggregates; `routes`, `cli` and `chart` present them.
"""
