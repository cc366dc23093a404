"""The one error the PK core raises for bad input; the CLI turns it into exit status 2."""

from __future__ import annotations


class PKInputError(ValueError):
    """An input outside what the engine accepts, naming the field and the limit.

    `str(error)` is a single line fit for a user, e.g.
    ``weight_kg must be between 20 and 300 kg (got 400)``.
    """

    def __init__(self, field: str, limit: str, got: object | None = None) -> None:
        self.field = field
        self.limit = limit
        self.got = got
        suffix = "" if got is None else f" (got {got})"
        super().__init__(f"{field} {limit}{suffix}")
