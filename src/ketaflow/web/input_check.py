"""Checks every request's input gets before any route sees it (the guard runs them).

- An id in the path beyond the database's integer range (either way) names no record: 404,
  rather than an overflow error from the database.
- NUL and other control characters (and unpaired surrogates, which no database stores) are
  refused in every text value, path, query, form and JSON alike, naming the field. Tab and
  line breaks are allowed in bodies, where notes span lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ketaflow.errors import NotFound, ValidationFailed
from ketaflow.ids import MAX_RECORD_ID
from ketaflow.textcheck import CONTROLS_IN_LINE, CONTROLS_IN_TEXT

# Integer columns are 32-bit on PostgreSQL; ids outside this range cannot exist.
MAX_DB_INT = MAX_RECORD_ID
MIN_DB_INT = -MAX_RECORD_ID - 1
_INTEGER = re.compile(r"^[+-]?\d+$")
# The OpenAPI document states the same ranges as patterns on every text input
# (`ketaflow.web.openapi`), so what the schema allows and what is refused here cannot drift.
_SURROGATES = r"\ud800-\udfff"
_FORBIDDEN_ANYWHERE = re.compile(f"[{CONTROLS_IN_TEXT}{_SURROGATES}]")
_FORBIDDEN_IN_LINE = re.compile(f"[{CONTROLS_IN_LINE}{_SURROGATES}]")


def check_path(params: Mapping[str, Any]) -> None:
    for name, value in params.items():
        text = str(value)
        if _FORBIDDEN_IN_LINE.search(text):
            raise NotFound("no such page")
        if (isinstance(value, int) or _INTEGER.match(text)) and not (
                MIN_DB_INT <= int(text) <= MAX_DB_INT):
            raise NotFound(f"no record has that {name}")


def check_query(pairs: list[tuple[str, str]]) -> None:
    for name, value in pairs:
        if _FORBIDDEN_IN_LINE.search(name) or _FORBIDDEN_IN_LINE.search(value):
            raise ValidationFailed(_message(name), field=name)


def check_fields(pairs: Iterator[tuple[str, str]]) -> None:
    """Form fields or JSON strings (multi-line text allowed)."""
    for name, value in pairs:
        if _FORBIDDEN_ANYWHERE.search(value) or _FORBIDDEN_ANYWHERE.search(name):
            raise ValidationFailed(_message(name), field=name)


def json_strings(body: bytes) -> Iterator[tuple[str, str]]:
    """Every string in a JSON body (keys too) with its dotted field name; nothing if the body
    is not JSON (the route's own validation answers that)."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return iter(())
    return _walk(value, "")


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            yield name, str(key)
            yield from _walk(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}" if path else str(index))


def _message(field: str) -> str:
    return f"{field} contains a control character (such as NUL), which is not accepted"
