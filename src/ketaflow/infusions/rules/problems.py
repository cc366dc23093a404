"""What the rules return when something is missing or refused: always a field and a message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """Something that blocks the next step. `field` names the input; never a patient value."""

    field: str
    message: str


class RuleError(ValueError):
    """A refused input or action; the message names the field."""

    def __init__(self, message: str, *, field: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        # Every field refused when a rule checks several at once (first one as field/message).
        self.problems: tuple[Problem, ...] = tuple(problems) or (Problem(field, message),)

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> RuleError:
        return cls("; ".join(p.message for p in problems), field=problems[0].field,
                   problems=problems)
