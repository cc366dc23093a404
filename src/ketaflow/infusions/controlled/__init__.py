"""Controlled-substance ledger (persistence and service over `ketaflow.infusions.rules.ledger`)."""
