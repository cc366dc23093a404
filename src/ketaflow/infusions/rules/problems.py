"""What the rules return when something is missing or refused: always a field and a message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """Something that blocks the next step. `field` names the input; never a patient value."""

    field: str
    message: str


class RuleError(ValueError):
    """A refused input or action; the message names the field."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
