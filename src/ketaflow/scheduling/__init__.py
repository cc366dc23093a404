"""Scheduling: PURE core (stdlib, zoneinfo and OR-Tools only) that books infusion series into
chairs and nurses within opening hours, shifts and spacing rules. See docs/scheduling.md.

The web booking service loads sites, shifts and bookings from the database, builds a `Problem`
and calls `book_series` (one series, fast) or `solve_cpsat` (re-planning many); `check_plan` is
the independent rule checker that tests and the benchmark trust.
"""
