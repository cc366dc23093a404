"""Clinic settings an admin changes: every sourced threshold, its history, and what was in force
when (`service.settings_in_force`). The pure cores take the settings as parameters; only services
and routes fetch them from here."""
