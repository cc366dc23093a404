"""Reminders to patients between visits: what to send and when (the jobs outbox delivers)."""
