"""What the JSON API's request schemas say about values: the services' fixed limits, shown.

Request models check the shape of a request (types, required fields, no unknown ones). The
values are checked by the services, for pages, the API and the CLI alike, with messages that
name the field and the limit ("weight must be between 20 and 350 kg", "given name must not
contain ... (found U+202E)"). So that the OpenAPI document states those limits, and a request
valid by it is one the services accept, request fields declare them with `shown(...)`: schema
keywords only, enforced by the service behind the route. A limit that depends on other fields,
on stored records, on the clock or on the clinic's settings (a date after the patient's birth,
a dose within the clinic's maximum) is not fixed: it stays unstated, and its refusal is a 422
naming the field.

The services strip text before checking its length and blankness; a pattern here that asks for
one non-space character (`\\s`, which in Python's and JSON Schema's regular expressions matches
the characters `str.strip` removes, for every character these patterns admit) says the same.
No pattern admits a control character the web guard refuses (`ketaflow.textcheck`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, Field

from ketaflow.scales.instruments import get_instrument
from ketaflow.textcheck import CONTROLS_IN_TEXT, FORBIDDEN_IN_NAMES

_TEXT = CONTROLS_IN_TEXT
_NAME = _TEXT + "".join(f"\\u{ord(char):04x}" for char in sorted(FORBIDDEN_IN_NAMES))


def shown(**keywords: Any) -> Any:
    """JSON Schema keywords for a limit the service enforces: `Annotated[float,
    shown(minimum=20, maximum=350)]`. Keyword names are JSON Schema's (`minLength`)."""
    return Field(json_schema_extra=keywords)


def one_of(values: Iterable[str | float]) -> Any:
    """A value from a list fixed in code (an instrument, a formulary drug)."""
    return shown(enum=list(values))


def keys_of(values: Iterable[str]) -> Any:
    """A mapping whose keys come from a list fixed in code (checklist items)."""
    return shown(propertyNames={"enum": list(values)})


def within(low: float, high: float, *, above: bool = False) -> Any:
    """A number in [low, high], or in (low, high] with `above`."""
    return shown(**({"exclusiveMinimum": low} if above else {"minimum": low}), maximum=high)


def positive() -> Any:
    return shown(exclusiveMinimum=0)


def nonblank_pattern(min_length: int = 1, forbidden: str = _TEXT) -> str:
    """Text holding at least `min_length` characters once stripped."""
    if min_length == 1:
        return f"^[^{forbidden}]*[^\\s{forbidden}][^{forbidden}]*$"
    middle = f"[^{forbidden}]{{{min_length - 2},}}"
    return f"^[^{forbidden}]*[^\\s{forbidden}]{middle}[^\\s{forbidden}][^{forbidden}]*$"


# Text that must not be blank (a reason, a drug, a substance).
RequiredText = Annotated[str, shown(minLength=1, pattern=nonblank_pattern())]
# A person's name: no bidirectional or zero-width characters (`ketaflow.textcheck`).
Name = Annotated[str, shown(pattern=f"^[^{_NAME}]*$")]
RequiredName = Annotated[str, shown(minLength=1, pattern=nonblank_pattern(1, _NAME))]

# Years 1900-2099: the services refuse dates before 1900 (`ketaflow.clinical.dates`); whether a
# date may lie in the future, or before the patient's birth, is theirs to say.
_YEAR = "(19|20)[0-9]{2}"
_DAY = f"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DATE_PATTERN = f"^{_DAY}$"
DATETIME_PATTERN = (f"^{_DAY}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{{1,6}})?"
                    "(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$")
PlausibleDate = Annotated[date, shown(pattern=DATE_PATTERN)]
# A time zone is required (pydantic refuses a naive time, which would be read as the server's).
PlausibleMoment = Annotated[AwareDatetime, shown(pattern=DATETIME_PATTERN)]


def answers_schema(instrument_id: str, *, nullable: bool = False) -> dict[str, Any]:
    """The answers an instrument takes, keyed by item id, as the scoring core checks them
    (`ketaflow.scales.scoring`): every asked item with one of its scores; an item scored by
    rule may be left out (or null, where `nullable`). C-SSRS items asked only after a yes may
    be left out; whether they must be is the service's to say (it depends on the answers)."""
    instrument = get_instrument(instrument_id)
    properties: dict[str, Any] = {}
    required = []
    for item in instrument.items:
        scores: list[int | None] = list(item.scores)
        optional = item.fixed_score is not None or item.asked_if_yes is not None
        if item.fixed_score is not None:
            scores = [item.fixed_score]
        if optional and nullable:
            scores.append(None)
        properties[item.id] = {"enum": scores}
        if not optional:
            required.append(item.id)
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}
